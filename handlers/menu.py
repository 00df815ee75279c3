"""The main menu, /help, /cancel outside a dialogue, and anything the bot does not know."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

import handlers.my_applications
import handlers.notifications
from chat.context import BotContext
from chat.keyboards import MenuItem, main_menu, menu_item_for, menu_label_pattern
from chat.queries import answer_once
from i18n import N_, _

HELP_TEXT: Final = N_(
    "Here is what I can do:\n\n"
    "• Connection request — apply to connect a house or an apartment to the electricity "
    "network, step by step, as on the e-gov portal.\n"
    "• Calculate the fee — see what a connection costs for the phase and power you need.\n"
    "• My applications — where your applications stand; I also write to you when a status "
    "changes.\n"
    "• Acts and payments — acts drawn up for breaking the rules of electricity use, the "
    "amount to pay and its deadline, and objections.\n"
    "• Announcements — planned power cuts and service news, on or off.\n"
    "• Language — Azərbaycanca, Русский or English.\n"
    "• Help — this message.\n\n"
    "/cancel stops any step and brings you back to the menu. The call centre is 199."
)


async def show_help(update: Update, context: BotContext) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(_(HELP_TEXT), reply_markup=main_menu())


MenuCallback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]

# Most items are a dialogue's entry point (registered before this handler); these are not.
MENU_ACTIONS: Final[dict[MenuItem, MenuCallback]] = {
    MenuItem.HELP: show_help,
    MenuItem.MY_APPLICATIONS: handlers.my_applications.list_mine,
    MenuItem.NOTIFICATIONS: handlers.notifications.show,
}


async def menu_choice(update: Update, context: BotContext) -> None:
    assert update.effective_message is not None
    item = menu_item_for(update.effective_message.text)
    action = MENU_ACTIONS.get(item, show_menu) if item else show_menu
    await action(update, context)


async def show_menu(update: Update, context: BotContext) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        _("Please choose from the menu below."), reply_markup=main_menu()
    )


async def nothing_to_cancel(update: Update, context: BotContext) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        _("There is nothing to cancel. Please choose from the menu below."),
        reply_markup=main_menu(),
    )


async def stale_button(update: Update, context: BotContext) -> None:
    """A button of a dialogue that is over (or of an old message)."""
    assert update.callback_query is not None
    await answer_once(update.callback_query, _("This button is no longer active."))


async def unknown_command(update: Update, context: BotContext) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        _("I do not know this command. Please choose from the menu below or send /help."),
        reply_markup=main_menu(),
    )


def build() -> list[BaseHandler[Update, BotContext, Any]]:
    """Handlers in the order they must be tried (after the conversations)."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("help", show_help, filters=private),
        CommandHandler("cancel", nothing_to_cancel, filters=private),
        MessageHandler(private & filters.Regex(menu_label_pattern()), menu_choice),
    ]


def build_fallbacks() -> list[BaseHandler[Update, BotContext, Any]]:
    """Last resort: unknown commands and any other message in a private chat."""
    private = filters.ChatType.PRIVATE
    return [
        CallbackQueryHandler(stale_button),
        MessageHandler(private & filters.COMMAND, unknown_command),
        MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, show_menu),
    ]
