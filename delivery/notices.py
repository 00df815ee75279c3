"""Notices to citizens: their text in the citizen's language, queued in the outbox.

SMS copy is transliterated to GSM-7 so that one segment holds 160 characters
(REFERENCE.md §8).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.sms import transliterate
from i18n import N_, translate
from storage import outbox
from storage.models import Application, Channel, Priority

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
