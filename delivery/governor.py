"""The one pacing point for everything the bot sends to Telegram.

Every Bot API call of the bot passes :class:`Governor`, python-telegram-bot's ``BaseRateLimiter``
hook (``ApplicationBuilder().rate_limiter(...)`` for the bot, ``ExtBot(rate_limiter=...)`` for a
worker): replies from handlers, edits, photos, outbox notices and broadcasts alike. Pacing only
the outbox was not pacing: 300 new citizens pressing /start at once drew 429 on 65 % of calls.

What Telegram allows (Bot FAQ, "My bot is hitting limits"): about **30 messages a second** for
the whole bot, and in one chat "avoid sending more than one message per second; we may allow
short bursts that go over this limit, but eventually you'll begin receiving 429 errors"; in a
group at most 20 messages a minute. Our choice:

* **Overall** ``rate`` (``TELEGRAM_GLOBAL_RATE``, 30/s) in a token bucket holding a fifth of a
  second's worth (6): never more than 36 messages in any second, and the bursts stay small
  enough that a late request cannot make up a flood. On PostgreSQL the processes of the bot
  draw this one budget from a shared row (:mod:`delivery.telegram_budget`).
* **Per private chat** ``TELEGRAM_PER_CHAT_RATE`` (1/s) with bursts of
  ``TELEGRAM_PER_CHAT_BURST`` (1) messages. The next message to a chat may go one interval after
  the previous one was *answered*, not sent, so a slow request cannot bunch two up on
  Telegram's side; and one chat's messages go one at a time, in order. We spend none of
  Telegram's unwritten burst tolerance by default because a 429 pauses every chat (below):
  a second message in a row costs its citizen one second, a flood wait would cost everyone.
  Groups and channels (negative or ``@name`` ids): 20 a minute.
* **Priorities**: waiters are served from one priority queue, replies (``Priority.REPLY``, the
  default for any call without ``rate_limit_args``) before notices before bulk, oldest first
  within a priority. A call blocked only by its own chat's pacing does not hold up other chats.
* **429**: Telegram's ``retry_after`` pauses the whole governor (and, on PostgreSQL, every
  process of the bot), then the call is sent again at its place in the queue; flood waits are
  bounded per call (:data:`MAX_FLOOD_WAIT` each, :data:`MAX_TOTAL_FLOOD_WAIT` in all), after
  which the ``RetryAfter`` surfaces as before.

Which calls count: messages (``send*``, ``copy*``, ``forward*``, ``editMessage*``, ``stopPoll``)
take tokens. Callback and inline answers, chat actions and deletions are not messages and must
be quick (the client shows a spinner): they take no tokens but wait out a pause. Everything else
(getUpdates, getMe, setWebhook, setMyCommands, getChat ...) passes straight through; a 429 on one
of those is waited out for that call alone.

A call passes :class:`Pace` as ``rate_limit_args``: its priority and, for the outbox, a deadline
and a stop event; a call still waiting then raises :class:`TurnNotGranted` (nothing was sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import time
import warnings
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any, Final

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from delivery.rate_limit import Clock, Sleep
from delivery.telegram_budget import Budget, LocalBudget
from observability import TELEGRAM_FLOOD_WAITS, TELEGRAM_TURN_SECONDS
from storage.models import Priority

__all__ = [
    "MAX_FLOOD_WAIT",
    "MAX_TOTAL_FLOOD_WAIT",
    "Governor",
    "Lane",
    "Pace",
    "TurnNotGranted",
    "lane_of",
    "retry_after_seconds",
]

log = logging.getLogger(__name__)

MAX_FLOOD_WAIT: Final = 30.0  # a longer retry_after is not waited for by the call (it surfaces)
MAX_TOTAL_FLOOD_WAIT: Final = 60.0  # nor more than this in all for one call
GROUP_RATE: Final = 20 / 60  # messages a second to one group or channel
#: Chats remembered before fully rested ones are forgotten (their pacing is then moot).
MAX_CHATS: Final = 10_000

# PTB 22 warns, from inside the RetryAfter it raises, that `retry_after` will become a
# timedelta; retry_after_seconds() already takes both, so the warning says nothing to us.
warnings.filterwarnings(
    "ignore", message=r".*attribute `retry_after`", category=PTBDeprecationWarning
)

Callback = Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]]


def retry_after_seconds(error: RetryAfter) -> float:
    """``RetryAfter.retry_after`` in seconds, whichever type this PTB version returns."""
    with warnings.catch_warnings():
        # PTB 22 returns an int unless PTB_TIMEDELTA is set, and warns that this will change.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TurnNotGranted(TelegramError):
    """The call gave up waiting (its deadline passed, or it was told to stop): not sent."""


@dataclass(frozen=True, eq=False, slots=True)
class Pace:
    """``rate_limit_args`` of a call: how urgent it is and how long it may wait for its turn.

    ``deadline`` is on the governor's clock (``time.monotonic`` in production).
    """

    priority: int = Priority.REPLY
    deadline: float | None = None
    abandon: asyncio.Event | None = None


DEFAULT_PACE: Final = Pace()


class Lane(Enum):
    MESSAGE = "message"  # counted: overall and per chat
    LIGHT = "light"  # not a message: no tokens, but waits out a pause
    RAW = "raw"  # not paced at all


_LIGHT: Final = frozenset(
    {
        "answercallbackquery",
        "answerinlinequery",
        "answerwebappquery",
        "answerprecheckoutquery",
        "answershippingquery",
        "sendchataction",
        "deletemessage",
        "deletemessages",
        "setmessagereaction",
    }
)
_MESSAGE_PREFIXES: Final = ("send", "copymessage", "forwardmessage", "editmessage")
_MESSAGE_EXTRA: Final = frozenset({"stoppoll", "stopmessagelivelocation"})


def lane_of(endpoint: str) -> Lane:
    name = endpoint.lower()
    if name in _LIGHT:
        return Lane.LIGHT
    if name.startswith(_MESSAGE_PREFIXES) or name in _MESSAGE_EXTRA:
        return Lane.MESSAGE
    return Lane.RAW


def _chat_key(data: dict[str, Any]) -> Hashable | None:
    chat_id = data.get("chat_id")
    if chat_id is None:
        return None  # e.g. an inline message: only the overall budget applies
    with contextlib.suppress(TypeError, ValueError):
        return int(chat_id)
    return str(chat_id)


def _priority_name(priority: int) -> str:
    if priority <= Priority.REPLY:
        return "reply"
    return "notice" if priority <= Priority.NOTICE else "bulk"


class _Chat:
    """One chat's pacing: its own token bucket, its waiters, and what it is doing now."""

    __slots__ = ("burst", "busy", "key", "offered", "queue", "rate", "stamp", "timer", "tokens")

    def __init__(self, key: Hashable, rate: float, burst: float, now: float) -> None:
        self.key = key
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now
        self.queue: list[_Waiter] = []
        self.offered = False  # its best waiter sits in the ready queue
        self.busy = False  # a call is in flight (no refill until it is answered)
        self.timer = False  # waiting for its bucket to refill

    def refill(self, now: float) -> None:
        if not self.busy:
            self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
            self.stamp = max(self.stamp, now)

    def rested(self, now: float) -> bool:
        self.refill(now)
        return not (self.queue or self.offered or self.busy or self.timer) and (
            self.tokens >= self.burst
        )


