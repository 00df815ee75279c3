"""What the driver reads back: the messages the bot sent, its callback answers, counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]
MessageCallback = Callable[["SentMessage"], Awaitable[None] | None]
AnswerCallback = Callable[["CallbackAnswer"], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class MessageVersion:
    """A former content of an edited bot message."""

    text: str | None
    reply_markup: JSONDict | None
    timestamp: float


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, as the user sees it.

    ``messages()`` returns the live records (edited in place); ``next_message()`` and
    ``on_message`` callbacks get snapshots, one per event, with ``is_edit`` set on edits.
    ``text`` is the text (or caption) as displayed: HTML markup is already stripped, the
    text as sent is in ``raw_text``.
    """

    message_id: int
    chat_id: int
    text: str | None
    reply_markup: JSONDict | None
    method: str
    timestamp: float
    raw_text: str | None = None
    parse_mode: str | None = None
    entities: list[Any] | None = None
    attachment: JSONDict | None = None
    file_name: str | None = None
    file_size: int | None = None
    edited: bool = False
    edit_history: tuple[MessageVersion, ...] = ()
    edit_timestamp: float | None = None
    deleted: bool = False
    is_edit: bool = False

    def buttons(self) -> list[JSONDict]:
        """Every button of the inline or reply keyboard, row by row."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [b if isinstance(b, dict) else {"text": b} for row in rows for b in row]

    def callback_data(self) -> list[str]:
        """The callback_data of every inline button."""
        return [b["callback_data"] for b in self.buttons() if "callback_data" in b]


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """The bot's answerCallbackQuery to a press_button (query id = str(update_id))."""

    update_id: int
    callback_query_id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    text: str | None
    show_alert: bool
    url: str | None
    timestamp: float


@dataclass(slots=True)
class EmulatorStats:
    """Counters since start (or the last ``reset_stats()``)."""

    calls: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    server_errors: int = 0
    forbidden: int = 0
    sends_per_chat: Counter[int] = field(default_factory=Counter)
