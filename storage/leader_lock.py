"""The SQL of the receiving lease (``bot/leader.py``): a PostgreSQL session-level advisory lock.

The lock lives on a connection of its own, outside every pool and never inside a transaction,
so that the server frees it the moment that session ends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import NullPool

from storage.db import create_engine


def lock_engine(database_url: str, *, connect_args: dict[str, Any]) -> AsyncEngine:
    """An engine whose every ``connect()`` is a new autocommit connection (no pool)."""
    return create_engine(
        database_url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",  # never "idle in transaction"
        connect_args=connect_args,
    )


async def try_advisory_lock(connection: AsyncConnection, key: int) -> bool:
    """Take the session-level advisory lock ``key`` if free; ``True`` when this session holds it."""
    taken = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
    return bool(taken)


async def ping(connection: AsyncConnection) -> None:
    """``SELECT 1``: raises when the connection no longer answers."""
    await connection.execute(text("SELECT 1"))
