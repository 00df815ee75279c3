"""Resolve the citizen's locale once per update, before any other handler runs."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import TypeHandler

from chat.context import BotContext
from chat.locales import set_update_saved_locale
from i18n import resolve_locale, set_locale
from storage.types import SQLAlchemyError

log = logging.getLogger(__name__)


async def set_update_locale(update: Update, context: BotContext) -> None:
    """Saved choice (``citizens``), else the Telegram client's language, else Azerbaijani."""
    user = update.effective_user
    saved: str | None = None
    if user is not None:
        try:
            saved = await context.services.locales.lookup(user.id)
        except (SQLAlchemyError, OSError) as error:
            # Answer in the client's language rather than not at all (or twice: an apology
            # from the error handler, then the handlers of the next group).
            log.warning("saved language not read (%s); using the client's", type(error).__name__)
    set_update_saved_locale(saved)
    set_locale(resolve_locale(saved, user.language_code if user else None))


def build() -> TypeHandler[Update, BotContext, None]:
    return TypeHandler(Update, set_update_locale)
