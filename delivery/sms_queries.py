"""Answering a text message: what the sender may know, in one SMS, queued in the outbox.

Privacy: an answer only concerns applications and acts whose verified phone is the sender's;
an application number of someone else gets exactly the answer of a number that does not exist.
Abuse: past ``per_hour`` queries in an hour, one "try later" and then silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from delivery import sms_replies
from domain.sms_commands import SmsCommand, SmsRequest, parse_sms
from i18n import DEFAULT_LOCALE
from storage import acts, citizen_applications, citizens, outbox, sms_inbound
from storage.models import Channel, Priority


@dataclass(frozen=True, slots=True)
class IncomingSms:
    message_id: str
    phone: str  # E.164, an Azerbaijani mobile
    text: str


@dataclass(frozen=True, slots=True)
class Answered:
    duplicate: bool = False
    reply: str | None = None  # None: silence (a duplicate, or over the limit already told)


async def answer(
    session: AsyncSession,
    sms: IncomingSms,
    *,
    now: datetime,
    per_hour: int,
    transliterate: bool,
) -> Answered:
    """Record ``sms`` and queue its reply, in the caller's transaction."""
    request = parse_sms(sms.text)
    row_id = await sms_inbound.record(
        session, message_id=sms.message_id, phone=sms.phone, text=sms.text,
        command=request.command, now=now,
    )  # fmt: skip
    if row_id is None:
        return Answered(duplicate=True)
    earlier, told = await sms_inbound.earlier_in_window(
        session, sms.phone, before_id=row_id, now=now
    )
    known = await citizens.by_verified_phone(session, sms.phone)
    locale = request.locale or (known.locale if known else None) or DEFAULT_LOCALE
    if earlier >= per_hour:
        await sms_inbound.finish(session, row_id, limited=not told, now=now)
        if told:
            return Answered()
        reply = sms_replies.simple(sms_replies.LIMITED, locale, transliterate=transliterate)
    else:
        reply = await reply_to(session, request, sms.phone, locale, transliterate=transliterate)
        await sms_inbound.finish(session, row_id, limited=False, now=now)
    await outbox.enqueue(
        session,
        channel=Channel.SMS,
        recipient=sms.phone,
        payload={"text": reply},
        idempotency_key=f"sms-reply:{sms.message_id}",
        citizen_id=known.id if known else None,
        priority=Priority.REPLY,
    )
    return Answered(reply=reply)


async def reply_to(
    session: AsyncSession, request: SmsRequest, phone: str, locale: str, *, transliterate: bool
) -> str:
    if request.command == SmsCommand.STATUS:
        found = await citizen_applications.for_phone(session, phone, request.application_number)
        return sms_replies.applications_reply(found, locale, transliterate=transliterate)
    if request.command == SmsCommand.DEBT:
        unpaid = await acts.unpaid_for_phone(session, phone)
        return sms_replies.debts_reply(unpaid, locale, transliterate=transliterate)
    if request.command in (SmsCommand.STOP, SmsCommand.START):
        citizen = await citizens.for_sms_sender(session, phone, locale=locale)
        citizen.sms_opted_out = request.command == SmsCommand.STOP
        await session.flush()
        done = sms_replies.STOPPED if citizen.sms_opted_out else sms_replies.STARTED
        return sms_replies.simple(done, locale, transliterate=transliterate)
    return sms_replies.simple(sms_replies.HELP, locale, transliterate=transliterate)
