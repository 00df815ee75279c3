"""Replies while an update from the inbox is handled: noted when sent, held back in a replay.

A process can die after a reply reached the citizen and before the dialogue's new state was
committed. The update then runs again from the inbox (the state must be right), and without
care it would send the same question again: the citizen, who may have answered the first one
already, answers the second too, and that answer lands on the next question. So every reply
the Bot API accepts is noted in the inbox as a digest of what it said
(:meth:`bot.inbox.Inbox.replied`, committed before the step goes on), and when the update runs
again a reply whose digest is among those is not sent: python-telegram-bot gets the answer
Telegram would have given, and what the dead process never sent goes out.

Digests, not a count: a step may commit part of its work before its last reply (a draft is
written before its question goes out), so the replay can take another way and send other
replies (the "continue where you stopped?" offer instead of the intro). Holding back the
first N replies would then swallow a reply the citizen never saw, and they would wait for
ever; a digest holds back only what they have seen. Callback answers and deletions are not
noted but are held back too once anything was sent.

The window that is left: a reply accepted, the process killed before its digest was
committed; then the citizen sees that one reply twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

from telegram.request import RequestData

from bot.retrying_request import RetryingRequest

__all__ = ["ReplayAwareRequest", "handling", "reply_digest"]

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


#: Called with the update id and the digests of every reply the citizen has seen so far.
OnReply = Callable[[int, tuple[str, ...]], Awaitable[None]]


@dataclass(slots=True)
class _Handling:
    update_id: int
    on_reply: OnReply
    #: digests of what the citizen has seen: the dead process's replies, then this run's
    seen: list[str]
    #: of the dead process's replies, those this run has not come to yet
    unmatched: Counter[str]
    #: a process that died had sent something: callback answers and deletions are held back
    replay: bool


_current: ContextVar[_Handling | None] = ContextVar("inbox_handling", default=None)


@contextmanager
def handling(update_id: int, *, seen_before: Sequence[str], on_reply: OnReply) -> Iterator[None]:
    """Within this block (the handling of one update) replies are noted, and those a process
    that died had sent (``seen_before``, their digests) are not sent again."""
    state = _Handling(
        update_id, on_reply, list(seen_before), Counter(seen_before), replay=bool(seen_before)
    )
    token = _current.set(state)
    try:
        yield
    finally:
        _current.reset(token)


def reply_digest(method: str, parameters: dict[str, Any]) -> str:
    """What a reply said, in 16 hex digits: its method and every parameter."""
    body = json.dumps([method.lower(), parameters], sort_keys=True, default=str)
    return hashlib.blake2b(body.encode(), digest_size=8).hexdigest()


class ReplayAwareRequest(RetryingRequest):
    """The bot's request: notes the replies of each update, holds back a replay's."""

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        current = _current.get()
        name = url.rsplit("/", 1)[-1].lower()
        if current is None or name not in CHAT_CHANGES:
            return await super().do_request(url, method, *args, **kwargs)
        data: RequestData | None = kwargs.get("request_data", args[0] if args else None)
        if name in ANSWERED_TRUE:
            if current.replay:
                return 200, _as_if_sent(name, data)
            return await super().do_request(url, method, *args, **kwargs)
        digest = reply_digest(name, dict(data.parameters) if data is not None else {})
        if current.unmatched[digest] > 0:
            current.unmatched[digest] -= 1
            return 200, _as_if_sent(name, data)
        code, payload = await super().do_request(url, method, *args, **kwargs)
        if code == 200:
            current.seen.append(digest)
            await current.on_reply(current.update_id, tuple(current.seen))
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
