"""Objections to acts: find by receipt, answer once, the ones staff must be reminded of.

Every function works in the caller's transaction. The answer is a conditional update
(``WHERE answered_at IS NULL``): of two staff members answering at once, one wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.acts import BAKU, OBJECTION_ANSWER_DAYS
from domain.objections import REMIND_DAYS_BEFORE, Outcome
from storage.models import ActObjection, ActStatusChange, ViolationAct


class ObjectionNotFound(LookupError):
    pass


class AlreadyAnswered(Exception):
    """The objection has its answer (perhaps from another staff member a moment ago)."""


@dataclass(frozen=True, slots=True)
class Found:
    objection: ActObjection
    act: ViolationAct


async def by_receipt(session: AsyncSession, receipt: str) -> Found | None:
    result = await session.execute(
        select(ActObjection, ViolationAct)
        .join(ViolationAct, ViolationAct.id == ActObjection.act_id)
        .where(ActObjection.receipt_number == receipt.strip().upper())
    )
    row = result.first()
    return Found(row[0], row[1]) if row else None


async def answer(
    session: AsyncSession,
    receipt: str,
    *,
    outcome: Outcome,
    text: str,
    actor: str,
    now: datetime,
) -> Found:
    found = await by_receipt(session, receipt)
    if found is None:
        raise ObjectionNotFound(receipt)
    objection = found.objection
    if objection.answered_at is not None:
        raise AlreadyAnswered(receipt)
    values = {"outcome": outcome, "answer": text, "answered_at": now, "answered_by": actor[:64]}
    moved = await session.execute(
        update(ActObjection)
        .where(ActObjection.id == objection.id, ActObjection.answered_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        raise AlreadyAnswered(receipt)
    for name, value in values.items():
        setattr(objection, name, value)
    await session.flush()
    return found


def filed_before(day: date) -> datetime:
    """The first moment (UTC) of the Baku ``day``: objections filed earlier are older."""
    return datetime.combine(day, time(0), tzinfo=BAKU)


async def unanswered_due_by(session: AsyncSession, last_day: date) -> Sequence[Found]:
    """Unanswered objections whose answer date is ``last_day`` or earlier, oldest first."""
    filed_by = filed_before(last_day - timedelta(days=OBJECTION_ANSWER_DAYS - 1))
    result = await session.execute(
        select(ActObjection, ViolationAct)
        .join(ViolationAct, ViolationAct.id == ActObjection.act_id)
        .where(ActObjection.answered_at.is_(None), ActObjection.created_at < filed_by)
        .order_by(ActObjection.created_at, ActObjection.id)
    )
    return [Found(o, a) for o, a in result.all()]


async def to_remind(session: AsyncSession, today: date) -> Sequence[Found]:
    """Unanswered, close to (or past) the answer date, and staff not yet reminded."""
    due = await unanswered_due_by(session, today + timedelta(days=REMIND_DAYS_BEFORE))
    return [found for found in due if found.objection.staff_reminded_at is None]


async def mark_reminded(session: AsyncSession, objection: ActObjection, now: datetime) -> bool:
    """True for the one caller that marks it (the reminder is queued by that caller only)."""
    moved = await session.execute(
        update(ActObjection)
        .where(ActObjection.id == objection.id, ActObjection.staff_reminded_at.is_(None))
        .values(staff_reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    objection.staff_reminded_at = now
    return bool(moved.rowcount)  # type: ignore[attr-defined]


class AmountRefused(ValueError):
    """A recomputed amount must be more than 0 and less than the act's amount."""


async def recompute_act(
    session: AsyncSession,
    act: ViolationAct,
    amount: Decimal,
    *,
    actor: str,
    comment: str,
    now: datetime,
) -> None:
    """Lower the act's amount (an upheld objection), with a history line; the status stays.

    Payments already covering the new amount make the act paid (:func:`storage.acts.record_payment`
    does the same for a new payment); a paid or cancelled act is refused by the caller.
    """
    if not 0 < amount < act.amount:
        raise AmountRefused(str(amount))
    old = act.amount
    act.amount = amount
    act.updated_at = now
    session.add(
        ActStatusChange(
            act_id=act.id, from_status=act.status, to_status=act.status, actor=actor[:64],
            comment=f"{comment}: {old} → {amount} AZN", changed_at=now,
        )
    )  # fmt: skip
    await session.flush()
