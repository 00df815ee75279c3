"""Broadcasts: who is in an audience, queueing one outbox row per recipient and channel,
progress counted from the outbox, cancelling what is not sent yet.

Restart safety comes from the outbox: each (broadcast, channel, citizen) row has an idempotency
key, so queueing again after a crash adds only what is missing, and a row is sent at most once
except the few in flight when a process dies (see delivery/dispatcher.py: at most one claimed
batch per dispatcher).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.acts import UNPAID
from storage.db import dialect_insert, utcnow
from storage.models import (
    Application,
    Broadcast,
    BroadcastStatus,
    Channel,
    Citizen,
    OutboxMessage,
    OutboxStatus,
    Priority,
    Subscriber,
    SubscriberLink,
    ViolationAct,
)

BATCH: Final = 1000
DEFAULT_LOCALE: Final = "az"


class AudienceKind(StrEnum):
    ALL = "all"
    DISTRICTS = "districts"
    LANGUAGE = "language"
    STATUS = "status"  # applicants whose application is in one of the statuses
    UNPAID = "unpaid"  # citizens with an unpaid violation act


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind
    values: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "values": list(self.values)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(AudienceKind(data["kind"]), tuple(data.get("values", ())))


def _in_audience(audience: Audience) -> ColumnElement[bool]:
    values = list(audience.values)
    if audience.kind == AudienceKind.DISTRICTS:
        return or_(
            Citizen.district.in_(values),
            Citizen.id.in_(select(Application.citizen_id).where(Application.district.in_(values))),
            Citizen.id.in_(
                select(SubscriberLink.citizen_id)
                .join(Subscriber, Subscriber.code == SubscriberLink.subscriber_code)
                .where(Subscriber.district.in_(values))
            ),
        )
    if audience.kind == AudienceKind.LANGUAGE:
        return Citizen.locale.in_(values)
    if audience.kind == AudienceKind.STATUS:
        return Citizen.id.in_(select(Application.citizen_id).where(Application.status.in_(values)))
    if audience.kind == AudienceKind.UNPAID:
        unpaid = select(ViolationAct.subscriber_code).where(ViolationAct.status.in_(UNPAID))
        unpaid_phones = select(ViolationAct.consumer_phone_e164).where(
            ViolationAct.status.in_(UNPAID)
        )
        return or_(
            Citizen.id.in_(
                select(SubscriberLink.citizen_id).where(SubscriberLink.subscriber_code.in_(unpaid))
            ),
            and_(Citizen.phone_verified, Citizen.phone_e164.in_(unpaid_phones)),
        )
    return Citizen.id.is_not(None)


def _reachable(channel: Channel) -> ColumnElement[bool]:
    """Who may get a broadcast on ``channel`` (they did not turn broadcasts off)."""
    if channel == Channel.TELEGRAM:
        return and_(
            Citizen.broadcasts_enabled,
            Citizen.telegram_chat_id.is_not(None),
            Citizen.notify_telegram,
            Citizen.blocked.is_(False),
        )
    return and_(
        Citizen.broadcasts_enabled,
        Citizen.phone_verified,
        Citizen.phone_e164.is_not(None),
        Citizen.notify_sms,
        Citizen.sms_opted_out.is_(False),
    )


def recipients(audience: Audience, channel: Channel) -> Select[tuple[int, Any, str]]:
    address: Any = Citizen.telegram_chat_id if channel == Channel.TELEGRAM else Citizen.phone_e164
    return (
        select(Citizen.id, address, Citizen.locale)
        .where(_in_audience(audience), _reachable(channel))
        .order_by(Citizen.id)
    )


async def count_recipients(
    session: AsyncSession, audience: Audience, channels: Sequence[Channel]
) -> dict[Channel, int]:
    counts = {}
    for channel in channels:
        query = recipients(audience, channel).order_by(None).subquery()
        counts[channel] = int(await session.scalar(select(func.count()).select_from(query)) or 0)
    return counts


def text_for(texts: dict[str, str], locale: str | None) -> str:
    """The citizen's language, else Azerbaijani."""
    return texts.get(locale or DEFAULT_LOCALE) or texts[DEFAULT_LOCALE]


