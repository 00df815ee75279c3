"""The durable inbox: every update is stored before Telegram is told it arrived.

Receiving (:meth:`Inbox.receive`, called by the long poll and by the webhook route) commits
the new rows and only then returns, so the poll confirms the offset, and the webhook answers
2xx, past stored updates only. Handling reads from there: the updates this process stored are
handed to python-telegram-bot's ``update_queue`` at once; a sweep every few seconds hands over
what is pending and not in this process's hands (rows left by a crash or a stop, rows another
process's webhook route stored, updates whose handling failed). The update processor reports
back: :meth:`begin` counts an attempt, :meth:`done` marks the row handled once the persistence
write of its effects has returned, :meth:`failed` lets the sweep try again.

What can repeat after a crash: the updates in flight, handed over but not yet marked handled,
run again. The processor skips a dialogue step whose state was committed, and the replies the
Bot API accepted are noted here (:meth:`replied`), so a replay does not send them again
(bot/replay.py). What cannot: an update stored once is handled to the end once; a redelivered
``update_id`` is not stored again.

Poison is quarantined, not retried for ever: an update python-telegram-bot cannot parse at
once, one that failed or was in flight in ``max_attempts`` runs (it may be what crashes the
process) after that. It is kept with its error, logged once at WARNING (its id and kind only,
no personal data) and counted in ``/metrics``; everyone else goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any, Final

from telegram import Update

from chat.context import BotApplication
from observability import INBOX_QUARANTINED
from storage import inbox
from storage.db import utcnow
from storage.retry import retry_on_disconnect
from storage.types import AsyncSession, async_sessionmaker

__all__ = ["Inbox", "update_kind"]

log = logging.getLogger(__name__)

SWEEP_SECONDS: Final = 2.0
PRUNE_EVERY: Final = 3600.0  # seconds between two prunes of old handled rows
SWEEP_BATCH: Final = 500
#: Updates handed over and not finished, at most: a backlog (after a long outage) is parsed
#: and queued a slice at a time, so memory does not grow with it.
MAX_IN_HAND: Final = 2000
#: How long a finished update id is remembered, so that a sweep which read the row just
#: before it was marked handled does not hand it over again.
FINISHED_MEMORY: Final = 120.0

JSONDict = dict[str, Any]


def update_kind(payload: JSONDict) -> str:
    """The update's type (``message``, ``callback_query``, ...): safe to log."""
    return next((key for key in payload if key != "update_id"), "empty")


