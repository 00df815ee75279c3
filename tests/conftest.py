"""Database fixtures for the whole test suite.

Which database
    SQLite by default (a temporary file, WAL, the same pragmas as production). Set
    ``TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test`` to run everything on
    PostgreSQL instead: the session then creates a private throw-away database next to the one
    named in the URL (``<name>_[gw<N>]t<pid>_<random>``) and drops it at the end, so concurrent
    test runs and the workers of one ``pytest -n`` run don't collide and the named database is
    left alone. If the role may not create databases, the named database itself is used and our
    tables in it are recreated (then run without ``-n``: workers would share it).

Fixtures
    ``database_url`` (session, str)
        URL of a database migrated to head once per test session with
        :func:`storage.migrate.upgrade_to_head`. Build end-to-end fixtures on it (start the bot,
        the HTTP server or a worker with ``DATABASE_URL=database_url``). Tables are *not*
        emptied by this fixture; depend on ``engine`` (directly or through ``session_factory``)
        to get clean tables.
    ``engine`` (function, AsyncEngine)
        An engine on ``database_url`` whose tables were all emptied before the test (ids restart
        at 1); disposed after the test.
    ``session_factory`` (function, async_sessionmaker[AsyncSession])
        :func:`storage.db.make_session_factory` on ``engine`` (``expire_on_commit=False``).
    ``session`` (function, AsyncSession)
        One session from ``session_factory``, closed after the test (commit yourself).
    ``fresh_database_url`` (function, str)
        URL of an empty, never-migrated database (for migration tests); removed afterwards.
        Skips the test when the PostgreSQL role may not create databases.
    ``dialect_name`` (session, str)
        ``"sqlite"`` or ``"postgresql"``, for the rare test that must know.

Markers (set by :func:`pytest_collection_modifyitems`, see README "Tests")
    ``db``
        The test touches the database the suite is pointed at, so the gate runs it on SQLite and
        again on PostgreSQL (``-m db``); every other test runs once. Set automatically for each
        test whose fixture closure holds one of :data:`DATABASE_FIXTURES`; mark by hand
        (``@pytest.mark.db``) only a test that reaches that database some other way.
    ``serial``
        The test must not share the machine with other tests (it kills process groups, or
        measures time under load): the gate runs these on their own, after the parallel run.

Helpers
    :func:`clear_tables` empties every table of the schema (used by ``engine``; call it from
    your own fixtures if you keep an engine across tests).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from chat.context import BotApplication
from emulator import BotApiEmulator
from storage.db import create_engine, make_session_factory, normalize_database_url
from storage.migrate import upgrade_to_head
from storage.models import Base
from tests.harness import bot_on_emulator

TEST_DATABASE_URL_ENV = "TEST_DATABASE_URL"

T = TypeVar("T")


# --------------------------------------------------------------------------- helpers


async def clear_tables(engine: AsyncEngine) -> None:
    """Delete every row of every model table (children first) and restart the ids at 1."""
    tables = list(reversed(Base.metadata.sorted_tables))
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # One round trip of plain DELETEs: ~10x faster than TRUNCATE on near-empty tables.
            statements = [f'DELETE FROM "{table.name}"' for table in tables]
            statements += [
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), 1, false)"
                for table in tables
                for column in table.primary_key.columns
                if len(table.primary_key.columns) == 1 and column.autoincrement is not False
            ]
            raw = await connection.get_raw_connection()
            await raw.driver_connection.execute(";\n".join(statements))  # type: ignore[union-attr]
        else:
            # SQLite reuses rowids from max(id) + 1, so emptied tables restart at 1 by themselves.
            for table in tables:
                await connection.execute(table.delete())
            await connection.commit()


def _admin_engine(url: str) -> AsyncEngine:
    """An AUTOCOMMIT engine on the same server (CREATE/DROP DATABASE cannot run in a tx)."""
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


async def _create_pg_database(base_url: str) -> str | None:
    """Create a uniquely named database beside ``base_url``'s; ``None`` if not permitted."""
    url = make_url(base_url)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... under pytest -n
    name = f"{url.database or 'test'}_{worker}t{os.getpid()}_{secrets.token_hex(3)}"
    admin = _admin_engine(base_url)
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
            # A throw-away database: a commit need not wait for the WAL to reach the disk
            # (only a crash of the server itself could lose it; the drills kill the bot).
            await connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as exc:
        if "permission denied" in str(exc).lower():
            return None
        raise
    finally:
        await admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(base_url: str, url: str) -> None:
    name = make_url(url).database
    admin = _admin_engine(base_url)
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _reset_schema_in_place(url: str) -> None:
    """Fallback when we may not create databases: drop our tables and the version table."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await engine.dispose()


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from a synchronous (session-scoped) fixture, in its own event loop."""
    return asyncio.run(coro)


def _requested_postgres_url() -> str | None:
    raw = os.environ.get(TEST_DATABASE_URL_ENV, "").strip()
    return normalize_database_url(raw) if raw else None


# --------------------------------------------------------------------------- markers