async def queue(session: AsyncSession, broadcast: Broadcast, *, sms_text: Any) -> int:
    """Queue every recipient not queued yet (idempotent); returns the broadcast's row count.

    ``sms_text`` turns a text into its SMS form (transliteration).
    """
    audience = Audience.from_json(broadcast.audience)
    insert = dialect_insert(session.get_bind().dialect.name)
    for channel_name in broadcast.channels:
        channel = Channel(channel_name)
        after = 0
        while True:
            batch = (
                await session.execute(
                    recipients(audience, channel).where(Citizen.id > after).limit(BATCH)
                )
            ).all()
            if not batch:
                break
            rows = [
                {
                    "channel": channel,
                    "recipient": str(address),
                    "citizen_id": citizen_id,
                    "priority": Priority.BULK,
                    "payload": {"text": _rendered(broadcast.texts, locale, channel, sms_text)},
                    "idempotency_key": f"broadcast:{broadcast.id}:{channel}:{citizen_id}",
                    "broadcast_id": broadcast.id,
                }
                for citizen_id, address, locale in batch
            ]
            await session.execute(
                insert(OutboxMessage)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
            )
            after = batch[-1][0]
    total = await session.scalar(
        select(func.count()).where(OutboxMessage.broadcast_id == broadcast.id)
    )
    return int(total or 0)


def _rendered(texts: dict[str, str], locale: str, channel: Channel, sms_text: Any) -> str:
    text = text_for(texts, locale)
    return str(sms_text(text)) if channel == Channel.SMS else text


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True, slots=True)
class Progress:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    cancelled: int = 0
    remaining: int = 0  # pending or being sent

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.blocked + self.cancelled + self.remaining


async def progress(session: AsyncSession, broadcast_id: int) -> Progress:
    blocked = OutboxMessage.last_error.like("RecipientBlocked%")
    rows = await session.execute(
        select(OutboxMessage.status, blocked, func.count())
        .where(OutboxMessage.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.status, blocked)
    )
    counts: dict[str, int] = {}
    for status, is_blocked, number in rows.all():
        key = "blocked" if status == OutboxStatus.FAILED and is_blocked else status
        counts[key] = counts.get(key, 0) + int(number)
    return Progress(
        sent=counts.get(OutboxStatus.SENT, 0),
        failed=counts.get(OutboxStatus.FAILED, 0),
        blocked=counts.get("blocked", 0),
        cancelled=counts.get(OutboxStatus.CANCELLED, 0),
        remaining=counts.get(OutboxStatus.PENDING, 0) + counts.get(OutboxStatus.SENDING, 0),
    )


async def cancel(session: AsyncSession, broadcast_id: int) -> int:
    """Stop what is not sent yet; returns how many messages were withdrawn."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.broadcast_id == broadcast_id,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.status.in_([BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING]),
        )
        .values(status=BroadcastStatus.CANCELLED, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def active(session: AsyncSession) -> Sequence[Broadcast]:
    result = await session.execute(
        select(Broadcast)
        .where(Broadcast.status.in_([BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING]))
        .order_by(Broadcast.id)
    )
    return result.scalars().all()


async def recent(session: AsyncSession, limit: int = 10) -> Sequence[Broadcast]:
    result = await session.execute(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit))
    return result.scalars().all()


async def due_to_queue(session: AsyncSession, now: datetime) -> Sequence[Broadcast]:
    result = await session.execute(
        select(Broadcast)
        .where(
            Broadcast.status == BroadcastStatus.SCHEDULED,
            or_(Broadcast.scheduled_at.is_(None), Broadcast.scheduled_at <= now),
        )
        .order_by(Broadcast.id)
    )
    return result.scalars().all()
