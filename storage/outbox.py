"""The outbox: queue messages (one row per message and channel, at most once), claim them for
sending, and record how each attempt ended."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import Channel, Citizen, OutboxMessage, OutboxStatus, Priority


@dataclass(frozen=True, slots=True)
class Queued:
    """One message for :func:`enqueue_many`."""

    channel: Channel
    recipient: str
    payload: dict[str, Any]
    idempotency_key: str
    citizen_id: int | None = None
    priority: int = Priority.NOTICE


async def enqueue(
    session: AsyncSession,
    *,
    channel: Channel,
    recipient: str,
    payload: dict[str, Any],
    idempotency_key: str,
    citizen_id: int | None = None,
    priority: int = Priority.NOTICE,
    not_before: datetime | None = None,
) -> bool:
    """Add a message in the caller's transaction; False if that key was queued before.

    ``not_before`` holds it back until then (e.g. no SMS at night).
    """
    row = asdict(Queued(channel, recipient, payload, idempotency_key, citizen_id, priority))
    if not_before is not None:
        row["next_attempt_at"] = not_before
    result = await session.execute(_insert_once(session).values(row))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def enqueue_many(session: AsyncSession, messages: Sequence[Queued]) -> None:
    """Add ``messages`` in the caller's transaction; keys queued before are left as they are."""
    if messages:  # executemany: one cached statement, sent as multi-row INSERTs
        await session.execute(_insert_once(session), [asdict(message) for message in messages])


def _insert_once(session: AsyncSession) -> Any:
    insert = dialect_insert(session.get_bind().dialect.name)
    return insert(OutboxMessage.__table__).on_conflict_do_nothing(
        index_elements=["idempotency_key"]
    )


# --------------------------------------------------------------------------- dispatching
#
# The dispatcher claims due rows, sends them, then reports the outcome. Every outcome update is
# conditioned on ``status = 'sending' AND claim_token = <the claimer's token>``: a claimer whose
# lease ran out (and whose rows another claimer took over) changes nothing, and each function
# says so by returning False.


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending and due, or claimed by someone whose lease has run out (a crashed claimer)."""
    return or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now),
    )


async def claim_due(
    session: AsyncSession, *, now: datetime, lease: timedelta, limit: int, token: str
) -> list[OutboxMessage]:
    """Claim up to ``limit`` due rows, replies first, then oldest first; the caller commits.

    PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` picks rows no other claimer is holding, and
    the ``UPDATE`` marks them in the same transaction. SQLite has no SKIP LOCKED, but one
    ``UPDATE … WHERE id IN (SELECT …)`` statement is atomic there (writers are serialised).
    Both re-check that the rows are still due, so a race can never claim a row twice.
    """
    picked = (
        select(OutboxMessage.id)
        .where(_due(now))
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(limit)
    )
    target: Any
    if session.get_bind().dialect.name == "postgresql":
        target = list(await session.scalars(picked.with_for_update(skip_locked=True)))
        if not target:
            return []
    else:
        target = picked.scalar_subquery()
    claimed = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(target), _due(now))
        .values(status=OutboxStatus.SENDING, claimed_until=now + lease, claim_token=token)
        .returning(OutboxMessage),
        execution_options={"synchronize_session": False},
    )
    return sorted(claimed, key=lambda row: (row.priority, row.id))


def _held(message_id: int, token: str) -> ColumnElement[bool]:
    return and_(
        OutboxMessage.id == message_id,
        OutboxMessage.status == OutboxStatus.SENDING,
        OutboxMessage.claim_token == token,
    )


async def _settle(session: AsyncSession, message_id: int, token: str, **values: Any) -> bool:
    result = await session.execute(
        update(OutboxMessage)
        .where(_held(message_id, token))
        .values(claimed_until=None, claim_token=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_sent(session: AsyncSession, message_id: int, token: str, *, now: datetime) -> bool:
    """The provider accepted the message."""
    return await _settle(
        session,
        message_id,
        token,
        status=OutboxStatus.SENT,
        sent_at=now,
        attempts=OutboxMessage.attempts + 1,
    )


async def retry_later(
    session: AsyncSession, message_id: int, token: str, *, at: datetime, error: str
) -> bool:
    """A failed attempt that may succeed later: back to pending, due at ``at``."""
    return await _settle(
        session,
        message_id,
        token,
        status=OutboxStatus.PENDING,
        next_attempt_at=at,
        attempts=OutboxMessage.attempts + 1,
        last_error=error,
    )


async def mark_failed(session: AsyncSession, message_id: int, token: str, *, error: str) -> bool:
    """Given up: a permanent error, or the last attempt failed. Staff see these rows."""
    return await _settle(
        session,
        message_id,
        token,
        status=OutboxStatus.FAILED,
        attempts=OutboxMessage.attempts + 1,
        last_error=error,
    )


async def release(session: AsyncSession, message_id: int, token: str, *, at: datetime) -> bool:
    """Give a claimed row back unsent (shutting down, or its lease is about to run out)."""
    return await _settle(
        session, message_id, token, status=OutboxStatus.PENDING, next_attempt_at=at
    )


async def mark_citizen_blocked(
    session: AsyncSession, *, citizen_id: int | None, chat_id: int, now: datetime
) -> None:
    """The citizen blocked the bot: stop treating Telegram as a way to reach them."""
    condition = (
        Citizen.id == citizen_id if citizen_id is not None else Citizen.telegram_chat_id == chat_id
    )
    await session.execute(
        update(Citizen)
        .where(condition)
        .values(blocked=True, blocked_at=now)
        .execution_options(synchronize_session=False)
    )


async def failed_counts(session: AsyncSession) -> dict[Channel, int]:
    """How many messages per channel were given up on (channels with none are 0)."""
    rows = await session.execute(
        select(OutboxMessage.channel, func.count())
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .group_by(OutboxMessage.channel)
    )
    counts = dict.fromkeys(Channel, 0)
    for channel, count in rows:
        counts[Channel(channel)] = int(count)
    return counts


async def counts_by_channel_and_status(
    session: AsyncSession,
) -> dict[tuple[Channel, OutboxStatus], int]:
    """How many messages each (channel, status) holds; absent pairs hold none."""
    rows = await session.execute(
        select(OutboxMessage.channel, OutboxMessage.status, func.count()).group_by(
            OutboxMessage.channel, OutboxMessage.status
        )
    )
    return {(Channel(channel), OutboxStatus(status)): int(n) for channel, status, n in rows.all()}
