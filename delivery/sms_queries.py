"""Answering text messages: what the sender may know, in one SMS, queued in the outbox.

Privacy: an answer only concerns applications and acts whose verified phone is the sender's;
an application number of someone else gets exactly the answer of a number that does not exist.
Abuse: past ``per_hour`` queries in an hour, one "try later" and then silence.

Messages are answered many at once (see :mod:`delivery.sms_batches`): a batch costs a fixed
number of statements, however many messages it holds, except for the rare commands (AKT,
STOP, START) that look up or change one sender's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from delivery import sms_replies
from domain.sms_commands import SmsCommand, SmsRequest, parse_sms
from i18n import DEFAULT_LOCALE
from storage import acts, citizen_applications, citizens, outbox, sms_inbound
from storage.citizen_applications import LIST_LIMIT
from storage.models import Application, Channel, Priority
from storage.types import AsyncSession


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
    messages: Sequence[IncomingSms],
    *,
    now: datetime,
    per_hour: int,
    transliterate: bool,
) -> list[Answered]:
    """Record ``messages`` and queue their replies, in the caller's transaction, in order."""
    requests = [parse_sms(sms.text) for sms in messages]
    received = [
        sms_inbound.Received(sms.message_id, sms.phone, sms.text, request.command)
        for sms, request in zip(messages, requests, strict=True)
    ]
    row_ids = await sms_inbound.record(session, received, now=now)
    fresh = _first_of_each_new_id(messages, row_ids)
    if not fresh:
        return [Answered(duplicate=True)] * len(messages)
    phones = {messages[index].phone for index in fresh}
    windows = await sms_inbound.windows_before(
        session, phones, before_id=min(row_ids.values()), now=now
    )
    known = await citizens.by_verified_phones(session, phones)
    asking_status = {
        messages[index].phone for index in fresh if requests[index].command == SmsCommand.STATUS
    }
    applications = await citizen_applications.for_phones(session, asking_status)

    answers = [Answered(duplicate=True)] * len(messages)
    handled: list[int] = []
    told_now: list[int] = []
    replies: list[outbox.Queued] = []
    for index in fresh:
        sms, request = messages[index], requests[index]
        row_id = row_ids[sms.message_id]
        citizen = known.get(sms.phone)
        locale = request.locale or (citizen.locale if citizen else None) or DEFAULT_LOCALE
        window = windows.setdefault(sms.phone, sms_inbound.Window())
        window.count += 1
        if window.count > per_hour:
            if window.told:
                handled.append(row_id)
                answers[index] = Answered()
                continue
            window.told = True
            told_now.append(row_id)
            reply = sms_replies.simple(sms_replies.LIMITED, locale, transliterate=transliterate)
        else:
            handled.append(row_id)
            reply = await reply_to(
                session,
                request,
                sms.phone,
                locale,
                transliterate=transliterate,
                applications=applications.get(sms.phone, []),
            )
        replies.append(
            outbox.Queued(
                channel=Channel.SMS,
                recipient=sms.phone,
                payload={"text": reply},
                idempotency_key=f"sms-reply:{sms.message_id}",
                citizen_id=citizen.id if citizen else None,
                priority=Priority.REPLY,
            )
        )
        answers[index] = Answered(reply=reply)
    await sms_inbound.finish(session, handled, limited=False, now=now)
    await sms_inbound.finish(session, told_now, limited=True, now=now)
    await outbox.enqueue_many(session, replies)
    return answers


def _first_of_each_new_id(messages: Sequence[IncomingSms], row_ids: dict[str, int]) -> list[int]:
    """Indexes of the messages stored now: a message id's first occurrence, if it was new."""
    seen: set[str] = set()
    fresh = []
    for index, sms in enumerate(messages):
        if sms.message_id in row_ids and sms.message_id not in seen:
            fresh.append(index)
        seen.add(sms.message_id)
    return fresh


async def reply_to(
    session: AsyncSession,
    request: SmsRequest,
    phone: str,
    locale: str,
    *,
    transliterate: bool,
    applications: Sequence[Application],
) -> str:
    """The reply to one request; ``applications`` are the sender's, newest first."""
    if request.command == SmsCommand.STATUS:
        number = request.application_number
        found = [a for a in applications if number is None or a.number == number]
        return sms_replies.applications_reply(
            found[:LIST_LIMIT], locale, transliterate=transliterate
        )
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
