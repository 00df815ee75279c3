"""Notices about violation acts: registered, deadline reminders, status changes, objections.

Who hears about an act: every chat that follows its subscriber code (Telegram), and the phone
on file for the act by SMS — unless the citizen behind that phone has stopped SMS. SMS are held
back to 09:00 Baku time when queued at night. Each notice has an idempotency key per act, kind
and recipient, so a sweep run twice (or by two processes) queues it once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Final

from babel.numbers import format_decimal

from delivery import payment_text
from delivery.notices import sms_text
from delivery.objection_buttons import answer_buttons
from domain.acts import ActStatus, Reminder, sms_allowed_from
from i18n import DEFAULT_LOCALE, N_, format_date, format_money, translate
from storage import acts, citizens, outbox
from storage.models import ActObjection, Channel, ViolationAct
from storage.types import AsyncSession

REGISTERED: Final = N_(
    "A violation act {number} has been drawn up for the subscriber code {code} ({address}).\n"
    "Amount to pay: {amount}. Please pay by {due}.\n"
    "You can see how the amount was calculated, and object, under «Acts and payments»."
)
REMINDERS: Final[dict[Reminder, str]] = {
    Reminder.DUE_IN_3_DAYS: N_("Reminder: {amount} for act {number} is due in 3 days, by {due}."),
    Reminder.DUE_IN_1_DAY: N_("Reminder: {amount} for act {number} is due tomorrow, {due}."),
    Reminder.DUE_TODAY: N_("Today, {due}, is the last day to pay {amount} for act {number}."),
}
AFTER_DUE_DATE: Final = N_(
    "If it is not paid by then, the supply may be disconnected and the debt claimed in court. "
    "An objection does not postpone the payment."
)
STATUS_TEXTS: Final[dict[ActStatus, str]] = {
    ActStatus.PAID: N_("Act {number} is paid in full. Thank you."),
    ActStatus.DISCONNECTED: N_(
        "Act {number} was not paid by {due}, so the supply at subscriber code {code} has been "
        "disconnected. It is restored after payment."
    ),
    ActStatus.COURT: N_("The debt for act {number} ({amount}) has been referred to court."),
    ActStatus.CANCELLED: N_("Act {number} has been cancelled. You do not need to pay it."),
}
LATE_REMINDER: Final = N_("Reminder: {amount} for act {number} is due by {due}.")
REGISTERED_SMS: Final = N_(
    "Azərişıq: act {number}, subscriber {code}: pay {amount} by {due} (app, bank, terminal)."
)
REMINDER_SMS: Final = N_(
    "Azərişıq: act {number}, code {code}: pay {amount} by {due} (app, bank, terminal)."
)
STATUS_SMS: Final[dict[ActStatus, str]] = {
    ActStatus.PAID: N_("Azərişıq: act {number} is paid. Thank you."),
    ActStatus.DISCONNECTED: N_("Azərişıq: act {number} unpaid; supply at {code} disconnected."),
    ActStatus.COURT: N_("Azərişıq: the debt for act {number} was referred to court."),
    ActStatus.CANCELLED: N_("Azərişıq: act {number} is cancelled; nothing to pay."),
}
OBJECTION_FOR_STAFF: Final = N_(
    "Objection {receipt} to act {number} (subscriber code {code}, {district}):\n{text}\n"
    "Photos: {photos}. To be answered by {answer_due}."
)
STAFF_LOCALE: Final = "az"

Render = Callable[[str], str]


def fill(message: str, act: ViolationAct, locale: str, *, sms: bool = False) -> str:
    """``message`` in ``locale`` with the act's figures; SMS use "AZN" (₼ is not GSM-7)."""
    amount = (
        format_decimal(acts.outstanding(act), format="#,##0.00", locale=locale) + " AZN"
        if sms
        else format_money(acts.outstanding(act), locale)
    )
    text = translate(message, locale).format(
        number=act.number,
        code=act.subscriber_code,
        address=act.address,
        amount=amount,
        due=format_date(act.due_on, locale),
    )
    return sms_text(text) if sms else text


def with_payment(text: str, act: ViolationAct, locale: str) -> str:
    """``text`` and then the reference and where to pay (nothing when nothing is left)."""
    return "\n".join([text, *payment_text.act_lines(act, locale)])


