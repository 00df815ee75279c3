"""Queue messages for delivery: one outbox row per message and channel, at most once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import Channel, OutboxMessage, Priority


async def enqueue(
    session: AsyncSession,
    *,
    channel: Channel,
    recipient: str,
    payload: dict[str, Any],
    idempotency_key: str,
    citizen_id: int | None = None,
    priority: int = Priority.NOTICE,
) -> bool:
    """Add a message in the caller's transaction; False if that key was queued before."""
    insert = dialect_insert(session.get_bind().dialect.name)
    statement = (
        insert(OutboxMessage)
        .values(
            channel=channel,
            recipient=recipient,
            payload=payload,
            idempotency_key=idempotency_key,
            citizen_id=citizen_id,
            priority=priority,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]
