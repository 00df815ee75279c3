"""The Telegram governor wired from the settings, for the bot and for a worker.

One governor per process and bot token, handed to python-telegram-bot as its rate limiter
(``ApplicationBuilder().rate_limiter(...)``, ``ExtBot(rate_limiter=...)``), so that every Bot API
call of the process passes it. On PostgreSQL the processes share one overall budget through
the ``telegram_budget`` row; on SQLite only one process sends and the budget is local.
"""

from __future__ import annotations

from bot.settings import Settings
from delivery.governor import Governor
from delivery.telegram_budget import Budget, LocalBudget, SharedBudget


def bot_id(token: str) -> int:
    """The bot's id: the digits before the colon of its token (0 if it has none)."""
    head, _, _ = token.partition(":")
    return int(head) if head.isdigit() else 0


def governor_for(settings: Settings, token: str) -> Governor:
    budget: Budget
    if settings.is_sqlite:
        budget = LocalBudget(settings.telegram_global_rate)
    else:
        budget = SharedBudget(settings.database_url, bot_id(token), settings.telegram_global_rate)
    return Governor(
        settings.telegram_global_rate,
        per_chat_rate=settings.telegram_per_chat_rate,
        per_chat_burst=settings.telegram_per_chat_burst,
        budget=budget,
    )