async def queue_act_notice(
    session: AsyncSession,
    act: ViolationAct,
    kind: str,
    *,
    telegram: Render,
    sms: Render,
    now: datetime,
) -> int:
    """Queue one notice of ``kind`` to every follower and the phone on file; returns how many."""
    key = f"act:{act.number}:{kind}"
    queued = 0
    for citizen in await acts.followers(session, act.subscriber_code):
        if citizen.telegram_chat_id is None or not citizen.notify_telegram or citizen.blocked:
            continue
        queued += await outbox.enqueue(
            session,
            channel=Channel.TELEGRAM,
            recipient=str(citizen.telegram_chat_id),
            payload={"text": telegram(citizen.locale or DEFAULT_LOCALE)},
            idempotency_key=f"{key}:telegram:{citizen.id}",
            citizen_id=citizen.id,
        )
    phone = act.consumer_phone_e164
    if phone:
        owner = await citizens.by_verified_phone(session, phone)
        if owner is None or (owner.notify_sms and not owner.sms_opted_out):
            queued += await outbox.enqueue(
                session,
                channel=Channel.SMS,
                recipient=phone,
                payload={"text": sms(owner.locale if owner else DEFAULT_LOCALE)},
                idempotency_key=f"{key}:sms",
                citizen_id=owner.id if owner else None,
                not_before=sms_allowed_from(now),
            )
    return queued


async def queue_registered(session: AsyncSession, act: ViolationAct, *, now: datetime) -> int:
    return await queue_act_notice(
        session,
        act,
        "registered",
        telegram=lambda locale: with_payment(fill(REGISTERED, act, locale), act, locale),
        sms=lambda locale: fill(REGISTERED_SMS, act, locale, sms=True),
        now=now,
    )


async def queue_reminder(
    session: AsyncSession,
    act: ViolationAct,
    reminder: Reminder,
    *,
    now: datetime,
    late: bool = False,
) -> int:
    """``late``: its day passed while no process ran; same key (so once), a dateless text."""
    template = LATE_REMINDER if late else REMINDERS[reminder]

    def telegram(locale: str) -> str:
        text = with_payment(fill(template, act, locale), act, locale)
        return text + "\n" + translate(AFTER_DUE_DATE, locale)

    return await queue_act_notice(
        session,
        act,
        reminder,
        telegram=telegram,
        sms=lambda locale: fill(REMINDER_SMS, act, locale, sms=True),
        now=now,
    )


async def queue_status_changed(
    session: AsyncSession, act: ViolationAct, status: ActStatus, *, now: datetime
) -> int:
    if status not in STATUS_TEXTS:
        return 0
    return await queue_act_notice(
        session,
        act,
        f"status:{status}",
        telegram=lambda locale: fill(STATUS_TEXTS[status], act, locale),
        sms=lambda locale: fill(STATUS_SMS[status], act, locale, sms=True),
        now=now,
    )


def objection_for_staff(act: ViolationAct, objection: ActObjection, answer_due: date) -> str:
    """What staff read in Telegram: the act and the objection, not the consumer's phone."""
    return translate(OBJECTION_FOR_STAFF, STAFF_LOCALE).format(
        receipt=objection.receipt_number,
        number=act.number,
        code=act.subscriber_code,
        district=act.district,
        text=objection.text,
        photos=len(objection.photo_file_ids),
        answer_due=format_date(answer_due, STAFF_LOCALE),
    )


async def queue_objection_for_staff(
    session: AsyncSession,
    act: ViolationAct,
    objection: ActObjection,
    *,
    staff_ids: Iterable[int],
    answer_due: date,
) -> int:
    """The objection's text, then each photo, to every staff member's chat."""
    text = objection_for_staff(act, objection, answer_due)
    key = f"objection:{objection.receipt_number}:staff"
    queued = 0
    for staff_id in sorted(staff_ids):
        queued += await outbox.enqueue(
            session,
            channel=Channel.TELEGRAM,
            recipient=str(staff_id),
            payload={"text": text, **answer_buttons(objection.receipt_number, STAFF_LOCALE)},
            idempotency_key=f"{key}:{staff_id}",
        )
        for index, file_id in enumerate(objection.photo_file_ids):
            await outbox.enqueue(
                session,
                channel=Channel.TELEGRAM,
                recipient=str(staff_id),
                payload={"photo": file_id, "caption": objection.receipt_number},
                idempotency_key=f"{key}:{staff_id}:photo:{index}",
            )
    return queued
