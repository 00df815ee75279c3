"""First contact and language choice: /start, /language and the *Dil* menu item.

/start is one message: the welcome in the citizen's language (saved, else the Telegram
client's, else Azerbaijani) with the main menu. Someone new gets a row of languages on top of
that menu, and is registered in ``citizens`` with the language they were greeted in. Choosing
is an option, never a gate: any command or menu press works at once. A message carries one
keyboard, and the menu is what a newcomer needs in view; a language press sends its name,
which this dialogue takes anywhere, and answers with the welcome in that language.

/language and *Dil* ask with inline buttons; that question survives a restart (the
conversation is persistent), so a button pressed after a crash still lands. The choice is
saved in ``citizens`` (see :mod:`chat.locales`), not in ``user_data``.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Final

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from chat.context import BotContext
from chat.conversation import conversation
from chat.keyboards import (
    LANGUAGE_CALLBACK_PREFIX,
    MenuItem,
    language_keyboard,
    language_names_pattern,
    main_menu,
    menu_item_pattern,
    welcome_menu,
)
from chat.locales import set_update_saved_locale
from chat.menu import leave_for_menu, menu_exit
from chat.queries import answer_once
from i18n import (
    LANGUAGE_NAMES,
    LOCALES,
    N_,
    _,
    current_locale,
    normalize_locale,
    set_locale,
    translate,
)
from storage import citizens
from storage.retry import retry_on_disconnect
from storage.types import SQLAlchemyError

log = logging.getLogger(__name__)

CHOOSING_LANGUAGE: Final = 1

WELCOME: Final = N_(
    "Welcome! This is the citizens' bot of Azərişıq. Here you can apply for a "
    "connection to the electricity network, follow your applications, see violation "
    "acts and their payment deadlines.\n\nPlease choose from the menu below."
)
LANGUAGE_HINT: Final = N_("The buttons on the top row change the language.")
CHOOSE_LANGUAGE: Final = N_("Choose your language")


async def greet(update: Update, context: BotContext, *, offer_languages: bool = False) -> None:
    assert update.effective_message is not None
    text = _(WELCOME)
    if offer_languages:
        text += "\n" + _(LANGUAGE_HINT)
    await update.effective_message.reply_text(
        text, reply_markup=welcome_menu() if offer_languages else main_menu()
    )


async def start(update: Update, context: BotContext) -> int:
    """One message: the welcome with the menu, and the languages for someone new.

    Someone new is registered with the language they were greeted in, so that they count as a
    citizen (announcements reach them) whether or not they ever press a language.
    """
    new = context.saved_locale is None
    await greet(update, context, offer_languages=new)
    if new:
        await register(update, context)
    return ConversationHandler.END


async def register(update: Update, context: BotContext) -> None:
    """Save the citizen with the language in effect; a failure only delays it to their next
    action (the welcome is out already, an apology after it would confuse)."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    try:
        saved = await retry_on_disconnect(
            partial(_store, context, user.id, chat.id, current_locale(), chosen=False)
        )
    except SQLAlchemyError as error:
        log.warning("new citizen not registered yet (%s)", type(error).__name__)
        return
    context.services.locales.remember(user.id, saved)
    set_update_saved_locale(saved)


async def ask_language(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    # In every language at once: a citizen who opens this may not read the current one.
    text = " · ".join(translate(CHOOSE_LANGUAGE, code) for code in LOCALES)
    await update.effective_message.reply_text(text, reply_markup=language_keyboard())
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
    if await save_locale(update, context, locale):
        await changed(update)
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


async def choose_from_welcome(update: Update, context: BotContext) -> int:
    """A language of the welcome's row: the welcome again in it, if it is another one."""
    assert update.effective_message is not None
    locale = _TYPED_NAMES[(update.effective_message.text or "").strip().casefold()]
    if await save_locale(update, context, locale):
        await greet(update, context)
    else:
        await confirmed(update, locale)
    return ConversationHandler.END


async def choose_by_text(update: Update, context: BotContext) -> int:
    """A typed answer to the language question."""
    assert update.effective_message is not None
    typed = (update.effective_message.text or "").strip().casefold()
    locale = _TYPED_NAMES.get(typed)
    if locale is None:
        await update.effective_message.reply_text(
            _("Please choose a language with one of the buttons below."),
            reply_markup=language_keyboard(),
        )
        return CHOOSING_LANGUAGE
    if await save_locale(update, context, locale):
        await changed(update)
    else:
        await confirmed(update, locale)
    return ConversationHandler.END


async def changed(update: Update) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(_("Language changed."), reply_markup=main_menu())


async def confirmed(update: Update, locale: str) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        LANGUAGE_NAMES[locale] + " ✓", reply_markup=main_menu()
    )


async def save_locale(update: Update, context: BotContext, locale: str) -> bool:
    """Save the citizen's choice and speak it from now on; whether it is another language
    than the one they were reading."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    shown = current_locale()
    await retry_on_disconnect(partial(_store, context, user.id, chat.id, locale, chosen=True))
    context.services.locales.remember(user.id, locale)
    set_update_saved_locale(locale)
    set_locale(locale)
    return locale != shown


async def _store(
    context: BotContext, user_id: int, chat_id: int, locale: str, *, chosen: bool
) -> str:
    """One transaction (safe to run again); the citizen's saved language after it."""
    store = citizens.choose_locale if chosen else citizens.register_telegram_user
    async with context.services.sessions.begin() as session:
        citizen = await store(session, telegram_user_id=user_id, chat_id=chat_id, locale=locale)
        return citizen.locale


async def cancel(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    await update.effective_message.reply_text(_("Cancelled."), reply_markup=main_menu())
    return ConversationHandler.END


def build() -> ConversationHandler[BotContext]:
    private = filters.ChatType.PRIVATE
    button = CallbackQueryHandler(choose_by_button, pattern=f"^{LANGUAGE_CALLBACK_PREFIX}")
    return conversation(
        entry_points=[
            CommandHandler("start", start, filters=private),
            CommandHandler("language", ask_language, filters=private),
            MessageHandler(
                private & filters.Regex(menu_item_pattern(MenuItem.LANGUAGE)), ask_language
            ),
            # The language row of the welcome (whatever the citizen is doing meanwhile).
            MessageHandler(private & filters.Regex(language_names_pattern()), choose_from_welcome),
            # A language button pressed on an old message still counts.
            button,
        ],
        states={
            CHOOSING_LANGUAGE: [
                menu_exit(),
                button,
                MessageHandler(filters.TEXT & ~filters.COMMAND, choose_by_text),
            ],
        },
        fallbacks=[
            menu_exit(),
            CommandHandler("cancel", cancel),
            CommandHandler("start", start),
            CommandHandler("language", ask_language),
            # Any other command ends the question and does what it says.
            MessageHandler(filters.COMMAND, leave_for_menu),
            MessageHandler(filters.ALL, choose_by_text),
        ],
        name="language",
        persistent=True,
        allow_reentry=True,
    )
