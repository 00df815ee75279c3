"""Telegram messages through the application's ``telegram.Bot``, with errors sorted for retry.

python-telegram-bot raises one exception per Bot API failure; the dispatcher needs to know only
whether to try again (and when) or to give up. ``BadRequest`` and ``TimedOut`` are subclasses of
``NetworkError``, so the order of the ``except`` clauses matters.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable
from datetime import timedelta

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from delivery.providers import PermanentError, RecipientBlocked, RetryableError

__all__ = ["TelegramSender", "retry_after_seconds"]

# PTB 22 warns, from inside the RetryAfter it raises, that `retry_after` will become a
# timedelta; retry_after_seconds() already takes both, so the warning says nothing to us.
warnings.filterwarnings(
    "ignore", message=r".*attribute `retry_after`", category=PTBDeprecationWarning
)


def retry_after_seconds(error: RetryAfter) -> float:
    """``RetryAfter.retry_after`` in seconds, whichever type this PTB version returns."""
    with warnings.catch_warnings():
        # PTB 22 returns an int unless PTB_TIMEDELTA is set, and warns that this will change.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """Sends text messages to chats; raises the errors of :mod:`delivery.providers`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, text: str, *, parse_mode: str | None = None) -> None:
        await self._call(self.bot.send_message(chat_id, text, parse_mode=parse_mode))

    async def send_photo(self, chat_id: int, file_id: str, caption: str = "") -> None:
        """A photo Telegram already has (a ``file_id`` a citizen sent us)."""
        await self._call(self.bot.send_photo(chat_id, file_id, caption=caption or None))

    async def _call(self, sending: Awaitable[object]) -> None:
        try:
            await sending
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
