"""Token buckets that pace outgoing messages: one global cap per channel, one per recipient.

A bucket holds up to ``burst`` tokens and gains ``rate`` tokens a second. Taking a token never
fails: when the bucket is empty the caller *reserves* the next token (the count goes below zero)
and sleeps until it is due. Reservations are handed out in call order, so waiters are served
first come, first served without a lock, and a burst of callers is spread evenly over time.

The clock and the sleep are injectable so that tests can run a fake clock without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

__all__ = ["Clock", "KeyedBuckets", "Sleep", "TokenBucket"]


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up (default: one second's worth)."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate)
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst}")
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = clock()

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return now

    def reserve(self) -> float:
        """Take a token now; the seconds to wait before using it (0 when one was ready)."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        """Wait for a token."""
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)

    def is_full(self) -> bool:
        """No reservations outstanding and nothing to refill: the bucket can be forgotten."""
        self._refill()
        return self._tokens >= self.burst


class KeyedBuckets:
    """One :class:`TokenBucket` per key (e.g. per Telegram chat), created on first use.

    Buckets that have refilled completely are dropped once there are more than ``max_idle``
    of them, so memory stays bounded however many recipients a broadcast reaches.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_idle: int = 10_000,
    ) -> None:
        TokenBucket(rate, burst)  # validate the arguments once, up front
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._max_idle = max_idle
        self._buckets: dict[Hashable, TokenBucket] = {}

    def bucket(self, key: Hashable) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_idle:
                self._forget_full()
            bucket = self._buckets[key] = TokenBucket(
                self.rate, self.burst, clock=self._clock, sleep=self._sleep
            )
        return bucket

    async def acquire(self, key: Hashable) -> None:
        await self.bucket(key).acquire()

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_full(self) -> None:
        for key in [key for key, bucket in self._buckets.items() if bucket.is_full()]:
            del self._buckets[key]
