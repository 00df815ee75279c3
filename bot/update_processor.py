"""Run different chats' updates concurrently, each chat's in order, and persist after each.

python-telegram-bot's conversations need per-chat order, so its plain `concurrent_updates`
is unsafe for us (PTB #3509). This processor takes one lock per chat: updates of one chat
queue behind each other, other chats go on. (python-telegram-bot takes a concurrency slot
before we see the update, so a flood from one chat can hold many slots while it waits on its
lock; size `max_concurrent_updates` generously.) After every update it writes the changed
conversation states and user/chat data through to the database, then marks the update
handled in the inbox (bot/inbox.py), so a `kill -9` loses no handled step and no update:
what was not marked is handled again at the next start. Then it forgets the update's
user/chat data if it is empty (bot/idle_state.py): only live dialogues stay in memory.

Handled again, a step would be applied to the state it produced (the answer to one question
taken as the answer to the next) if its effects were committed and only its mark was lost. So
while a citizen is in a dialogue, the id of the last update handled is kept in their
``user_data`` (HANDLED_KEY): python-telegram-bot hands it to the persistence with the
conversation state in one call, which commits them together, and an update at or below it is
skipped as done. Outside a dialogue the key is dropped (no row is kept per citizen for it);
a one-step command handled twice only answers twice.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.idle_state import forget_empty_data
from bot.inbox import Inbox
from bot.replay import handling
from observability import UPDATE_SECONDS, UPDATES

log = logging.getLogger(__name__)

HANDLED_KEY = "handled_update"  # in user_data while a dialogue lives: see the module


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
        self.inbox: Inbox | None = None

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
            await self._handle(update, coroutine)
            return
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = _ChatLock()
        entry.users += 1
        try:
            async with entry.lock:
                await self._handle(update, coroutine)
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[key]

    async def _handle(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._was_handled(update):
            if inspect.iscoroutine(coroutine):
                coroutine.close()
            log.info("update %s was handled before a restart; skipped", _update_id(update))
            if self.inbox is not None:
                await self.inbox.done(update)
            return
        if self.inbox is not None:
            self.inbox.begin(update)
        try:
            await self._run(update, coroutine)
            self._remember_handled(update)
            await self._persist()
            self._forget_empty(update)
        except Exception as exc:
            if self.inbox is not None:
                await self.inbox.failed(update, exc)
            raise
        if self.inbox is not None:
            await self.inbox.done(update)

    async def _run(self, update: object, coroutine: Awaitable[Any]) -> None:
        """The handlers, with their replies noted in the inbox (or held back: bot/replay.py)."""
        if self.inbox is None or not isinstance(update, Update):
            await coroutine
            return
        sent = self.inbox.replies_sent_before(update.update_id)
        if sent:
            log.info(
                "update %d: %d replies sent before a restart, held back if sent again",
                update.update_id,
                len(sent),
            )
        with handling(update.update_id, seen_before=sent, on_reply=self.inbox.replied):
            await coroutine

    def _dialogue_data(self, update: object) -> dict[Any, Any] | None:
        if self.application is None or not isinstance(update, Update):
            return None
        user = update.effective_user
        return self.application.user_data.get(user.id) if user is not None else None

    def _was_handled(self, update: object) -> bool:
        """A replay whose effects were committed (an update queued again is no replay)."""
        if self.inbox is None or not self.inbox.is_replay(_update_id(update)):
            return False
        data = self._dialogue_data(update)
        last = data.get(HANDLED_KEY) if data is not None else None
        return isinstance(last, int) and last >= _update_id(update)

    def _remember_handled(self, update: object) -> None:
        data = self._dialogue_data(update)
        if data is None or self.application is None:
            return
        if any(key != HANDLED_KEY for key in data):
            data[HANDLED_KEY] = _update_id(update)
        elif data.pop(HANDLED_KEY, None) is None:
            return
        assert isinstance(update, Update) and update.effective_user is not None
        self.application.mark_data_for_update_persistence(user_ids=update.effective_user.id)

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


def _update_id(update: object) -> int:
    return update.update_id if isinstance(update, Update) else -1


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None
