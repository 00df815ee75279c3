"""The shared Telegram send budget: one token bucket row per bot, leased atomically.

PostgreSQL only (the bot's processes run side by side there). Each statement is one atomic
``UPDATE ... RETURNING`` on the bot's row, so concurrent processes queue on the row lock and
never hand out the same token twice. Time is the database's (``statement_timestamp()``), so
the processes' clocks need not agree.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Float, Integer, case, cast, func, literal, literal_column, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import dialect_insert, utcnow
from storage.models import TelegramBudget

__all__ = ["Lease", "ensure", "lease", "pause"]


class Lease(NamedTuple):
    """Tokens granted now, tokens left in the bucket, seconds of flood wait still to run."""

    granted: int
    tokens: float
    paused_for: float


async def ensure(connection: AsyncConnection, bot_id: int, tokens: float) -> None:
    """Create the bot's row (a full bucket, no pause) unless it exists."""
    insert = dialect_insert(connection.dialect.name)
    now = utcnow()
    statement = insert(TelegramBudget).values(
        bot_id=bot_id, tokens=tokens, stamp=now, paused_until=now, granted=0
    )
    await connection.execute(statement.on_conflict_do_nothing(index_elements=["bot_id"]))


async def lease(
    connection: AsyncConnection,
    bot_id: int,
    *,
    want: int,
    rate: float,
    burst: float,
    reserve: float = 0.0,
) -> Lease:
    """Take up to ``want`` whole tokens, leaving at least ``reserve`` in the bucket.

    The bucket refills at ``rate`` a second up to ``burst``; nothing is granted while paused.
    """
    table = TelegramBudget
    now = func.statement_timestamp()
    elapsed = func.greatest(0.0, cast(func.extract("epoch", now - table.stamp), Float))
    available = func.least(literal(burst, Float), table.tokens + literal(rate, Float) * elapsed)
    granted = case(
        (table.paused_until > now, 0),
        else_=cast(
            func.greatest(0, func.least(want, func.floor(available - literal(reserve, Float)))),
            Integer,
        ),
    )
    statement = (
        update(TelegramBudget)
        .where(table.bot_id == bot_id)
        .values(granted=granted, tokens=available - granted, stamp=func.greatest(table.stamp, now))
        .returning(
            table.granted,
            table.tokens,
            cast(func.extract("epoch", table.paused_until - now), Float),
        )
    )
    row = (await connection.execute(statement)).one_or_none()
    if row is None:
        raise LookupError(f"no telegram_budget row for bot {bot_id}")
    return Lease(int(row[0]), float(row[1]), max(0.0, float(row[2])))


async def pause(connection: AsyncConnection, bot_id: int, seconds: float) -> None:
    """Every process stops sending for ``seconds`` (a 429's ``retry_after``)."""
    table = TelegramBudget
    until = func.statement_timestamp() + literal_column("interval '1 second'") * literal(
        seconds, Float
    )
    await connection.execute(
        update(TelegramBudget)
        .where(table.bot_id == bot_id)
        .values(paused_until=func.greatest(table.paused_until, until))
    )
