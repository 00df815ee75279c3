"""The emulator's state: users and their chats, token buckets, the webhook, open queries."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass, field

from emulator.records import JSONDict, SentMessage


@dataclass(slots=True)
class Chat:
    """A user and their private chat with the bot (chat id = user id)."""

    id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str
    history: int
    last_message_id: int = 0
    messages: dict[int, SentMessage] = field(default_factory=dict)
    #: What the user sent (message JSON by message_id): only these can they edit.
    sent: dict[int, JSONDict] = field(default_factory=dict)
    events: deque[SentMessage] = field(init=False)
    event_count: int = 0  # events ever appended
    cursor: int = 0  # absolute index of the first event not yet read by the driver

    def __post_init__(self) -> None:
        self.events = deque(maxlen=self.history)

    def user_json(self) -> JSONDict:
        user: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        user["language_code"] = self.language_code
        return user

    def chat_json(self) -> JSONDict:
        chat: JSONDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def remember(self, message: SentMessage) -> None:
        self.messages[message.message_id] = message
        if len(self.messages) > self.history:
            del self.messages[next(iter(self.messages))]

    def remember_sent(self, message: JSONDict) -> None:
        self.sent[message["message_id"]] = message
        if len(self.sent) > self.history:
            del self.sent[next(iter(self.sent))]

    def unread(self) -> list[SentMessage]:
        first = self.event_count - len(self.events)
        return list(itertools.islice(self.events, max(self.cursor, first) - first, None))

    def unread_count(self) -> int:
        return self.event_count - max(self.cursor, self.event_count - len(self.events))

    def consume(self, count: int) -> None:
        self.cursor = max(self.cursor, self.event_count - len(self.events)) + count


@dataclass(slots=True)
class Bucket:
    """Token bucket: ``rate`` sends per second, bursts of up to max(1, rate)."""

    rate: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        capacity = max(1.0, self.rate)
        self.tokens = min(capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


@dataclass(slots=True)
class Webhook:
    url: str
    secret: str | None
    max_connections: int
    task: asyncio.Task[None] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(frozen=True, slots=True)
class Query:
    update_id: int
    user_id: int
    message_id: int
    data: str
