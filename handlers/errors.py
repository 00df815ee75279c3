"""One error handler: log without personal data, apologise in the citizen's language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError

from chat.context import BotContext
from i18n import _
from storage.retry import is_connection_lost

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, NetworkError | Forbidden):
        # Telegram or the network hiccuped; python-telegram-bot retries polling by itself.
        log.warning("Telegram API problem on update %s: %s", update_id, error)
    elif update is None and is_connection_lost(error):
        # A job (or a write after an update) met a database connection that had just died:
        # the pool replaces it, and the job runs again at its next tick.
        log.warning("Database connection lost in a job; it runs again: %s", type(error).__name__)
    else:
        log.error("Unhandled error on update %s", update_id, exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id,
                _("Sorry, something went wrong on our side. Please try again in a moment."),
            )
        except TelegramError as send_error:
            log.warning("Could not send the apology for update %s: %s", update_id, send_error)
