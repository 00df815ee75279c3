"""Staff commands. To anyone not in STAFF_TELEGRAM_IDS they do not exist: the update falls
through to the unknown-command answer, exactly like a mistyped command."""

from __future__ import annotations

from collections.abc import Set
from typing import Any, Final

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

import handlers.objection_answers
import handlers.staff_deadlines
import handlers.staff_status
from chat.context import BotContext
from i18n import N_, _
from storage import outbox
from storage.models import Channel

STAFF_COMMANDS: Final = (
    ("staff", N_("this list of staff commands")),
    ("status", N_("an application and its status buttons: /status QM-2026-000123")),
    ("broadcast", N_("a message to citizens: audience, channel, text, preview, send")),
    ("broadcasts", N_("recent broadcasts and their counts")),
    ("broadcast_cancel", N_("stop a running broadcast: /broadcast_cancel 12")),
)


async def list_staff_commands(update: Update, context: BotContext) -> None:
    assert update.effective_message is not None
    lines = [_("Staff commands:")]
    lines += [f"/{command} — {_(description)}" for command, description in STAFF_COMMANDS]
    async with context.services.sessions() as session:
        failed = await outbox.failed_counts(session)
        deadlines = await handlers.staff_deadlines.lines(session)
    lines += [
        "",
        _("Undelivered notices (failed): Telegram {telegram}, SMS {sms}, e-mail {email}.").format(
            telegram=failed[Channel.TELEGRAM], sms=failed[Channel.SMS], email=failed[Channel.EMAIL]
        ),
        *deadlines,
    ]
    await update.effective_message.reply_text("\n".join(lines))


def staff_only(staff_ids: Set[int]) -> filters.BaseFilter:
    return filters.User(user_id=list(staff_ids)) & filters.ChatType.PRIVATE


def build(staff_ids: Set[int]) -> list[BaseHandler[Update, BotContext, Any]]:
    staff = staff_only(staff_ids)
    return [
        CommandHandler("staff", list_staff_commands, filters=staff),
        *handlers.staff_status.build(staff),
        *handlers.objection_answers.build(staff),
    ]