#: Fixtures that reach the database selected by ``TEST_DATABASE_URL`` (the others build on these).
DATABASE_FIXTURES = frozenset({"database_url", "fresh_database_url"})


#: Modules whose tests all run ``serial``: kill drills with hundreds of citizens and timed bursts,
#: whose deadlines assume the machine is theirs (a parallel neighbour made them flake).
SERIAL_MODULES = frozenset({"test_fault_drills.py", "test_launch_burst.py"})


#: Tests that wait on real time for most of their run (sending at Telegram's pace) and use
#: little CPU: the gate runs them beside the SQLite pass instead of on a worker of its own.
PACED_TESTS = frozenset(
    {"test_broadcasts.py::test_5000_recipients_each_get_it_exactly_once_at_90_percent_of_the_rate"}
)

#: The longest tests of the parallel passes, about a minute or more on PostgreSQL here. Under
#: ``--dist worksteal`` (.ci/run) each worker starts on an equal slice of the collection and
#: the idle ones steal from the tails of the others; these are dealt to the heads of the
#: slices, so that they start at once on different workers instead of meeting late on one.
LONG_TESTS = (
    "test_connection_request_fuzz.py::test_random_text_at_every_step_gets_a_question_back",
    "test_broadcasts.py::test_sigkill_half_way_then_restart_completes_the_broadcast",
    "test_api_schemathesis.py::test_schemathesis_finds_no_disagreement",
    "test_dispatcher.py::test_two_workers_deliver_a_thousand_notices_exactly_once",
)


def _short_id(item: pytest.Item) -> str:
    return f"{item.path.name}::{item.name}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``db`` every test whose fixture closure reaches the test database; ``serial`` the
    tests of :data:`SERIAL_MODULES`; ``paced`` those of :data:`PACED_TESTS`."""
    for item in items:
        if DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
        if item.path.name in SERIAL_MODULES:
            item.add_marker(pytest.mark.serial)
        if _short_id(item) in PACED_TESTS:
            item.add_marker(pytest.mark.paced)


@pytest.hookimpl(specname="pytest_collection_modifyitems", trylast=True)  # after -m, -k
def pytest_collection_modifyitems_long_first(items: list[pytest.Item]) -> None:
    """Put the :data:`LONG_TESTS` at the heads of the slices worksteal hands the workers."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    rank = {name: n for n, name in enumerate(LONG_TESTS)}
    long = sorted((i for i in items if _short_id(i) in rank), key=lambda i: rank[_short_id(i)])
    if workers < 2 or not long:
        return
    rest = [i for i in items if _short_id(i) not in rank]
    # worksteal's first split: each idle worker in turn gets len(pending) // workers_left
    sizes, left = [], len(items)
    for remaining in range(workers, 0, -1):
        sizes.append(left // remaining)
        left -= sizes[-1]
    heads: list[list[pytest.Item]] = [long[n::workers] for n in range(workers)]
    ordered: list[pytest.Item] = []
    for head, size in zip(heads, sizes, strict=True):
        take = max(0, size - len(head))
        ordered += head + rest[:take]
        rest = rest[take:]
    items[:] = ordered + rest


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per session (see the module docstring)."""
    base_url = _requested_postgres_url()
    if base_url is None:
        path: Path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite+aiosqlite:///{path}"
        _run(upgrade_to_head(url))
        yield url
        return

    created = _run(_create_pg_database(base_url))
    if created is None:
        if os.environ.get("PYTEST_XDIST_WORKER"):
            pytest.fail("the PostgreSQL role may not create databases: run without -n", False)
        _run(_reset_schema_in_place(base_url))
        _run(upgrade_to_head(base_url))
        yield base_url
        return
    try:
        _run(upgrade_to_head(created))
        yield created
    finally:
        _run(_drop_pg_database(base_url, created))


@pytest.fixture(scope="session")
def dialect_name(database_url: str) -> str:
    """``"sqlite"`` or ``"postgresql"``."""
    return make_url(database_url).get_backend_name()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on ``database_url`` with every table emptied before the test."""
    engine = create_engine(database_url)
    try:
        await clear_tables(engine)
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory on the clean ``engine``."""
    return make_session_factory(engine)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One session; closed (uncommitted work rolled back) after the test."""
    async with session_factory() as session:
        yield session


@pytest.fixture
async def fresh_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty, never-migrated database on the current engine; removed afterwards."""
    base_url = _requested_postgres_url()
    if base_url is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    created = await _create_pg_database(base_url)
    if created is None:
        pytest.skip("the PostgreSQL role may not create databases")
    try:
        yield created
    finally:
        await _drop_pg_database(base_url, created)


# --------------------------------------------------------------------------- the bot


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """A local Bot API server the bot talks to over HTTP."""
    async with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(engine: AsyncEngine, emulator: BotApiEmulator) -> AsyncIterator[BotApplication]:
    """The bot as `serve` builds it, polling ``emulator``, on the test database."""
    async with bot_on_emulator(engine, emulator) as application:
        yield application
