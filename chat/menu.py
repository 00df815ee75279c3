"""Leaving a dialogue through the main menu.

A citizen may press a menu button in the middle of any dialogue. The dialogue then ends and
the same update is queued again, so that, with the dialogue over, it reaches whatever the
button does (another dialogue's entry point or a one-step handler). The per-chat update
processor keeps the re-queued update behind the current one.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ConversationHandler, MessageHandler, filters

from chat.context import BotContext
from chat.keyboards import menu_label_pattern


async def leave_for_menu(update: Update, context: BotContext) -> int:
    await context.application.update_queue.put(update)
    return ConversationHandler.END


def menu_exit() -> MessageHandler[BotContext, object]:
    """Put this first in a conversation's fallbacks (and states that take free text)."""
    return MessageHandler(filters.Regex(menu_label_pattern()), leave_for_menu)
