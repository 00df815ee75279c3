"""Proving a mobile number with a 6-digit SMS code, shared by the dialogues that need it."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Update

from chat.context import BotContext
from chat.queries import say
from delivery import notices
from i18n import _, current_locale
from storage import phone_verifications

Result = phone_verifications.CheckResult


async def send_code(update: Update, context: BotContext, phone: str) -> bool:
    """Issue a code and queue its SMS; False (with a message) if asked again too soon."""
    user = update.effective_user
    assert user is not None
    async with context.services.sessions.begin() as session:
        outcome = await phone_verifications.issue_code(
            session, telegram_user_id=user.id, phone=phone, now=datetime.now(UTC)
        )
        if isinstance(outcome, phone_verifications.TooSoon):
            await say(
                update,
                _(
                    "A code was sent less than a minute ago. You can ask for a new one in "
                    "{seconds} seconds."
                ).format(seconds=outcome.seconds_left),
            )
            return False
        await notices.queue_verification_code(
            session,
            phone=phone,
            code=outcome.code,
            verification_id=outcome.verification_id,
            locale=current_locale(),
        )
    return True


async def check_code(update: Update, context: BotContext, phone: str, typed: str) -> str | None:
    """None when ``typed`` proves ``phone``; otherwise why not, to say before asking again."""
    user = update.effective_user
    assert user is not None
    code = "".join(typed.split())
    if not (code.isdigit() and len(code) == phone_verifications.CODE_DIGITS):
        return _("The code has 6 digits.")
    async with context.services.sessions.begin() as session:
        result, left = await phone_verifications.check_code(
            session, telegram_user_id=user.id, phone=phone, code=code, now=datetime.now(UTC)
        )
    if result == Result.VERIFIED:
        return None
    if result == Result.WRONG:
        return _("The code is not right. Tries left: {left}.").format(left=left)
    return {
        Result.EXPIRED: _("The code has expired. Press «Send the code again»."),
        Result.TOO_MANY_ATTEMPTS: _(
            "Too many wrong codes. Press «Send the code again» for a new one."
        ),
    }.get(result, _("Press «Send the code again»."))
