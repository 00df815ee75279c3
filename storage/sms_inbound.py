"""Received text messages: each gateway message id once, and the per-phone hourly count."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import SmsInbound

TEXT_KEPT = 1600  # characters of a message we keep (ten segments)
WINDOW = timedelta(hours=1)


async def record(
    session: AsyncSession, *, message_id: str, phone: str, text: str, command: str, now: datetime
) -> int | None:
    """The new row's id, or None when this message id was received before (a redelivery)."""
    insert = dialect_insert(session.get_bind().dialect.name)
    result = await session.execute(
        insert(SmsInbound)
        .values(
            provider_message_id=message_id,
            from_phone=phone,
            text=text[:TEXT_KEPT],
            command=command,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["provider_message_id"])
        .returning(SmsInbound.id)
    )
    return result.scalar_one_or_none()


async def earlier_in_window(
    session: AsyncSession, phone: str, *, before_id: int, now: datetime
) -> tuple[int, bool]:
    """(messages from ``phone`` in the hour before this one, whether one was told the limit)."""
    result = await session.execute(
        select(func.count(), func.coalesce(func.max(cast(SmsInbound.limited, Integer)), 0)).where(
            SmsInbound.from_phone == phone,
            SmsInbound.received_at > now - WINDOW,
            SmsInbound.id != before_id,
        )
    )
    count, limited = result.one()
    return int(count), bool(limited)


async def finish(session: AsyncSession, row_id: int, *, limited: bool, now: datetime) -> None:
    row = await session.get(SmsInbound, row_id)
    assert row is not None
    row.limited = limited
    row.handled_at = now
    await session.flush()
