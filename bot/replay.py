"""Replies while an update from the inbox is handled: counted when sent, held back in a replay.

A process can die after a reply reached the citizen and before the dialogue's new state was
committed. The update then runs again from the inbox (the state must be right), and without
care it would send the same question again: the citizen, who may have answered the first one
already, answers the second too, and that answer lands on the next question. So every reply
the Bot API accepts is counted in the inbox (:meth:`bot.inbox.Inbox.replied`, committed before
the step goes on), and when the update runs again its first that-many replies are not sent:
python-telegram-bot gets the answer Telegram would have given, and the rest (what the dead
process never sent) goes out. The same step sends the same replies in the same order, so the
chat ends as if the step had run once. Callback answers and deletions count for nothing but
are held back too once anything was sent.

The window that is left: a reply accepted, the process killed before its count was
committed; then the citizen sees that one reply twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

from telegram.request import RequestData

from bot.retrying_request import RetryingRequest

__all__ = ["ReplayAwareRequest", "handling"]

#: Bot API methods that change what the citizen sees (lower case, as in the URL).
CHAT_CHANGES: Final = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendlocation",
        "sendvideo",
        "sendaudio",
        "sendvoice",
        "sendsticker",
        "sendcontact",
        "forwardmessage",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
        "deletemessage",
        "answercallbackquery",
    }
)
#: Calls the citizen does not answer: not counted; their answer is a plain "done".
ANSWERED_TRUE: Final = frozenset({"deletemessage", "answercallbackquery"})


@dataclass(slots=True)
class _Handling:
    update_id: int
    hold_back: int
    on_reply: Callable[[int, int], Awaitable[None]]
    sent: int = 0


_current: ContextVar[_Handling | None] = ContextVar("inbox_handling", default=None)


@contextmanager
def handling(
    update_id: int, *, hold_back: int, on_reply: Callable[[int, int], Awaitable[None]]
) -> Iterator[None]:
    """Within this block (the handling of one update) replies are counted, and the first
    ``hold_back`` of them (sent by a process that died) are not sent again."""
    token = _current.set(_Handling(update_id, hold_back, on_reply))
    try:
        yield
    finally:
        _current.reset(token)


class ReplayAwareRequest(RetryingRequest):
    """The bot's request: counts the replies of each update, holds back a replay's."""

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        current = _current.get()
        name = url.rsplit("/", 1)[-1].lower()
        if current is None or name not in CHAT_CHANGES:
            return await super().do_request(url, method, *args, **kwargs)
        counted = name not in ANSWERED_TRUE
        if current.sent < current.hold_back or (not counted and current.hold_back):
            current.sent += counted
            data = kwargs.get("request_data", args[0] if args else None)
            return 200, _as_if_sent(name, data)
        code, payload = await super().do_request(url, method, *args, **kwargs)
        if code == 200 and counted:
            current.sent += 1
            await current.on_reply(current.update_id, current.sent)
        return code, payload


def _as_if_sent(name: str, data: RequestData | None) -> bytes:
    """What Telegram answers to ``name``; a message held back has id 0 (never a real one)."""
    if name in ANSWERED_TRUE:
        return b'{"ok":true,"result":true}'
    parameters: dict[str, Any] = dict(data.parameters) if data is not None else {}
    chat_id = str(parameters.get("chat_id", 0))
    message: dict[str, Any] = {
        "message_id": parameters.get("message_id", 0),
        "date": int(time.time()),
        "chat": {
            "id": int(chat_id) if chat_id.lstrip("-").isdigit() else 0,
            "type": "private",
        },
    }
    if isinstance(parameters.get("text"), str):
        message["text"] = parameters["text"]
    return json.dumps({"ok": True, "result": message}).encode()
