"""Proving a mobile number with a 6-digit SMS code, shared by the dialogues that need it.

Asking for a code goes through the caps of :mod:`storage.phone_verifications` (SMS pumping): a
refusal says which limit and when the citizen can try again (in minutes, or the Baku time of
today or tomorrow); the dialogue says it on the message of its question, asked again.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Final

from telegram import Update

from chat.context import BotContext
from delivery import notices
from i18n import BAKU, N_, _, current_locale
from observability import SMS_CODES
from storage import phone_verifications
from storage.phone_verifications import Cap, Capped, Issued, TooSoon

log = logging.getLogger(__name__)

Result = phone_verifications.CheckResult

#: Asked instead of "We sent a code" when no new code went out (too soon, or a cap).
EARLIER_CODE_QUESTION: Final = N_(
    "If you have the code from an earlier SMS to {phone}, please type it here:"
)
#: Asked with the reason after a refused code that can be typed again: no new code went out, so
#: it must not say "we sent" again.
CODE_AGAIN_QUESTION: Final = N_("Please type the code from the SMS to {phone}:")
CAP_REASONS: Final = {
    Cap.ACCOUNT_NUMBERS: N_(
        "For your safety, one account can get codes for at most {count} different numbers a day."
    ),
    Cap.ACCOUNT_CODES: N_("For your safety, one account can get at most {count} codes a day."),
    Cap.PHONE_CODES: N_("For safety, one number can get at most {count} codes a day."),
    Cap.DAILY_BUDGET: N_("We cannot send more codes by SMS today."),
}
TRY_AGAIN: Final = N_("You can try again {when}.")


class Sent(Enum):
    """What :func:`send_code` did."""

    SENT = "sent"  #: a new code (or, for ``sms=False``, a decoy: the same answer)
    TOO_SOON = "too_soon"  #: the last one went out under a minute ago; said so
    REFUSED = "refused"  #: a cap refused it; said which and when to try again


def retry_when(retry_at: datetime, now: datetime) -> str:
    """ "in 25 min", "today at 14:30", "tomorrow at 09:10" or "tomorrow" (Baku time)."""
    wait = retry_at - now
    if wait <= timedelta(hours=1):
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        return _("in {minutes} min").format(minutes=minutes)
    local = retry_at.astimezone(BAKU)
    if local.second or local.microsecond:  # round up: never earlier than it opens
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    clock = local.strftime("%H:%M")
    if local.date() == now.astimezone(BAKU).date():
        return _("today at {time}").format(time=clock)
    if clock == "00:00":
        return _("tomorrow")
    return _("tomorrow at {time}").format(time=clock)


def refusal_text(capped: Capped, now: datetime) -> str:
    reason = _(CAP_REASONS[capped.cap]).format(count=capped.limit)
    return f"{reason} {_(TRY_AGAIN).format(when=retry_when(capped.retry_at, now))}"


@dataclass(frozen=True, slots=True)
class Sending:
    """What :func:`send_code` did, and the reason to say with the next question (no new code)."""

    sent: Sent
    #: why no new code went out ("⚠️ …"), for the question's message; None when one did
    note: str | None = None


async def send_code(
    update: Update, context: BotContext, phone: str, *, sms: bool = True
) -> Sending:
    """Issue a code and queue its SMS, unless too soon or capped (then the reason, unsaid).

    The caller says the reason on its question's message: one message per question.
    ``sms=False`` (the acts dialogue, for a number not on file) issues a decoy: counted by the
    caps like a code, answered the same, but nothing is sent.
    """
    user = update.effective_user
    assert user is not None
    now = datetime.now(UTC)
    caps = context.services.sms_caps
    async with context.services.sessions.begin() as session:
        outcome = await phone_verifications.issue_code(
            session, telegram_user_id=user.id, phone=phone, now=now, caps=caps, send=sms
        )
        if isinstance(outcome, Issued) and sms:
            await notices.queue_verification_code(
                session,
                phone=phone,
                code=outcome.code,
                verification_id=outcome.verification_id,
                locale=current_locale(),
            )
    if isinstance(outcome, TooSoon):
        SMS_CODES.labels("too_soon").inc()
        reason = _(
            "A code was sent less than a minute ago. You can ask for a new one in "
            "{seconds} seconds."
        ).format(seconds=outcome.seconds_left)
        return Sending(Sent.TOO_SOON, "⚠️ " + reason)
    if isinstance(outcome, Capped):
        SMS_CODES.labels(outcome.cap.value).inc()
        log.info("phone check: a code was refused by the cap %s", outcome.cap.value)
        return Sending(Sent.REFUSED, "⚠️ " + refusal_text(outcome, now))
    SMS_CODES.labels("sent" if sms else "decoy").inc()
    if outcome.alarm is not None:
        log.warning(
            "SMS verification budget: %d of %d codes sent today (%d %%)%s",
            outcome.sent_today,
            caps.daily_budget,
            outcome.alarm,
            "; no more codes until 00:00 Baku time" if outcome.alarm >= 100 else "",
        )
    return Sending(Sent.SENT)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a typed code did not prove the number."""

    reason: str
    #: False when this code is spent (expired, or no tries left): only a new one can prove it.
    retype: bool


async def check_code(update: Update, context: BotContext, phone: str, typed: str) -> Refusal | None:
    """None when ``typed`` proves ``phone``; otherwise why not, to say with the question."""
    user = update.effective_user
    assert user is not None
    code = "".join(typed.split())
    if not (code.isdigit() and len(code) == phone_verifications.CODE_DIGITS):
        return Refusal(_("The code has 6 digits."), retype=True)
    async with context.services.sessions.begin() as session:
        result, left = await phone_verifications.check_code(
            session, telegram_user_id=user.id, phone=phone, code=code, now=datetime.now(UTC)
        )
    if result == Result.VERIFIED:
        return None
    if result == Result.WRONG:
        return Refusal(
            _("The code is not right. Tries left: {left}.").format(left=left), retype=True
        )
    spent = {
        Result.EXPIRED: _("The code has expired. Press «Send the code again»."),
        Result.TOO_MANY_ATTEMPTS: _(
            "Too many wrong codes. Press «Send the code again» for a new one."
        ),
    }.get(result, _("Press «Send the code again»."))
    return Refusal(spent, retype=False)


def refusal_question(refusal: Refusal, phone: str) -> str:
    """The reason, and the question again only when typing can still help (one message)."""
    text = "⚠️ " + refusal.reason
    if refusal.retype:
        text += "\n\n" + _(CODE_AGAIN_QUESTION).format(phone=phone)
    return text
