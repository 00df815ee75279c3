"""Token buckets on a fake clock: nothing here really sleeps."""

from __future__ import annotations

import asyncio

import pytest

from delivery.rate_limit import KeyedBuckets, TokenBucket


class FakeClock:
    """A monotonic clock that moves only when a test moves it; sleeping records the wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)


def test_a_full_bucket_gives_its_burst_then_one_token_per_interval() -> None:
    clock = FakeClock()
    bucket = TokenBucket(25, clock=clock)
    assert [bucket.reserve() for _ in range(25)] == [0.0] * 25
    waits = [bucket.reserve() for _ in range(3)]
    assert waits == pytest.approx([0.04, 0.08, 0.12])


def test_tokens_come_back_with_time_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2, burst=4, clock=clock)
    for _ in range(4):
        assert bucket.reserve() == 0.0
    clock.now += 1.0  # two tokens back
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.5)
    clock.now += 3600  # capped at the burst, not an hour's worth
    assert bucket.is_full()
    assert [bucket.reserve() for _ in range(5)][-1] == pytest.approx(0.5)


async def test_acquire_paces_callers_first_come_first_served() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1, clock=clock, sleep=clock.sleep)
    await asyncio.gather(*(bucket.acquire() for _ in range(4)))
    # Four callers at the same instant, 1 per second: the first goes at once, the others wait
    # 1, 2 and 3 seconds, in the order they asked.
    assert clock.sleeps == pytest.approx([1.0, 2.0, 3.0])
    clock.now += 3.0
    assert bucket.reserve() == pytest.approx(1.0)  # the reservations were all used up


async def test_one_second_of_a_25_per_second_bucket_sends_at_most_50() -> None:
    """Burst (25) plus one second of refill (25): the global Telegram cap holds."""
    clock = FakeClock()
    bucket = TokenBucket(25, clock=clock)
    start = clock.now
    sent = 0
    while True:
        wait = bucket.reserve()
        if clock.now + wait > start + 1.0 + 1e-9:
            break
        clock.now += wait
        sent += 1
    assert sent == 50


def test_keyed_buckets_are_independent_per_key() -> None:
    clock = FakeClock()
    chats = KeyedBuckets(1, clock=clock)
    assert chats.bucket(1).reserve() == 0.0
    assert chats.bucket(2).reserve() == 0.0
    assert chats.bucket(1).reserve() == pytest.approx(1.0)
    assert chats.bucket(1) is chats.bucket(1)
    assert len(chats) == 2


def test_keyed_buckets_forget_idle_keys() -> None:
    clock = FakeClock()
    chats = KeyedBuckets(1, clock=clock, max_idle=3)
    for key in range(3):
        chats.bucket(key).reserve()
    assert len(chats) == 3
    clock.now += 10  # everyone refilled
    chats.bucket(99).reserve()
    assert len(chats) == 1  # the three idle ones went, the new one stays


def test_keyed_buckets_keep_keys_that_are_still_waiting() -> None:
    clock = FakeClock()
    chats = KeyedBuckets(1, clock=clock, max_idle=2)
    chats.bucket("busy").reserve()
    chats.bucket("busy").reserve()  # one reserved ahead
    chats.bucket("idle").reserve()
    clock.now += 1.5  # "idle" is full again, "busy" is not yet
    chats.bucket("new").reserve()
    assert chats.bucket("busy").reserve() > 0  # kept, with its reservation
    assert len(chats) == 2


@pytest.mark.parametrize(("rate", "burst"), [(0, None), (-1, None), (1, 0.5)])
def test_bad_rates_are_refused(rate: float, burst: float | None) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)
