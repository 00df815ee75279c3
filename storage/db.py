"""Engine, sessions and column types shared by every repository.

One URL selects the database: ``sqlite+aiosqlite:///path/to/file.db`` (the embedded default) or
``postgresql+asyncpg://user@host/db`` (production). Code above this module must behave the same
on both, so the differences are absorbed here:

* SQLite gets per-connection pragmas (WAL, foreign keys, busy timeout), one connection per
  process, and ``BEGIN IMMEDIATE`` transactions; its parent folder is created. PostgreSQL gets
  a pre-pinged connection pool.
* :class:`UTCDateTime` stores datetimes in UTC and always returns them tz-aware (SQLite would
  silently drop the offset).
* :func:`dialect_insert` gives the dialect's ``INSERT`` with ``ON CONFLICT`` support.

Why SQLite is set up so: it has a single writer. With several pooled connections, writers of
one process waited for each other in SQLite's busy handler (sleeps of up to 100 ms: seconds of
p99 under load, then "database is locked" after the busy timeout), and a transaction that read
before writing failed at once when another connection had committed meanwhile (SQLite does not
wait in that case). One connection per process queues the transactions in the pool instead, in
order and without sleeping; ``BEGIN IMMEDIATE`` takes the write lock when a transaction starts,
so a second process on the same file (a ``worker``) makes it wait for the busy timeout rather
than fail. Do not rely on ``SAVEPOINT`` (``session.begin_nested()``) there — use
``INSERT ... ON CONFLICT`` for "insert once" logic — and do not open a second session while one
is open in the same task: it would wait for the only connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import DateTime, TypeDecorator

__all__ = [
    "SQLITE_PRAGMAS",
    "UTCDateTime",
    "create_engine",
    "database_is_reachable",
    "dialect_insert",
    "make_session_factory",
    "normalize_database_url",
    "utcnow",
]

log = logging.getLogger(__name__)

#: Pragmas applied to every new SQLite connection, in this order.
SQLITE_PRAGMAS: tuple[tuple[str, str], ...] = (
    ("journal_mode", "WAL"),
    ("synchronous", "NORMAL"),
    ("foreign_keys", "ON"),
    ("busy_timeout", "5000"),
)

# Keep non-ASCII text (Azerbaijani, Russian) readable in JSON columns.
_json_serializer = partial(json.dumps, ensure_ascii=False)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that always comes back tz-aware (UTC).

    Naive datetimes are rejected on the way in: they are ambiguous, and mixing them with aware
    ones is exactly the bug this type exists to prevent. Use :func:`utcnow`.
    PostgreSQL column type: ``timestamp with time zone``; SQLite: ``DATETIME`` text in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime expects a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (see utcnow())")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite stores text; drop the (UTC) offset so every row has the same format and
            # string comparison stays chronological.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalize_database_url(url: str) -> str:
    """Map plain driver-less URLs onto the async drivers we ship.

    ``postgres://`` / ``postgresql://`` → ``postgresql+asyncpg://`` and ``sqlite://`` →
    ``sqlite+aiosqlite://``; anything else is returned unchanged.
    """
    if url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def _set_sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # the driver must not open transactions itself: _begin_immediate does
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for name, value in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {name}={value}")
    finally:
        cursor.close()


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **engine_kwargs: Any) -> AsyncEngine:
    """Create the async engine for ``url`` (see the module docstring).

    ``engine_kwargs`` override the defaults chosen here (e.g. ``echo=True``, ``pool_size=…``).
    The caller owns the engine and must ``await engine.dispose()`` when done.
    """
    sa_url = make_url(normalize_database_url(url))
    backend = sa_url.get_backend_name()
    kwargs: dict[str, Any] = {"json_serializer": _json_serializer}
    if backend == "sqlite":
        database = sa_url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        if "poolclass" not in engine_kwargs:
            kwargs.update(pool_size=1, max_overflow=0)  # see the module docstring
    elif backend == "postgresql":
        kwargs.update(pool_pre_ping=True, pool_recycle=1800)
        if "poolclass" not in engine_kwargs:  # sizing applies to the default queue pool only
            kwargs.update(pool_size=10, max_overflow=10, pool_timeout=30)
        if sa_url.get_driver_name() == "asyncpg":
            kwargs["connect_args"] = {"timeout": 10}
    kwargs.update(engine_kwargs)
    engine = create_async_engine(sa_url, **kwargs)
    if backend == "sqlite":
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory for ``engine``; objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def database_is_reachable(engine: AsyncEngine, timeout_seconds: float = 3.0) -> bool:
    """``True`` when ``SELECT 1`` succeeds within ``timeout_seconds``; never raises."""
    try:
        async with asyncio.timeout(timeout_seconds), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not reachable", which is the answer
        log.warning("database not reachable: %r", exc)
        return False
    return True


def dialect_insert(dialect_name: str) -> Any:
    """The ``insert()`` construct of a dialect, for ``on_conflict_do_update/do_nothing``.

    Usage: ``insert = dialect_insert(session.get_bind().dialect.name)``. Both supported
    dialects offer ``on_conflict_do_update(index_elements=..., set_=...)``,
    ``on_conflict_do_nothing(index_elements=...)`` and ``.excluded``.
    """
    if dialect_name == "sqlite":
        return sqlite.insert
    if dialect_name == "postgresql":
        return postgresql.insert
    raise NotImplementedError(f"no upsert support for dialect {dialect_name!r}")
