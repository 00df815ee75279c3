"""Answering an objection, in one transaction: the answer, what it does to the act, the notices.

Staff answer in Telegram (handlers/objection_answers.py) and through the API
(handlers/objections_api.py); both come here, so both do the same. An upheld objection may
cancel the act; an upheld or partly upheld one may lower its amount (recompute). The citizen
who objected reads the answer in the chat and by SMS; a cancelled act's own notice follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from delivery import act_notices, objection_notices
from domain.acts import BAKU, FINAL, ActStatus
from domain.objections import ACTIONS_ALLOWED, ActAction, Outcome
from storage import acts, objections
from storage.models import Citizen
from storage.types import AsyncSession


class ActionRefused(ValueError):
    """``reason``: action_not_allowed (for this outcome), act_closed, amount_required."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Answered:
    found: objections.Found
    queued: int


async def answer_objection(
    session: AsyncSession,
    receipt: str,
    *,
    outcome: Outcome,
    text: str,
    actor: str,
    now: datetime,
    action: ActAction | None = None,
    amount: Decimal | None = None,
) -> Answered:
    """Raises ObjectionNotFound, AlreadyAnswered, ActionRefused, AmountRefused (storage)."""
    if action is not None and action not in ACTIONS_ALLOWED[outcome]:
        raise ActionRefused("action_not_allowed")
    if action == ActAction.RECOMPUTE and amount is None:
        raise ActionRefused("amount_required")
    found = await objections.answer(
        session, receipt, outcome=outcome, text=text, actor=actor, now=now
    )
    act = found.act
    if action is not None and ActStatus(act.status) in FINAL:
        raise ActionRefused("act_closed")
    queued = 0
    comment = f"objection {found.objection.receipt_number}"
    if action == ActAction.CANCEL:
        done = await acts.change_status(
            session, act.number, ActStatus.CANCELLED, actor=actor, comment=comment,
            today=now.astimezone(BAKU).date(), now=now,
        )  # fmt: skip
        queued += await act_notices.queue_status_changed(
            session, done.act, ActStatus.CANCELLED, now=now
        )
    elif action == ActAction.RECOMPUTE:
        assert amount is not None
        await objections.recompute_act(session, act, amount, actor=actor, comment=comment, now=now)
        if (act.paid_amount or Decimal(0)) >= act.amount:
            done = await acts.change_status(
                session, act.number, ActStatus.PAID, actor=actor, comment=comment,
                today=now.astimezone(BAKU).date(), now=now,
            )  # fmt: skip
            queued += await act_notices.queue_status_changed(
                session, done.act, ActStatus.PAID, now=now
            )
    citizen = await session.get(Citizen, found.objection.citizen_id)
    if citizen is not None:
        queued += await objection_notices.queue_answer(
            session, found.objection, act, citizen, now=now,
            recomputed=action == ActAction.RECOMPUTE and ActStatus(act.status) != ActStatus.PAID,
        )  # fmt: skip
    return Answered(found, queued)
