"""Notices to citizens: their text in the citizen's language, queued in the outbox.

SMS copy is transliterated to GSM-7 so that one segment holds 160 characters
(REFERENCE.md §8).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

from babel.numbers import format_decimal

from delivery import payment_text
from domain.application_status import ApplicationStatus, payment_deadline
from domain.sms import transliterate
from i18n import BAKU, DEFAULT_LOCALE, N_, format_date, format_money, translate
from storage import outbox
from storage.models import Application, ApplicationStatusChange, Channel, Citizen, Priority
from storage.types import AsyncSession

REGISTERED_SMS = N_(
    "Azərişıq: your connection application {number} is registered. "
    "We will send you its result by SMS."
)
REGISTERED_EMAIL_SUBJECT = N_("Your connection application {number} is registered")
REGISTERED_EMAIL_BODY = N_(
    "Your application for a connection to the electricity network is registered under number "
    "{number}.\n\nWe will write to you when its status changes; you can also follow it in the "
    "Azərişıq Telegram bot under «My applications».\n\nAzərişıq"
)
VERIFICATION_SMS = N_("Azərişıq: your confirmation code is {code}. Do not tell it to anyone.")


def sms_text(text: str) -> str:
    return transliterate(text)


async def queue_application_registered(
    session: AsyncSession, application: Application, *, locale: str
) -> None:
    number = application.number
    await outbox.enqueue(
        session,
        channel=Channel.SMS,
        recipient=application.phone_e164,
        payload={"text": sms_text(translate(REGISTERED_SMS, locale).format(number=number))},
        idempotency_key=f"application:{number}:registered:sms",
        citizen_id=application.citizen_id,
    )
    if application.email:
        await outbox.enqueue(
            session,
            channel=Channel.EMAIL,
            recipient=application.email,
            payload={
                "subject": translate(REGISTERED_EMAIL_SUBJECT, locale).format(number=number),
                "text": translate(REGISTERED_EMAIL_BODY, locale).format(number=number),
            },
            idempotency_key=f"application:{number}:registered:email",
            citizen_id=application.citizen_id,
        )


async def queue_verification_code(
    session: AsyncSession, *, phone: str, code: str, verification_id: int, locale: str
) -> None:
    await outbox.enqueue(
        session,
        channel=Channel.SMS,
        recipient=phone,
        payload={"text": sms_text(translate(VERIFICATION_SMS, locale).format(code=code))},
        idempotency_key=f"phone-verification:{verification_id}",
        priority=Priority.REPLY,
    )


# --------------------------------------------------------------------------- status changes

STATUS_LABELS: Final[dict[ApplicationStatus, str]] = {
    ApplicationStatus.REGISTERED: N_("Registered"),
    ApplicationStatus.UNDER_REVIEW: N_("Under review"),
    ApplicationStatus.CONDITIONS_IN_PREPARATION: N_("Technical conditions in preparation"),
    ApplicationStatus.PAYMENT_PENDING: N_("Payment pending"),
    ApplicationStatus.PAID: N_("Paid"),
    ApplicationStatus.INSTALLATION: N_("Installation work"),
    ApplicationStatus.CONNECTED: N_("Connected"),
    ApplicationStatus.REJECTED: N_("Rejected"),
    ApplicationStatus.WITHDRAWN: N_("Withdrawn"),
}

STATUS_HEADLINE = N_("Your connection application {number}: {status}.")
#: What a status means, under the headline. None for a withdrawal: the headline says it all.
STATUS_EXPLANATIONS: Final[dict[ApplicationStatus, str]] = {
    ApplicationStatus.UNDER_REVIEW: N_("Our specialists are reviewing it."),
    ApplicationStatus.CONDITIONS_IN_PREPARATION: N_(
        "Technical conditions and a project are being prepared for your object."
    ),
    ApplicationStatus.PAYMENT_PENDING: N_(
        "The connection fee is {amount}. Please pay it by {deadline}; after that date you would "
        "have to apply again."
    ),
    ApplicationStatus.PAID: N_("We have received your payment. Thank you."),
    ApplicationStatus.INSTALLATION: N_("The installation work has started."),
    ApplicationStatus.CONNECTED: N_("Your object is connected to the electricity network."),
    ApplicationStatus.REJECTED: N_("Reason: {comment}"),
}
STATUS_COMMENT = N_("Comment: {comment}")
#: Who closes an application left unpaid past its deadline (delivery/deadlines.py), and the
#: history's comment (staff read it); the citizen reads DEADLINE_PASSED in their language, and
#: DEADLINE_HISTORY in the history of My applications instead of the stored comment.
DEADLINE_ACTOR = "deadline"
DEADLINE_COMMENT = "Ödəniş müddəti bitdi"
DEADLINE_HISTORY = N_("the fee was not paid in time")
DEADLINE_PASSED = N_(
    "The connection fee was not paid by the deadline, so the application is closed. To connect, "
    "please apply again: «Connection request» in the menu."
)
DEADLINE_PASSED_SMS = N_(
    "Azərişıq: application {number} is closed: the fee was not paid in time. Please apply again."
)
STATUS_SMS = N_("Azərişıq: application {number}: {status}.")
STATUS_SMS_PAYMENT = N_(
    "Azərişıq: application {number}: pay {amount} by {deadline} on e-gov.az or at ASAN."
)
STATUS_SMS_FREE = N_("Azərişıq: application {number}: the connection is free, nothing to pay.")
STATUS_EMAIL_SUBJECT = N_("Your connection application {number}: {status}")


def status_label(status: str, locale: str) -> str:
    label = STATUS_LABELS.get(ApplicationStatus(status))
    return translate(label, locale) if label else status


def status_text(application: Application, change: ApplicationStatusChange, locale: str) -> str:
    """The full notice: headline, what it means, and the comment."""
    status = ApplicationStatus(change.to_status)
    lines = [
        translate(STATUS_HEADLINE, locale).format(
            number=application.number, status=status_label(status, locale)
        )
    ]
    explanation = STATUS_EXPLANATIONS.get(status)
    if change.actor == DEADLINE_ACTOR:
        return "\n".join([*lines, translate(DEADLINE_PASSED, locale)])
    if status == ApplicationStatus.PAID and application.fee_amount <= 0:
        explanation = payment_text.NOTHING_TO_PAY  # never "we have received your payment"
    if explanation:
        lines.append(
            translate(explanation, locale).format(
                amount=format_money(application.fee_amount, locale),
                deadline=format_date(payment_deadline(baku_day(change.changed_at)), locale),
                comment=change.comment or "",
            )
        )
    if status == ApplicationStatus.PAYMENT_PENDING:
        lines += payment_text.application_lines(application, locale)
    if change.comment and status != ApplicationStatus.REJECTED:
        lines.append(translate(STATUS_COMMENT, locale).format(comment=change.comment))
    return "\n".join(lines)


def status_sms(application: Application, change: ApplicationStatusChange, locale: str) -> str:
    status = ApplicationStatus(change.to_status)
    if change.actor == DEADLINE_ACTOR:
        text = translate(DEADLINE_PASSED_SMS, locale).format(number=application.number)
    elif status == ApplicationStatus.PAYMENT_PENDING:
        text = translate(STATUS_SMS_PAYMENT, locale).format(
            number=application.number,
            # "AZN", not "₼": the manat sign is not in GSM-7 and would triple the SMS's cost.
            amount=format_decimal(application.fee_amount, format="#,##0.00", locale=locale)
            + " AZN",
            deadline=format_date(payment_deadline(baku_day(change.changed_at)), locale),
        )
    elif status == ApplicationStatus.PAID and application.fee_amount <= 0:
        text = translate(STATUS_SMS_FREE, locale).format(number=application.number)
    else:
        text = translate(STATUS_SMS, locale).format(
            number=application.number, status=status_label(status, locale)
        )
    return sms_text(text)


def baku_day(moment: datetime) -> date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(BAKU).date()


async def queue_status_changed(
    session: AsyncSession,
    application: Application,
    citizen: Citizen,
    change: ApplicationStatusChange,
    *,
    telegram: bool = True,
) -> int:
    """One outbox row per channel the citizen has (and wants); returns how many were queued."""
    locale = citizen.locale or DEFAULT_LOCALE
    key = f"application:{application.number}:{change.to_status}"
    queued = 0
    if (
        telegram
        and citizen.telegram_chat_id is not None
        and citizen.notify_telegram
        and not citizen.blocked
    ):
        queued += await outbox.enqueue(
            session,
            channel=Channel.TELEGRAM,
            recipient=str(citizen.telegram_chat_id),
            payload={"text": status_text(application, change, locale)},
            idempotency_key=f"{key}:telegram",
            citizen_id=citizen.id,
        )
    if citizen.notify_sms and not citizen.sms_opted_out:
        queued += await outbox.enqueue(
            session,
            channel=Channel.SMS,
            recipient=application.phone_e164,
            payload={"text": status_sms(application, change, locale)},
            idempotency_key=f"{key}:sms",
            citizen_id=citizen.id,
        )
    if application.email and citizen.notify_email:
        status = status_label(change.to_status, locale)
        queued += await outbox.enqueue(
            session,
            channel=Channel.EMAIL,
            recipient=application.email,
            payload={
                "subject": translate(STATUS_EMAIL_SUBJECT, locale).format(
                    number=application.number, status=status
                ),
                "text": status_text(application, change, locale) + "\n\nAzərişıq",
            },
            idempotency_key=f"{key}:email",
            citizen_id=citizen.id,
        )
    return queued
