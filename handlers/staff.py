"""Staff commands. To anyone not in STAFF_TELEGRAM_IDS they do not exist: the update falls
through to the unknown-command answer, exactly like a mistyped command."""

from __future__ import annotations

from collections.abc import Set
from typing import Any, Final

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from chat.context import BotContext
from i18n import N_, _

STAFF_COMMANDS: Final = (("staff", N_("this list of staff commands")),)


async def list_staff_commands(update: Update, context: BotContext) -> None:
    assert update.effective_message is not None
    lines = [_("Staff commands:")]
    lines += [f"/{command} — {_(description)}" for command, description in STAFF_COMMANDS]
    await update.effective_message.reply_text("\n".join(lines))


def staff_only(staff_ids: Set[int]) -> filters.BaseFilter:
    return filters.User(user_id=list(staff_ids)) & filters.ChatType.PRIVATE


def build(staff_ids: Set[int]) -> list[BaseHandler[Update, BotContext, Any]]:
    return [CommandHandler("staff", list_staff_commands, filters=staff_only(staff_ids))]
