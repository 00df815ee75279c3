"""Notices about objections: the answer to the citizen (chat and SMS), the staff reminder.

The answer goes to the citizen who filed the objection, in their language, in the chat and by
SMS in one segment: the whole answer when it fits, otherwise a short form that points to the
bot. Staff are reminded once, in the staff language, before the answer date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Final

from delivery import act_notices
from delivery.notices import baku_day, sms_text
from delivery.objection_buttons import answer_buttons
from domain.acts import objection_answer_due, sms_allowed_from
from domain.objections import Outcome
from domain.sms import sms_size
from i18n import DEFAULT_LOCALE, N_, format_date, translate
from storage import outbox
from storage.models import ActObjection, Channel, Citizen, ViolationAct
from storage.types import AsyncSession

OUTCOME_LABELS: Final[dict[Outcome, str]] = {
    Outcome.UPHELD: N_("Upheld"),
    Outcome.PARTLY_UPHELD: N_("Partly upheld"),
    Outcome.REJECTED: N_("Rejected"),
}
ANSWER: Final = N_("The answer to your objection {receipt} to act {number}: {outcome}.\n{answer}")
RECOMPUTED: Final = N_("The act's amount has been recomputed: {amount}, to pay by {due}.")
ANSWER_SMS: Final = N_("Azərişıq: objection {receipt}: {outcome}. {answer}")
ANSWER_SMS_SHORT: Final = N_(
    "Azərişıq: objection {receipt}: {outcome}. The full answer is in the Telegram bot."
)
STAFF_REMINDER: Final = N_(
    "Reminder: objection {receipt} to act {number} must be answered by {answer_due}."
)
STAFF_REMINDER_LATE: Final = N_(
    "Reminder: objection {receipt} to act {number} is still unanswered; it was due by {answer_due}."
)


def outcome_label(outcome: str, locale: str) -> str:
    return translate(OUTCOME_LABELS[Outcome(outcome)], locale)


def answer_text(
    objection: ActObjection, act: ViolationAct, locale: str, *, recomputed: bool = False
) -> str:
    text = translate(ANSWER, locale).format(
        receipt=objection.receipt_number,
        number=act.number,
        outcome=outcome_label(objection.outcome or Outcome.REJECTED, locale),
        answer=objection.answer or "",
    )
    if recomputed:
        text += "\n" + act_notices.fill(RECOMPUTED, act, locale)
    return text


def answer_sms(objection: ActObjection, locale: str) -> str:
    """One segment: the answer itself when it fits, the short form otherwise."""
    outcome = outcome_label(objection.outcome or Outcome.REJECTED, locale)
    whole = sms_text(
        translate(ANSWER_SMS, locale).format(
            receipt=objection.receipt_number, outcome=outcome, answer=objection.answer or ""
        )
    )
    if sms_size(whole).segments <= 1:
        return whole
    return sms_text(
        translate(ANSWER_SMS_SHORT, locale).format(
            receipt=objection.receipt_number, outcome=outcome
        )
    )


async def queue_answer(
    session: AsyncSession,
    objection: ActObjection,
    act: ViolationAct,
    citizen: Citizen,
    *,
    now: datetime,
    recomputed: bool = False,
) -> int:
    """The answer to the citizen who objected: their chat and their phone (once each)."""
    locale = citizen.locale or DEFAULT_LOCALE
    key = f"objection:{objection.receipt_number}:answer"
    queued = 0
    if citizen.telegram_chat_id is not None and citizen.notify_telegram and not citizen.blocked:
        queued += await outbox.enqueue(
            session,
            channel=Channel.TELEGRAM,
            recipient=str(citizen.telegram_chat_id),
            payload={"text": answer_text(objection, act, locale, recomputed=recomputed)},
            idempotency_key=f"{key}:telegram",
            citizen_id=citizen.id,
        )
    phone = citizen.phone_e164 if citizen.phone_verified else act.consumer_phone_e164
    if phone and citizen.notify_sms and not citizen.sms_opted_out:
        queued += await outbox.enqueue(
            session,
            channel=Channel.SMS,
            recipient=phone,
            payload={"text": answer_sms(objection, locale)},
            idempotency_key=f"{key}:sms",
            citizen_id=citizen.id,
            not_before=sms_allowed_from(now),
        )
    return queued


def answer_due(objection: ActObjection) -> date:
    return objection_answer_due(baku_day(objection.created_at))


async def queue_staff_reminder(
    session: AsyncSession,
    objection: ActObjection,
    act: ViolationAct,
    *,
    staff_ids: Iterable[int],
    today: date,
) -> int:
    """Each staff member is reminded of an unanswered objection, once; past its answer date
    the reminder says so."""
    locale = act_notices.STAFF_LOCALE
    due = answer_due(objection)
    text = translate(STAFF_REMINDER_LATE if due < today else STAFF_REMINDER, locale).format(
        receipt=objection.receipt_number, number=act.number, answer_due=format_date(due, locale)
    )
    queued = 0
    for staff_id in sorted(staff_ids):
        queued += await outbox.enqueue(
            session,
            channel=Channel.TELEGRAM,
            recipient=str(staff_id),
            payload={"text": text, **answer_buttons(objection.receipt_number, locale)},
            idempotency_key=f"objection:{objection.receipt_number}:reminder:{staff_id}",
        )
    return queued
