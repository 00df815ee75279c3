"""The Telegram governor wired from the settings, for the bot and for a worker.

One governor per process and bot token, handed to python-telegram-bot as its rate limiter
(``ApplicationBuilder().rate_limiter(...)``, ``ExtBot(rate_limiter=...)``), so that every Bot API
call of the process passes it. On PostgreSQL the processes share one overall budget through
the ``telegram_budget`` row; on SQLite only one process sends and the budget is local.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import BaseRateLimiter

from bot.settings import Settings
from delivery.governor import Governor, Pace
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


class SharedGovernor(BaseRateLimiter[Pace]):
    """One process's governor lent to several bots (the Application's, the dispatcher's).

    python-telegram-bot starts and stops a rate limiter with each bot that uses it; this one
    outlives them: the Application of a process that loses and regains the receiving lease
    is built anew, while the dispatcher's sends keep their place in the same queue. The
    owner calls :meth:`start` and :meth:`close`.
    """

    def __init__(self, governor: Governor) -> None:
        self.governor = governor

    async def start(self) -> None:
        await self.governor.initialize()

    async def close(self) -> None:
        await self.governor.shutdown()

    async def initialize(self) -> None:
        """Owned by :meth:`start`, not by a bot."""

    async def shutdown(self) -> None:
        """Owned by :meth:`close`, not by a bot."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Pace | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        return await self.governor.process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
