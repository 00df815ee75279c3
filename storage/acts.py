"""Violation acts: register, read, pay, change status, follow by subscriber code, object.

Every function works in the caller's transaction; status changes are conditional updates
(``WHERE status = <the status we read>``), so two staff members cannot both move the same act.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.acts import ActStatus, check_act_transition
from domain.transitions import TransitionError
from storage.db import dialect_insert, utcnow
from storage.models import (
    ActObjection,
    ActPayment,
    ActStatusChange,
    Citizen,
    Subscriber,
    SubscriberLink,
    ViolationAct,
)


class ActExists(Exception):
    """An act with this number is already registered."""


class ActNotFound(LookupError):
    pass


class PaymentConflict(Exception):
    """The same payment reference was recorded before with a different amount."""


class PaymentLimit(Exception):
    """A new payment would take the act's payments past the caller's ``paid_max``."""


# --------------------------------------------------------------------------- registration


async def register(session: AsyncSession, act: ViolationAct, *, actor: str) -> ViolationAct:
    """Store a new act (the caller has computed it) and its first history line."""
    if await by_number(session, act.number) is not None:
        raise ActExists(act.number)
    session.add(act)
    await session.flush()
    session.add(
        ActStatusChange(
            act_id=act.id, from_status=None, to_status=ActStatus.OPEN, actor=actor,
            changed_at=act.created_at,
        )
    )  # fmt: skip
    await session.flush()
    return act


async def by_number(session: AsyncSession, number: str) -> ViolationAct | None:
    result = await session.execute(select(ViolationAct).where(ViolationAct.number == number))
    return result.scalar_one_or_none()


async def history(session: AsyncSession, act_id: int) -> list[ActStatusChange]:
    result = await session.execute(
        select(ActStatusChange)
        .where(ActStatusChange.act_id == act_id)
        .order_by(ActStatusChange.changed_at, ActStatusChange.id)
    )
    return list(result.scalars())


async def payments(session: AsyncSession, act_id: int) -> list[ActPayment]:
    result = await session.execute(
        select(ActPayment).where(ActPayment.act_id == act_id).order_by(ActPayment.id)
    )
    return list(result.scalars())


async def objections(session: AsyncSession, act_id: int) -> list[ActObjection]:
    result = await session.execute(
        select(ActObjection).where(ActObjection.act_id == act_id).order_by(ActObjection.id)
    )
    return list(result.scalars())


# --------------------------------------------------------------------------- status and payments


@dataclass(frozen=True, slots=True)
class StatusChanged:
    act: ViolationAct
    change: ActStatusChange


async def change_status(
    session: AsyncSession,
    number: str,
    target: str,
    *,
    actor: str,
    comment: str | None,
    today: date,
    now: datetime | None = None,
) -> StatusChanged:
    """Move the act to ``target``; :class:`~domain.transitions.TransitionError` if not allowed."""
    act = await by_number(session, number)
    if act is None:
        raise ActNotFound(number)
    current = ActStatus(act.status)
    status = check_act_transition(current, target, today=today, due_on=act.due_on)
    return await _move(session, act, current, status, actor=actor, comment=comment, now=now)


async def _move(
    session: AsyncSession,
    act: ViolationAct,
    current: ActStatus,
    status: ActStatus,
    *,
    actor: str,
    comment: str | None,
    now: datetime | None,
) -> StatusChanged:
    moment = now or utcnow()
    moved = await session.execute(
        update(ViolationAct)
        .where(ViolationAct.id == act.id, ViolationAct.status == current)
        .values(status=status, updated_at=moment)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        raise TransitionError("changed_meanwhile", current, status)
    act.status = status
    change = ActStatusChange(
        act_id=act.id, from_status=current, to_status=status, actor=actor, comment=comment,
        changed_at=moment,
    )  # fmt: skip
    session.add(change)
    await session.flush()
    return StatusChanged(act, change)


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    act: ViolationAct
    payment: ActPayment
    new: bool  # False: this reference was recorded before (a repeat from the payment system)
    paid_in_full: StatusChanged | None


async def record_payment(
    session: AsyncSession,
    number: str,
    *,
    amount: Decimal,
    paid_at: datetime,
    reference: str,
    actor: str,
    paid_max: Decimal | None = None,
) -> PaymentRecorded:
    """Add a payment; once the payments cover the amount, the act becomes paid.

    A repeat of the same reference with the same amount is a no-op; with another amount it is
    :class:`PaymentConflict`. A new payment that would make the act's payments add up to more
    than ``paid_max`` is :class:`PaymentLimit` (a repeat is still a no-op). Payments on a
    cancelled act are refused by the caller's check of :func:`payable`.
    """
    act = await by_number(session, number)
    if act is None:
        raise ActNotFound(number)
    earlier = await session.execute(
        select(ActPayment).where(ActPayment.act_id == act.id, ActPayment.reference == reference)
    )
    existing = earlier.scalar_one_or_none()
    if existing is not None:
        if existing.amount != amount:
            raise PaymentConflict(reference)
        return PaymentRecorded(act, existing, False, None)
    if paid_max is not None and (act.paid_amount or Decimal(0)) + amount > paid_max:
        raise PaymentLimit(reference)
    payment = ActPayment(
        act_id=act.id, amount=amount, paid_at=paid_at, reference=reference, actor=actor
    )
    session.add(payment)
    await session.flush()
    total = sum((p.amount for p in await payments(session, act.id)), Decimal(0))
    act.paid_amount = total
    act.paid_at = paid_at
    act.updated_at = utcnow()
    paid_in_full = None
    current = ActStatus(act.status)
    if total >= act.amount and current not in (ActStatus.PAID, ActStatus.CANCELLED):
        paid_in_full = await _move(
            session, act, current, ActStatus.PAID, actor=actor, comment=None, now=None
        )
    await session.flush()
    return PaymentRecorded(act, payment, True, paid_in_full)


def outstanding(act: ViolationAct) -> Decimal:
    return max(act.amount - (act.paid_amount or Decimal(0)), Decimal(0))


# --------------------------------------------------------------------------- subscribers


async def upsert_subscriber(
    session: AsyncSession,
    code: str,
    *,
    phone: str | None,
    address: str | None = None,
    district: str | None = None,
) -> None:
    values: dict[str, Any] = {"phone_e164": phone, "updated_at": utcnow()}
    if address is not None:
        values["address"] = address
    if district is not None:
        values["district"] = district
    insert = dialect_insert(session.get_bind().dialect.name)
    statement = insert(Subscriber).values(code=code, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["code"], set_=values))


async def subscriber_phone(session: AsyncSession, code: str) -> str | None:
    result = await session.execute(select(Subscriber.phone_e164).where(Subscriber.code == code))
    return result.scalar_one_or_none()


async def link(session: AsyncSession, citizen_id: int, code: str) -> None:
    insert = dialect_insert(session.get_bind().dialect.name)
    await session.execute(
        insert(SubscriberLink)
        .values(citizen_id=citizen_id, subscriber_code=code)
        .on_conflict_do_nothing(index_elements=["citizen_id", "subscriber_code"])
    )


async def unlink(session: AsyncSession, citizen_id: int, code: str) -> bool:
    """The citizen stops following ``code``: its acts are no longer listed, noticed or
    reminded in their chat. False if they did not follow it."""
    result = await session.execute(
        delete(SubscriberLink).where(
            SubscriberLink.citizen_id == citizen_id, SubscriberLink.subscriber_code == code
        )
    )
    return bool(getattr(result, "rowcount", 0))


# A link counts only while its citizen's phone is verified: when a recycled number is proved
# by someone else (storage.citizens.remember_verified_phone), the old holder's links go quiet.
_LINK_HOLDS = and_(SubscriberLink.citizen_id == Citizen.id, Citizen.phone_verified)


async def linked_codes(session: AsyncSession, citizen_id: int) -> list[str]:
    result = await session.execute(
        select(SubscriberLink.subscriber_code)
        .join(Citizen, _LINK_HOLDS)
        .where(SubscriberLink.citizen_id == citizen_id)
        .order_by(SubscriberLink.id)
    )
    return list(result.scalars())


async def followers(session: AsyncSession, code: str) -> list[Citizen]:
    """Citizens whose chat follows this subscriber code."""
    result = await session.execute(
        select(Citizen)
        .join(SubscriberLink, _LINK_HOLDS)
        .where(SubscriberLink.subscriber_code == code)
        .order_by(Citizen.id)
    )
    return list(result.scalars())


async def acts_of_citizen(session: AsyncSession, citizen_id: int) -> list[ViolationAct]:
    """The acts of every code the citizen follows, newest first."""
    result = await session.execute(
        select(ViolationAct)
        .join(SubscriberLink, SubscriberLink.subscriber_code == ViolationAct.subscriber_code)
        .join(Citizen, _LINK_HOLDS)
        .where(SubscriberLink.citizen_id == citizen_id)
        .order_by(ViolationAct.issued_on.desc(), ViolationAct.id.desc())
    )
    return list(result.scalars())


async def act_of_citizen(
    session: AsyncSession, citizen_id: int, number: str
) -> ViolationAct | None:
    """The act with this number if the citizen follows its code; None otherwise."""
    result = await session.execute(
        select(ViolationAct)
        .join(SubscriberLink, SubscriberLink.subscriber_code == ViolationAct.subscriber_code)
        .join(Citizen, _LINK_HOLDS)
        .where(SubscriberLink.citizen_id == citizen_id, ViolationAct.number == number)
    )
    return result.scalars().first()


async def open_acts_due_on(session: AsyncSession, days: Iterable[date]) -> Sequence[ViolationAct]:
    """Acts still unpaid (open) whose due date is one of ``days``."""
    result = await session.execute(
        select(ViolationAct)
        .where(ViolationAct.status == ActStatus.OPEN, ViolationAct.due_on.in_(list(days)))
        .order_by(ViolationAct.id)
    )
    return result.scalars().all()


#: Statuses in which an act is still owed.
UNPAID: tuple[ActStatus, ...] = (ActStatus.OPEN, ActStatus.DISCONNECTED, ActStatus.COURT)


async def unpaid_for_phone(session: AsyncSession, phone: str) -> Sequence[ViolationAct]:
    """Unpaid acts whose phone on file (on the act or for its subscriber code) is ``phone``."""
    codes = select(Subscriber.code).where(Subscriber.phone_e164 == phone)
    result = await session.execute(
        select(ViolationAct)
        .where(
            ViolationAct.status.in_(UNPAID),
            or_(ViolationAct.consumer_phone_e164 == phone, ViolationAct.subscriber_code.in_(codes)),
        )
        .order_by(ViolationAct.due_on, ViolationAct.id)
    )
    return result.scalars().all()


# --------------------------------------------------------------------------- objections


async def add_objection(
    session: AsyncSession,
    act: ViolationAct,
    *,
    citizen_id: int,
    text: str,
    photo_file_ids: Sequence[str],
    now: datetime,
) -> ActObjection:
    """Store the objection and give it a receipt number ``ET-YYYY-NNNNNN`` from its row id."""
    objection = ActObjection(
        act_id=act.id,
        citizen_id=citizen_id,
        receipt_number=f"pending-{secrets.token_hex(8)}",  # unique until the id is known
        text=text,
        photo_file_ids=list(photo_file_ids),
        created_at=now,
    )
    session.add(objection)
    await session.flush()
    objection.receipt_number = f"ET-{now.year}-{objection.id:06d}"
    await session.flush()
    return objection


async def objection_count(session: AsyncSession, act_id: int) -> int:
    result = await session.execute(
        select(func.count()).select_from(ActObjection).where(ActObjection.act_id == act_id)
    )
    return int(result.scalar_one())


async def owed_acts(
    session: AsyncSession, today: date, *, overdue: bool | None, limit: int
) -> list[ViolationAct]:
    """Acts still owed, oldest due date first; ``overdue``: open past (or within) the due date."""
    query = select(ViolationAct).where(ViolationAct.status.in_(UNPAID))
    if overdue is True:
        query = query.where(ViolationAct.status == ActStatus.OPEN, ViolationAct.due_on < today)
    elif overdue is False:
        query = query.where(ViolationAct.due_on >= today)
    result = await session.execute(
        query.order_by(ViolationAct.due_on, ViolationAct.id).limit(limit)
    )
    return list(result.scalars())
