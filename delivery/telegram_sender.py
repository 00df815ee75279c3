"""Telegram messages through the application's ``telegram.Bot``, with errors sorted for retry.

python-telegram-bot raises one exception per Bot API failure; the dispatcher needs to know only
whether to try again (and when) or to give up. ``BadRequest`` and ``TimedOut`` are subclasses of
``NetworkError``, so the order of the ``except`` clauses matters.

When the bot has the governor as its rate limiter (it has in `serve` and `worker`), each
message carries its :class:`~delivery.governor.Pace`: the outbox row's priority, and how long it
may wait for its turn before it is handed back unsent.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot

from delivery.governor import Pace, TurnNotGranted, retry_after_seconds
from delivery.providers import NotSent, PermanentError, RecipientBlocked, RetryableError

__all__ = ["TelegramSender", "retry_after_seconds"]


class TelegramSender:
    """Sends text messages to chats; raises the errors of :mod:`delivery.providers`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.paced = isinstance(bot, ExtBot) and bot.rate_limiter is not None

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = None,
        pace: Pace | None = None,
        buttons: list[list[dict[str, str]]] | None = None,
    ) -> None:
        """``buttons``: rows of ``{"text", "callback_data"}`` (an inline keyboard), if any."""
        markup = (
            InlineKeyboardMarkup(
                [[InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
                 for row in buttons]
            )
            if buttons
            else None
        )  # fmt: skip
        extra: dict[str, Any] = {"reply_markup": markup} if markup is not None else {}
        await self._call(
            self.bot.send_message(
                chat_id, text, parse_mode=parse_mode, **extra, **self._limits(pace)
            )
        )

    async def send_photo(
        self, chat_id: int, file_id: str, caption: str = "", *, pace: Pace | None = None
    ) -> None:
        """A photo Telegram already has (a ``file_id`` a citizen sent us)."""
        await self._call(
            self.bot.send_photo(chat_id, file_id, caption=caption or None, **self._limits(pace))
        )

    def _limits(self, pace: Pace | None) -> dict[str, Any]:
        return {"rate_limit_args": pace} if self.paced and pace is not None else {}

    async def _call(self, sending: Awaitable[object]) -> None:
        try:
            await sending
        except TurnNotGranted as error:
            raise NotSent(str(error)) from error
        except RetryAfter as error:
            raise RetryableError(str(error), retry_after_seconds(error)) from error
        except Forbidden as error:
            raise RecipientBlocked(str(error)) from error
        except (BadRequest, ChatMigrated) as error:
            raise PermanentError(f"{type(error).__name__}: {error}") from error
        except NetworkError as error:  # TimedOut, 5xx, connection trouble
            raise RetryableError(f"{type(error).__name__}: {error}") from error
        except TelegramError as error:  # InvalidToken, Conflict...: an operator's problem
            raise RetryableError(f"{type(error).__name__}: {error}") from error
