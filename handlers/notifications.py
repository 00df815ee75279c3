"""*Bildirişlər*: whether the citizen gets announcements (planned outages, news) from staff.

Notices about their own applications and acts always come; this switch is only for broadcasts.
SMS announcements stop with the SMS keyword STOP as well.
"""

from __future__ import annotations

from typing import Any, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from chat.context import BotContext
from chat.queries import say
from i18n import _, current_locale
from storage import citizens

CB: Final = "ntf:"


async def show(update: Update, context: BotContext) -> None:
    enabled = await current(update, context)
    await reply(update, enabled)


async def current(update: Update, context: BotContext, turn: bool | None = None) -> bool:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with context.services.sessions.begin() as session:
        citizen = await citizens.by_telegram_user(session, user.id)
        if citizen is None:
            citizen = await citizens.register_telegram_user(
                session, telegram_user_id=user.id, chat_id=chat.id, locale=current_locale()
            )
        if turn is not None:
            citizen.broadcasts_enabled = turn
        return citizen.broadcasts_enabled


async def reply(update: Update, enabled: bool) -> None:
    if enabled:
        text = _(
            "Announcements are on: we will tell you about planned power cuts in your area and "
            "service news. Notices about your applications and acts always come."
        )
        button = InlineKeyboardButton(_("Turn announcements off"), callback_data=CB + "off")
    else:
        text = _("Announcements are off. Notices about your applications and acts still come.")
        button = InlineKeyboardButton(_("Turn announcements on"), callback_data=CB + "on")
    await say(update, text, InlineKeyboardMarkup([[button]]))


async def switch(update: Update, context: BotContext) -> None:
    assert update.callback_query is not None
    enabled = await current(update, context, turn=update.callback_query.data == CB + "on")
    await reply(update, enabled)


def build() -> list[BaseHandler[Update, BotContext, Any]]:
    return [
        CommandHandler("notifications", show, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(switch, pattern=f"^{CB}(on|off)$"),
    ]
