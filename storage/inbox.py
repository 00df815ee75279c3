"""The inbox of Telegram updates: store on arrival, hand out pending, mark handled, prune.

One row per ``update_id`` (Telegram's own key), so an update Telegram delivers again (a
redelivered webhook, an offset confirmed too late) is stored once and handled once: only
:func:`store` answers which of the given updates are new.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import InboxStatus, InboxUpdate

__all__ = [
    "PendingUpdate",
    "count_attempt",
    "count_replies",
    "counts",
    "mark_handled",
    "pending",
    "prune_handled",
    "quarantine",
    "store",
]

#: The longest error text kept with a quarantined update.
ERROR_LEN = 500


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    update_id: int
    payload: dict[str, Any]
    attempts: int
    #: digests of the replies a process that died had sent (bot/replay.py)
    reply_digests: tuple[str, ...]


async def store(session: AsyncSession, updates: Sequence[dict[str, Any]]) -> list[int]:
    """Insert the updates not stored yet; the ``update_id``s that were new, in order."""
    if not updates:
        return []
    insert = dialect_insert(session.get_bind().dialect.name)(InboxUpdate)
    statement = (
        insert.values([{"update_id": u["update_id"], "payload": u} for u in updates])
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(InboxUpdate.update_id)
    )
    new = set((await session.scalars(statement)).all())
    return [u["update_id"] for u in updates if u["update_id"] in new]


async def pending(
    session: AsyncSession, *, limit: int, after: int | None = None
) -> list[PendingUpdate]:
    """The oldest pending updates (by ``update_id``, which is Telegram's order)."""
    query = select(
        InboxUpdate.update_id,
        InboxUpdate.payload,
        InboxUpdate.attempts,
        InboxUpdate.reply_digests,
    ).where(InboxUpdate.status == InboxStatus.PENDING)
    if after is not None:
        query = query.where(InboxUpdate.update_id > after)
    rows = await session.execute(query.order_by(InboxUpdate.update_id).limit(limit))
    return [
        PendingUpdate(int(uid), payload, int(attempts), tuple((digests or "").split()))
        for uid, payload, attempts, digests in rows
    ]


async def count_attempt(session: AsyncSession, update_ids: Iterable[int]) -> None:
    """One more attempt for each of these (pending) updates."""
    ids = list(update_ids)
    if ids:
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_(ids))
            .values(attempts=InboxUpdate.attempts + 1)
        )


async def count_replies(session: AsyncSession, sent: dict[int, tuple[str, ...]]) -> None:
    """The replies to each update the Bot API has accepted so far, a digest each."""
    for update_id, digests in sent.items():
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == update_id, InboxUpdate.replies_sent < len(digests))
            .values(replies_sent=len(digests), reply_digests=" ".join(digests))
        )


async def mark_handled(session: AsyncSession, update_ids: Iterable[int], now: datetime) -> None:
    ids = list(update_ids)
    if ids:
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_(ids), InboxUpdate.status == InboxStatus.PENDING)
            .values(status=InboxStatus.HANDLED, handled_at=now)
        )


async def quarantine(session: AsyncSession, update_id: int, error: str, now: datetime) -> None:
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(status=InboxStatus.QUARANTINED, error=error[:ERROR_LEN], handled_at=now)
    )


async def prune_handled(session: AsyncSession, before: datetime) -> int:
    """Delete handled rows older than ``before`` (quarantined rows are kept); how many."""
    result = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.status == InboxStatus.HANDLED, InboxUpdate.handled_at < before
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows per status."""
    rows = await session.execute(
        select(InboxUpdate.status, func.count()).group_by(InboxUpdate.status)
    )
    found = {str(status): int(n) for status, n in rows.all()}
    return {status.value: found.get(status.value, 0) for status in InboxStatus}
