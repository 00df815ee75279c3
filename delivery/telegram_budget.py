"""Where the governor's overall tokens come from: this process alone, or a row all processes share.

On SQLite one process sends, and :class:`LocalBudget` is a token bucket in memory. On
PostgreSQL `serve` and any number of `worker` processes send for one bot token, and Telegram's
~30 messages a second are per bot, not per process: :class:`SharedBudget` keeps the bucket in
the ``telegram_budget`` row and each process *leases* a few tokens at a time (at most a fifth
of a second's worth) with one atomic ``UPDATE ... RETURNING``. A busy process takes what an
idle one leaves, so nobody has to split the rate by hand. Priorities reach across processes
too: notices and bulk may only lease what is above half the bucket, so a worker's broadcast
leaves the first tokens of every refill to `serve`'s replies. A 429 anywhere pauses the row,
and every process sees the pause at its next lease.

If the database does not answer, the process falls back to a bucket of its own at the full
rate (and says so): during an outage a flood wait is better than no replies at all.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Final, NamedTuple, Protocol

from delivery.rate_limit import Clock
from storage import telegram_budget
from storage.db import create_engine
from storage.models import Priority
from storage.types import AsyncEngine

__all__ = ["BURST_SECONDS", "Budget", "Grant", "LocalBudget", "SharedBudget", "burst_for"]

log = logging.getLogger(__name__)

#: A bucket holds this many seconds' worth of tokens (6 at 30/s): short bursts, no floods.
BURST_SECONDS: Final = 0.2
#: Notices and bulk leave this share of a shared bucket to replies.
RESERVE_FOR_REPLIES: Final = 0.5
#: Warn about an unreachable budget row at most this often.
WARN_EVERY_SECONDS: Final = 30.0


def burst_for(rate: float) -> float:
    return max(1.0, rate * BURST_SECONDS)


class Grant(NamedTuple):
    """Tokens granted now; if none, when to ask again; a flood wait still running, if any."""

    granted: int
    retry_in: float = 0.0
    paused_for: float = 0.0


class Budget(Protocol):
    """The overall bucket the governor draws from."""

    @property
    def burst(self) -> float: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def take(self, want: int, priority: int) -> Grant:
        """Up to ``want`` tokens now (``priority`` may hold some back for better ones)."""
        ...

    async def pause(self, seconds: float) -> None:
        """Tell the other processes (if any) about a flood wait."""
        ...


def _seconds_until(tokens: float, needed: float, rate: float) -> float:
    """Seconds until a bucket holding ``tokens`` has ``needed`` (at least a few milliseconds)."""
    return max(0.002, (needed - tokens) / rate)


class LocalBudget:
    """A token bucket in this process: ``rate`` a second, :func:`burst_for` saved up."""

    def __init__(self, rate: float, *, clock: Clock = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = float(rate)
        self._burst = burst_for(rate)
        self._clock = clock
        self._tokens = self._burst
        self._stamp = clock()

    @property
    def burst(self) -> float:
        return self._burst

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def take_now(self, want: int) -> Grant:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + max(0.0, now - self._stamp) * self.rate)
        self._stamp = max(self._stamp, now)
        granted = max(0, min(want, math.floor(self._tokens + 1e-9)))  # 0.999... is a token
        self._tokens -= granted
        if granted:
            return Grant(granted)
        return Grant(0, _seconds_until(self._tokens, 1.0, self.rate))

    async def take(self, want: int, priority: int) -> Grant:
        return self.take_now(want)

    async def pause(self, seconds: float) -> None:
        return None


class SharedBudget:
    """The ``telegram_budget`` row of bot ``bot_id`` (PostgreSQL), leased a few tokens at a time.

    It uses its own small connection pool, so a lease never queues behind the handlers'
    database work.
    """

    def __init__(
        self, database_url: str, bot_id: int, rate: float, *, clock: Clock = time.monotonic
    ) -> None:
        self.database_url = database_url
        self.bot_id = bot_id
        self.rate = float(rate)
        self._burst = burst_for(rate)
        self._clock = clock
        self._engine: AsyncEngine | None = None
        self._fallback = LocalBudget(rate, clock=clock)
        self._warned_at: float | None = None

    @property
    def burst(self) -> float:
        return self._burst

    async def open(self) -> None:
        if self._engine is None:
            self._engine = create_engine(self.database_url, pool_size=1, max_overflow=1)
        try:
            async with self._engine.begin() as connection:
                await telegram_budget.ensure(connection, self.bot_id, self._burst)
        except Exception as error:
            self._warn("open", error)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def take(self, want: int, priority: int) -> Grant:
        reserve = 0.0 if priority <= Priority.REPLY else self._burst * RESERVE_FOR_REPLIES
        # Lower priorities lease in larger slices: fewer round trips while a broadcast runs.
        slice_ = 1 if priority <= Priority.REPLY else max(1, math.floor(self._burst - reserve))
        try:
            if self._engine is None:
                await self.open()
            assert self._engine is not None
            async with self._engine.begin() as connection:
                lease = await telegram_budget.lease(
                    connection,
                    self.bot_id,
                    want=want,
                    rate=self.rate,
                    burst=self._burst,
                    reserve=reserve,
                )
        except Exception as error:
            self._warn("lease", error)
            return self._fallback.take_now(want)
        if lease.paused_for > 0:
            return Grant(lease.granted, lease.paused_for, lease.paused_for)
        if lease.granted:
            return Grant(lease.granted)
        needed = min(want, slice_) + reserve
        return Grant(0, _seconds_until(lease.tokens, needed, self.rate))

    async def pause(self, seconds: float) -> None:
        if self._engine is None:
            return
        async with self._engine.begin() as connection:
            await telegram_budget.pause(connection, self.bot_id, seconds)

    def _warn(self, what: str, error: Exception) -> None:
        now = self._clock()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "telegram budget: %s failed (%s); pacing this process alone at %.0f/s",
                what,
                type(error).__name__,
                self.rate,
            )