@dataclass(eq=False, slots=True)
class _Waiter:
    priority: int
    seq: int
    chat: _Chat | None
    future: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    granted: bool = False  # holds its chat's turn until _done()

    def __lt__(self, other: _Waiter) -> bool:
        return (self.priority, self.seq) < (other.priority, other.seq)


class Governor(BaseRateLimiter[Pace]):
    """A priority queue of waiters served by an overall token bucket and per-chat buckets."""

    def __init__(
        self,
        rate: float = 30.0,
        *,
        per_chat_rate: float = 1.0,
        per_chat_burst: float = 1.0,
        budget: Budget | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or per_chat_rate <= 0:
            raise ValueError("rates must be positive")
        if per_chat_burst < 1:
            raise ValueError(f"per_chat_burst must be at least 1, not {per_chat_burst}")
        self.rate = float(rate)
        self.per_chat_rate = float(per_chat_rate)
        self.per_chat_burst = float(per_chat_burst)
        self.budget: Budget = budget or LocalBudget(rate, clock=clock)
        self._clock = clock
        self._sleep = sleep
        self._seq = itertools.count()
        self._chats: dict[Hashable, _Chat] = {}
        self._ready: list[_Waiter] = []  # heap: at most one waiter per chat
        self._timers: list[tuple[float, int, _Chat]] = []  # heap: chats waiting to refill
        self._tokens = 0.0  # overall tokens drawn from the budget, not yet spent
        self._paused_until = 0.0
        self._changed: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        #: 429s received since start (all lanes).
        self.flood_waits = 0

    # ----------------------------------------------------------------- lifecycle

    async def initialize(self) -> None:
        await self.budget.open()

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        waiting = self._ready + [w for chat in self._chats.values() for w in chat.queue]
        for waiter in waiting:
            if not waiter.future.done():
                waiter.future.set_exception(TurnNotGranted("the bot is shutting down"))
        self._ready.clear()
        self._chats.clear()
        self._timers.clear()
        await self.budget.close()

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._changed = asyncio.Event()
            self._task = asyncio.create_task(self._serve(), name="telegram-governor")

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()

    # ----------------------------------------------------------------- the hook

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Pace | None,
    ) -> bool | JSONDict | list[JSONDict]:
        lane = lane_of(endpoint)
        pace = rate_limit_args or DEFAULT_PACE
        seq = next(self._seq)  # kept across flood waits: a retried call keeps its place
        flood_waited = 0.0
        while True:
            waiter: _Waiter | None = None
            if lane is Lane.MESSAGE:
                waiter = await self._turn(_chat_key(data), pace, seq)
            elif lane is Lane.LIGHT:
                await self._unpaused()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                wait = retry_after_seconds(error)
                self.flood_waits += 1
                TELEGRAM_FLOOD_WAITS.inc()
                if lane is not Lane.RAW:
                    await self._pause(wait)
                if wait > MAX_FLOOD_WAIT or flood_waited + wait > MAX_TOTAL_FLOOD_WAIT:
                    raise
                log.info("Telegram flood wait on %s: %.1f s, then again", endpoint, wait)
                if lane is Lane.RAW:
                    await self._sleep(wait)
                flood_waited += wait
            finally:
                if waiter is not None:
                    self._done(waiter)

    # ----------------------------------------------------------------- waiting for a turn

    async def _turn(self, key: Hashable | None, pace: Pace, seq: int) -> _Waiter:
        """Queue the call and wait until it may be sent; the waiter must be ``_done`` after."""
        self._ensure_running()
        chat = self._chat(key) if key is not None else None
        waiter = _Waiter(pace.priority, seq, chat)
        started = self._clock()
        self._enqueue(waiter)
        try:
            await self._granted(waiter, pace)
        except BaseException:
            waiter.future.cancel()  # the queue drops it
            self._done(waiter)  # if it was granted meanwhile: nobody will send, free the chat
            raise
        TELEGRAM_TURN_SECONDS.labels(_priority_name(pace.priority)).observe(self._clock() - started)
        return waiter

    async def _granted(self, waiter: _Waiter, pace: Pace) -> None:
        if pace.deadline is None and pace.abandon is None:
            await waiter.future
            return
        waits: list[asyncio.Future[Any]] = [waiter.future]
        if pace.abandon is not None:
            waits.append(asyncio.ensure_future(pace.abandon.wait()))
        if pace.deadline is not None:
            waits.append(
                asyncio.ensure_future(self._sleep(max(0.0, pace.deadline - self._clock())))
            )
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for other in waits[1:]:
                other.cancel()
        if not waiter.future.done():
            raise TurnNotGranted("gave up waiting for a turn to send")

    async def _unpaused(self) -> None:
        while (left := self._paused_until - self._clock()) > 0:
            await self._sleep(left)

    async def _pause(self, seconds: float) -> None:
        until = self._clock() + seconds
        if until > self._paused_until:
            log.warning("Telegram asked to wait %.1f s: every send pauses", seconds)
            self._paused_until = until
            try:
                await self.budget.pause(seconds)
            except Exception as error:  # the shared pause is a courtesy to the other processes
                log.warning("could not share the flood wait: %s", type(error).__name__)
        self._wake()

    # ----------------------------------------------------------------- the queue

    def _chat(self, key: Hashable) -> _Chat:
        chat = self._chats.get(key)
        if chat is None:
            now = self._clock()
            if len(self._chats) >= MAX_CHATS:
                for old in [k for k, c in self._chats.items() if c.rested(now)]:
                    del self._chats[old]
            group = (isinstance(key, int) and key < 0) or isinstance(key, str)
            rate = GROUP_RATE if group else self.per_chat_rate
            burst = 1.0 if group else self.per_chat_burst
            chat = self._chats[key] = _Chat(key, rate, burst, now)
        return chat

    def _enqueue(self, waiter: _Waiter) -> None:
        chat = waiter.chat
        if chat is None:
            heapq.heappush(self._ready, waiter)
            self._wake()
            return
        heapq.heappush(chat.queue, waiter)
        self._offer(chat, self._clock())

    def _offer(self, chat: _Chat, now: float) -> None:
        """Put the chat's best waiter in the ready queue, or set a timer for its bucket."""
        if chat.offered or chat.busy or chat.timer:
            return
        while chat.queue and chat.queue[0].future.done():
            heapq.heappop(chat.queue)  # gave up while waiting
        if not chat.queue:
            return
        chat.refill(now)
        if chat.tokens >= 1.0:
            chat.offered = True
            heapq.heappush(self._ready, heapq.heappop(chat.queue))
        else:
            chat.timer = True
            due = now + (1.0 - chat.tokens) / chat.rate
            heapq.heappush(self._timers, (due, next(self._seq), chat))
        self._wake()

    def _done(self, waiter: _Waiter) -> None:
        """The call was answered (or failed): the chat's pacing restarts from now."""
        if not waiter.granted:
            return
        waiter.granted = False
        chat = waiter.chat
        if chat is None:
            return
        chat.busy = False
        chat.stamp = self._clock()
        self._offer(chat, chat.stamp)

    def _grant(self, waiter: _Waiter) -> None:
        chat = waiter.chat
        if waiter.future.done():  # gave up while ready: the chat's next waiter may go
            if chat is not None:
                chat.offered = False
                self._offer(chat, self._clock())
            return
        self._tokens -= 1.0
        if chat is not None:
            chat.refill(self._clock())
            chat.tokens -= 1.0
            chat.offered = False
            chat.busy = True
        waiter.granted = True
        waiter.future.set_result(None)

    # ----------------------------------------------------------------- the server

    async def _serve(self) -> None:
        changed = self._changed
        assert changed is not None
        while True:
            changed.clear()
            try:
                await self._step(changed)
            except Exception:  # a bug must not leave every sender waiting forever
                log.exception("telegram governor: a step failed")
                await self._sleep(0.1)

    async def _step(self, changed: asyncio.Event) -> None:
        """Grant one turn, or wait for the next thing that could make one possible."""
        now = self._clock()
        while self._timers and self._timers[0][0] <= now:
            _, _, chat = heapq.heappop(self._timers)
            chat.timer = False
            self._offer(chat, now)
        while self._ready and self._ready[0].future.done():
            self._grant(heapq.heappop(self._ready))  # drops it, frees its chat
        if (pause := self._paused_until - now) > 0:
            await self._sleep(pause)
            return
        if not self._ready:
            await self._idle(changed, self._timers[0][0] - now if self._timers else None)
            return
        if self._tokens < 1.0:
            want = min(len(self._ready), self.budget.burst)
            lease = await self.budget.take(max(1, math.floor(want)), self._ready[0].priority)
            self._tokens += lease.granted
            if lease.paused_for > 0:
                self._paused_until = max(self._paused_until, self._clock() + lease.paused_for)
                return
            if self._tokens < 1.0:
                await self._sleep(lease.retry_in)
                return
            if self._paused_until > self._clock():
                return  # a 429 came in meanwhile
        self._grant(heapq.heappop(self._ready))

    async def _idle(self, changed: asyncio.Event, at_most: float | None) -> None:
        """Until something changes (a waiter came, a call was answered) or ``at_most`` s."""
        if changed.is_set():
            return
        if at_most is None:
            await changed.wait()
            return
        woken = asyncio.ensure_future(changed.wait())
        slept = asyncio.ensure_future(self._sleep(at_most))
        try:
            await asyncio.wait([woken, slept], return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            slept.cancel()
