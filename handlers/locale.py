"""Resolve the citizen's locale once per update, before any other handler runs."""

from __future__ import annotations

from telegram import Update
from telegram.ext import TypeHandler

from chat.context import BotContext
from i18n import resolve_locale, set_locale


async def set_update_locale(update: Update, context: BotContext) -> None:
    user = update.effective_user
    set_locale(resolve_locale(context.saved_locale, user.language_code if user else None))


def build() -> TypeHandler[Update, BotContext, None]:
    return TypeHandler(Update, set_update_locale)
