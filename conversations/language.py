"""First contact and language choice: /start, /language and the *Dil* menu item.

A citizen without a saved language is asked for one before anything else; the question
survives a restart (the conversation is persistent), so a button pressed after a crash
still lands.
"""

from __future__ import annotations

from typing import Final

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from chat.context import LOCALE_KEY, BotContext
from chat.conversation import conversation
from chat.keyboards import (
    LANGUAGE_CALLBACK_PREFIX,
    MenuItem,
    language_keyboard,
    main_menu,
    menu_item_pattern,
)
from chat.menu import menu_exit
from chat.queries import answer_once
from i18n import LANGUAGE_NAMES, LOCALES, _, normalize_locale, set_locale
from storage import citizens

CHOOSING_LANGUAGE: Final = 1


async def greet(update: Update, context: BotContext) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        _(
            "Welcome! This is the citizens' bot of Azərişıq. Here you can apply for a "
            "connection to the electricity network, follow your applications, see violation "
            "acts and pay on time.\n\nPlease choose from the menu below."
        ),
        reply_markup=main_menu(),
    )


async def start(update: Update, context: BotContext) -> int:
    """Greet with the menu; someone new is also asked for a language (not forced to answer)."""
    await greet(update, context)
    if context.saved_locale is None:
        return await ask_language(update, context)
    return ConversationHandler.END


async def ask_language(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "Dili seçin · Выберите язык · Choose your language", reply_markup=language_keyboard()
    )
    return CHOOSING_LANGUAGE


async def choose_by_button(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    locale = normalize_locale(query.data.removeprefix(LANGUAGE_CALLBACK_PREFIX))
    if locale is None:
        await answer_once(query)
        return CHOOSING_LANGUAGE
    await answer_once(query)
    await query.edit_message_text(LANGUAGE_NAMES[locale] + " ✓")
    await confirm_locale(update, context, locale)
    return ConversationHandler.END


_TYPED_NAMES: Final = {
    **{name.casefold(): code for code, name in LANGUAGE_NAMES.items()},
    **{code: code for code in LOCALES},
    "azerbaycanca": "az",
    "azərbaycan": "az",
    "русский": "ru",
    "rus": "ru",
    "english": "en",
}


async def choose_by_text(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    typed = (update.effective_message.text or "").strip().casefold()
    locale = _TYPED_NAMES.get(typed)
    if locale is None:
        await update.effective_message.reply_text(
            _("Please choose a language with one of the buttons below."),
            reply_markup=language_keyboard(),
        )
        return CHOOSING_LANGUAGE
    await confirm_locale(update, context, locale)
    return ConversationHandler.END


async def confirm_locale(update: Update, context: BotContext, locale: str) -> None:
    """Save the choice and answer in the new language: the greeting the first time."""
    first_choice = context.saved_locale is None
    await save_locale(update, context, locale)
    if first_choice:
        await greet(update, context)
        return
    assert update.effective_message is not None
    await update.effective_message.reply_text(_("Language changed."), reply_markup=main_menu())


async def save_locale(update: Update, context: BotContext, locale: str) -> None:
    assert update.effective_user is not None and update.effective_chat is not None
    assert context.user_data is not None
    context.user_data[LOCALE_KEY] = locale
    set_locale(locale)
    async with context.services.sessions.begin() as session:
        await citizens.register_telegram_user(
            session,
            telegram_user_id=update.effective_user.id,
            chat_id=update.effective_chat.id,
            locale=locale,
        )


async def cancel(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    await update.effective_message.reply_text(_("Cancelled."), reply_markup=main_menu())
    return ConversationHandler.END


def build() -> ConversationHandler[BotContext]:
    private = filters.ChatType.PRIVATE
    return conversation(
        entry_points=[
            CommandHandler("start", start, filters=private),
            CommandHandler("language", ask_language, filters=private),
            MessageHandler(
                private & filters.Regex(menu_item_pattern(MenuItem.LANGUAGE)), ask_language
            ),
            # A language button pressed on an old message still counts.
            CallbackQueryHandler(choose_by_button, pattern=f"^{LANGUAGE_CALLBACK_PREFIX}"),
        ],
        states={
            CHOOSING_LANGUAGE: [
                menu_exit(),
                CallbackQueryHandler(choose_by_button, pattern=f"^{LANGUAGE_CALLBACK_PREFIX}"),
                MessageHandler(filters.TEXT & ~filters.COMMAND, choose_by_text),
            ],
        },
        fallbacks=[
            menu_exit(),
            CommandHandler("cancel", cancel),
            CommandHandler("start", start),
            CommandHandler("language", ask_language),
            MessageHandler(filters.ALL, choose_by_text),
        ],
        name="language",
        persistent=True,
        allow_reentry=True,
    )
