"""Received text messages: each gateway message id once, and the per-phone hourly count.

Messages arrive in batches (see :mod:`delivery.sms_batches`), so every function here takes
many at once: a batch costs the same few statements whatever its size.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import SmsInbound

TEXT_KEPT = 1600  # characters of a message we keep (ten segments)
WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Received:
    message_id: str  # the gateway's
    phone: str
    text: str
    command: str


async def record(
    session: AsyncSession, messages: Sequence[Received], *, now: datetime
) -> dict[str, int]:
    """Row ids of the messages received for the first time, by message id (redeliveries and
    repeats within ``messages`` are left out)."""
    if not messages:
        return {}
    insert = dialect_insert(session.get_bind().dialect.name)
    rows: dict[str, dict[str, object]] = {}
    for message in messages:  # the first of repeated ids is the one kept
        rows.setdefault(
            message.message_id,
            {
                "provider_message_id": message.message_id,
                "from_phone": message.phone,
                "text": message.text[:TEXT_KEPT],
                "command": message.command,
                "received_at": now,
            },
        )
    # executemany: one cached statement, sent as multi-row INSERTs ("insertmanyvalues")
    table = SmsInbound.__table__
    result = await session.execute(
        insert(table)
        .on_conflict_do_nothing(index_elements=["provider_message_id"])
        .returning(table.c.provider_message_id, table.c.id),
        list(rows.values()),
    )
    return {message_id: row_id for message_id, row_id in result.all()}


@dataclass(slots=True)
class Window:
    """A phone's messages in the last hour, and whether it was told it reached the limit."""

    count: int = 0
    told: bool = False


async def windows_before(
    session: AsyncSession, phones: Collection[str], *, before_id: int, now: datetime
) -> dict[str, Window]:
    """Each phone's messages received in the hour before ``now``, up to row ``before_id``."""
    if not phones:
        return {}
    result = await session.execute(
        select(
            SmsInbound.from_phone,
            func.count(),
            func.coalesce(func.max(cast(SmsInbound.limited, Integer)), 0),
        )
        .where(
            SmsInbound.from_phone.in_(phones),
            SmsInbound.received_at > now - WINDOW,
            SmsInbound.id < before_id,
        )
        .group_by(SmsInbound.from_phone)
    )
    return {phone: Window(int(count), bool(told)) for phone, count, told in result.all()}


async def finish(
    session: AsyncSession, row_ids: Collection[int], *, limited: bool, now: datetime
) -> None:
    if row_ids:
        await session.execute(
            update(SmsInbound)
            .where(SmsInbound.id.in_(row_ids))
            .values(limited=limited, handled_at=now)
        )
