"""Run different chats' updates concurrently, each chat's in order, and persist after each.

python-telegram-bot's conversations need per-chat order, so its plain `concurrent_updates`
is unsafe for us (PTB #3509). This processor takes one lock per chat: updates of one chat
queue behind each other, other chats go on. (python-telegram-bot takes a concurrency slot
before we see the update, so a flood from one chat can hold many slots while it waits on its
lock; size `max_concurrent_updates` generously.) After every update it writes the changed
conversation states and user/chat data through to the database, so a `kill -9` loses no
handled step, then forgets the update's user/chat data if it is empty (bot/idle_state.py).
It does lose the updates fetched but not yet handled: python-telegram-bot confirms a batch
to Telegram (the next getUpdates offset) as soon as it has queued it, so Telegram does not
deliver those again; the citizen sees no answer and repeats the action
(tests/test_fault_drills.py counts them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.idle_state import forget_empty_data
from observability import UPDATE_SECONDS, UPDATES

log = logging.getLogger(__name__)


class _ChatLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, _ChatLock] = {}
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        started = time.perf_counter()
        outcome = "failed"
        try:
            await self._process(update, coroutine)
            outcome = "handled"
        finally:
            UPDATES.labels(outcome).inc()
            UPDATE_SECONDS.observe(time.perf_counter() - started)

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            await coroutine
            await self._persist()
            self._forget_empty(update)
            return
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = _ChatLock()
        entry.users += 1
        try:
            async with entry.lock:
                await coroutine
                await self._persist()
                self._forget_empty(update)
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[key]

    async def _persist(self) -> None:
        if self.application is not None and self.application.persistence is not None:
            await self.application.update_persistence()

    def _forget_empty(self, update: object) -> None:
        if self.application is not None:
            forget_empty_data(self.application, update)

    async def initialize(self) -> None:
        """Nothing to set up; the locks are created on demand."""

    async def shutdown(self) -> None:
        """Nothing to tear down; python-telegram-bot awaits running updates itself."""


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None