class _Marks:
    """Attempt counts and handled marks, group-committed: one transaction serves every update
    that finished meanwhile. :meth:`handled` returns once its mark is committed."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._started: list[int] = []
        self._replies: dict[int, tuple[str, ...]] = {}
        self._handled: list[int] = []
        self._done: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    def started(self, update_id: int) -> None:
        """Count an attempt (with the next commit; nobody waits for it)."""
        self._started.append(update_id)
        self._wake()

    async def replied(self, update_id: int, digests: tuple[str, ...]) -> None:
        """These replies to it (their digests) reached Telegram: returns once committed."""
        if len(digests) > len(self._replies.get(update_id, ())):
            self._replies[update_id] = digests
        await asyncio.shield(self._wake())

    async def handled(self, update_id: int) -> None:
        self._handled.append(update_id)
        await asyncio.shield(self._wake())

    def _wake(self) -> asyncio.Future[None]:
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        done = self._done
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="inbox-marks")
        return done

    async def _write(self) -> None:
        while self._started or self._replies or self._handled:
            started, self._started = self._started, []
            replies, self._replies = self._replies, {}
            handled, self._handled = self._handled, []
            done, self._done = self._done, None
            try:
                await retry_on_disconnect(partial(self._commit, started, replies, handled))
            except Exception as exc:
                if done is not None and not done.done():
                    done.set_exception(exc)
                    done.exception()  # retrieved: a mark nobody awaits is not an error
            else:
                if done is not None and not done.done():
                    done.set_result(None)

    async def _commit(
        self, started: list[int], replies: dict[int, tuple[str, ...]], handled: list[int]
    ) -> None:
        async with self._sessions.begin() as session:
            await inbox.count_attempt(session, started)
            await inbox.count_replies(session, replies)
            await inbox.mark_handled(session, handled, utcnow())

    async def flush(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)


class Inbox:
    """Stores what Telegram sends and feeds it to the Application (see the module)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        retention: timedelta = timedelta(hours=48),
        max_attempts: int = 3,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._retention = retention
        self._max_attempts = max_attempts
        self._sweep_seconds = sweep_seconds
        self._marks = _Marks(sessions)
        self._application: BotApplication | None = None
        #: update id → attempts so far, for the updates handed over and not yet finished
        self._in_flight: dict[int, int] = {}
        #: of those, the replies a dead process had already sent (see :meth:`replies_sent_before`)
        self._replies_before: dict[int, tuple[str, ...]] = {}
        #: of those, the ones a process that died had started (see :meth:`is_replay`)
        self._replays: set[int] = set()
        self._finished: dict[int, float] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # older pending rows not handed over yet: new ones wait for the sweep, in order
        self._backlog = True

    # ------------------------------------------------------------------ receiving

    async def receive(self, updates: Sequence[JSONDict]) -> None:
        """Store the updates (committed when this returns), then hand over the new ones."""
        valid = [u for u in updates if isinstance(u.get("update_id"), int)]
        if len(valid) < len(updates):
            log.warning("inbox: %d updates without an update_id ignored", len(updates) - len(valid))
        new_ids = await retry_on_disconnect(partial(self._store, valid))
        if self._application is not None and new_ids and not self._backlog:
            by_id = {u["update_id"]: u for u in valid}
            for update_id in new_ids:
                await self._hand_over(update_id, by_id[update_id], attempts=0, replies=())

    async def _store(self, updates: list[JSONDict]) -> list[int]:
        async with self._sessions.begin() as session:
            return await inbox.store(session, updates)

    # ------------------------------------------------------------------ handling

    async def start_handling(self, application: BotApplication) -> None:
        """Hand over what is pending (oldest first), then keep sweeping; call after
        ``application.start()``."""
        self._application = application
        self._stopping.clear()
        await self._sweep_once()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="inbox-sweep")

    async def stop_handling(self) -> None:
        """No more hand-overs; what is not handled stays pending for the next start."""
        self._application = None
        self._backlog = True
        if self._sweeper is not None:
            # told, not cancelled: a sweep cut inside its transaction could leave the
            # connection (SQLite's only one) holding the write lock
            self._stopping.set()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        await self._marks.flush()
        self._in_flight.clear()
        self._replies_before.clear()
        self._replays.clear()

    def begin(self, update: object) -> None:
        """The processor starts handling ``update``: one more attempt."""
        update_id = _update_id(update)
        if update_id in self._in_flight:
            self._in_flight[update_id] += 1
            self._marks.started(update_id)

    async def done(self, update: object) -> None:
        """Handled and its effects persisted: mark it so."""
        update_id = _update_id(update)
        if update_id not in self._in_flight:
            return
        await self._marks.handled(update_id)
        self._finish(update_id)

    async def failed(self, update: object, error: BaseException) -> None:
        """Handling raised: try again at a later sweep, or quarantine after the last attempt."""
        update_id = _update_id(update)
        attempts = self._in_flight.pop(update_id, None)
        self._replays.discard(update_id)
        self._replies_before.pop(update_id, None)
        if attempts is None:
            return
        if attempts >= self._max_attempts:
            reason = f"handling failed {attempts} times, last: {type(error).__name__}: {error}"
            await self._quarantine(update_id, "failed", reason)
            self._finished[update_id] = time.monotonic()
        else:
            log.warning(
                "inbox: update %d failed (%s); it will be tried again",
                update_id,
                type(error).__name__,
            )

    async def replied(self, update_id: int, digests: tuple[str, ...]) -> None:
        """The Bot API accepted another reply sent while handling this update (``digests``:
        all of them so far); the step waits until that is committed, so a crash just after
        leaves little doubt."""
        if update_id in self._in_flight:
            await self._marks.replied(update_id, digests)

    def is_replay(self, update_id: int) -> bool:
        """Whether a process that died had started handling this update (its effects may be
        committed). An update a handler queued again (chat/menu.py) is no replay."""
        return update_id in self._replays

    def replies_sent_before(self, update_id: int) -> tuple[str, ...]:
        """The replies to this update a process that died had already sent (their digests).

        Its state may not have been committed, so the update must run again; but the citizen
        has seen those replies (and may have answered them already), so they are not sent
        again: the same question twice would have its second answer taken for the next one.
        """
        return self._replies_before.get(update_id, ())

    def _finish(self, update_id: int) -> None:
        self._replays.discard(update_id)
        self._replies_before.pop(update_id, None)
        self._in_flight.pop(update_id, None)
        self._finished[update_id] = time.monotonic()

    async def _hand_over(
        self, update_id: int, payload: JSONDict, *, attempts: int, replies: tuple[str, ...]
    ) -> None:
        application = self._application
        if application is None or update_id in self._in_flight or update_id in self._finished:
            return
        if attempts >= self._max_attempts:
            reason = f"not finished in {attempts} attempts (the process stopped or crashed)"
            await self._quarantine(update_id, "failed", reason, kind=update_kind(payload))
            return
        try:
            update = Update.de_json(payload, application.bot)
        except Exception as exc:  # any parse failure: the update is unreadable, not our bug
            reason = f"unreadable: {type(exc).__name__}: {exc}"
            await self._quarantine(update_id, "unreadable", reason, kind=update_kind(payload))
            self._finished[update_id] = time.monotonic()
            return
        self._in_flight[update_id] = attempts
        if replies:
            self._replies_before[update_id] = replies
        if attempts:
            self._replays.add(update_id)
        await application.update_queue.put(update)

    async def _quarantine(
        self, update_id: int, reason: str, error: str, *, kind: str | None = None
    ) -> None:
        async def write() -> None:
            async with self._sessions.begin() as session:
                await inbox.quarantine(session, update_id, error, utcnow())

        await retry_on_disconnect(write)
        INBOX_QUARANTINED.labels(reason).inc()
        log.warning(
            "inbox: update %d%s quarantined (%s); the others go on",
            update_id,
            f" ({kind})" if kind else "",
            error.split(":", 1)[0] if reason == "unreadable" else reason,
        )

    # ------------------------------------------------------------------ the sweep

    async def _sweep_forever(self) -> None:
        pruned_at = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._sweep_seconds)
            if self._stopping.is_set():
                return
            try:
                await self._sweep_once()
                if time.monotonic() - pruned_at >= PRUNE_EVERY:
                    pruned_at = time.monotonic()
                    await self.prune()
            except Exception as exc:  # the database is away: the next sweep tries again
                log.warning("inbox: sweep failed (%s); trying again", type(exc).__name__)

    async def _sweep_once(self) -> None:
        now = time.monotonic()
        self._finished = {k: t for k, t in self._finished.items() if now - t < FINISHED_MEMORY}
        after: int | None = None
        while self._application is not None:
            async with self._sessions() as session:
                rows = await inbox.pending(session, limit=SWEEP_BATCH, after=after)
            for row in rows:
                if len(self._in_flight) >= MAX_IN_HAND:
                    self._backlog = True
                    return
                await self._hand_over(
                    row.update_id, row.payload, attempts=row.attempts, replies=row.reply_digests
                )
            if len(rows) < SWEEP_BATCH:
                self._backlog = False
                return
            after = rows[-1].update_id

    async def prune(self) -> int:
        """Delete handled rows past the retention period; how many."""
        async with self._sessions.begin() as session:
            removed = await inbox.prune_handled(session, utcnow() - self._retention)
        if removed:
            log.info("inbox: %d handled updates pruned", removed)
        return removed


def _update_id(update: object) -> int:
    return update.update_id if isinstance(update, Update) else -1
