"""delivery.governor on a fake clock: priorities, per-chat pacing, the global pause on 429.

The Bot API call is a recording callback; time moves only when the test advances it, so
every figure below is exact.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import BadRequest, RetryAfter

from delivery.governor import Governor, Lane, Pace, TurnNotGranted, lane_of
from delivery.telegram_budget import LocalBudget, SharedBudget
from storage.models import Priority

REPLY, NOTICE, BULK = Priority.REPLY, Priority.NOTICE, Priority.BULK


class FakeClock:
    """``clock()`` and ``sleep()`` for the governor; ``advance()`` wakes sleepers in order."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._seq), future))
        await future

    @staticmethod
    async def settle() -> None:
        for _ in range(30):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        target = self.now + seconds
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= target + 1e-9:
            due, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue
            self.now = max(self.now, due)
            future.set_result(None)
            await self.settle()
        self.now = target
        await self.settle()


class Api:
    """The Bot API as the governor sees it: records (time, endpoint, chat, text) of each call."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[float, str, Any, str]] = []
        self.answer_after = 0.0  # seconds each call takes
        self.floods: dict[str, list[int]] = {}  # text -> retry_after answers, in turn

    def call(self, endpoint: str, **data: Any) -> Callable[[], Coroutine[Any, Any, bool]]:
        async def callback() -> bool:
            if self.answer_after:
                await self.clock.sleep(self.answer_after)
            text = str(data.get("text", ""))
            self.calls.append((self.clock.now, endpoint, data.get("chat_id"), text))
            waits = self.floods.get(text)
            if waits:
                raise RetryAfter(waits.pop(0))
            return True

        return callback

    def texts(self) -> list[str]:
        return [text for _, _, _, text in self.calls]

    def times(self, text: str) -> list[float]:
        return [at for at, _, _, said in self.calls if said == text]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> Api:
    return Api(clock)


def governor(clock: FakeClock, rate: float = 1000.0, **options: Any) -> Governor:
    return Governor(
        rate, budget=LocalBudget(rate, clock=clock), clock=clock, sleep=clock.sleep, **options
    )


def send(
    gov: Governor,
    api: Api,
    chat: int | None,
    text: str,
    pace: Pace | None = None,
    endpoint: str = "sendMessage",
) -> asyncio.Task[Any]:
    data: dict[str, Any] = {"text": text} if chat is None else {"chat_id": chat, "text": text}
    return asyncio.ensure_future(
        gov.process_request(api.call(endpoint, **data), (), {}, endpoint, data, pace)
    )


async def test_the_queue_serves_replies_before_notices_before_bulk_oldest_first(
    clock: FakeClock, api: Api
) -> None:
    gov = governor(clock, rate=1.0)  # one token a second, no burst
    first = send(gov, api, 1, "first", Pace(BULK))  # takes the only token at once
    await clock.advance(0)
    plan = [("b1", BULK), ("b2", BULK), ("n1", NOTICE), ("r1", REPLY), ("b3", BULK)]
    plan += [("r2", REPLY), ("n2", NOTICE)]
    tasks = [send(gov, api, 10 + n, text, Pace(p)) for n, (text, p) in enumerate(plan)]
    tasks.append(send(gov, api, 30, "r3"))  # no rate_limit_args: a handler's reply
    await clock.advance(0)
    assert api.texts() == ["first"]
    for _ in [*plan, None]:
        await clock.advance(1.0)
    await asyncio.gather(first, *tasks)
    assert api.texts() == ["first", "r1", "r2", "r3", "n1", "n2", "b1", "b2", "b3"]
    assert [at for at, *_ in api.calls] == [float(n) for n in range(9)]  # 1/s exactly
    await gov.shutdown()


async def test_one_chats_messages_are_spaced_from_the_previous_answer_others_go_on(
    clock: FakeClock, api: Api
) -> None:
    gov = governor(clock, per_chat_rate=1.0, per_chat_burst=1)
    api.answer_after = 0.25  # each call takes 250 ms to be answered
    tasks = [send(gov, api, 7, f"seven {n}") for n in range(3)]
    tasks += [send(gov, api, 8, "eight")]
    await clock.advance(5)
    await asyncio.gather(*tasks)
    seven = [at for at, _, chat, _ in api.calls if chat == 7]
    # answered at 0.25; the next may start one second later, and so on
    assert seven == [0.25, 1.5, 2.75]
    assert api.times("eight") == [0.25]  # chat 8 did not wait for chat 7
    assert [t for t in api.texts() if t.startswith("seven")] == ["seven 0", "seven 1", "seven 2"]
    await gov.shutdown()


async def test_a_short_burst_per_chat_when_allowed_then_one_a_second(
    clock: FakeClock, api: Api
) -> None:
    gov = governor(clock, per_chat_rate=1.0, per_chat_burst=3)
    tasks = [send(gov, api, 7, f"m{n}") for n in range(5)]
    await clock.advance(10)
    await asyncio.gather(*tasks)
    assert [at for at, *_ in api.calls] == [0.0, 0.0, 0.0, 1.0, 2.0]
    await gov.shutdown()


async def test_groups_get_twenty_a_minute(clock: FakeClock, api: Api) -> None:
    gov = governor(clock, per_chat_burst=3)
    tasks = [send(gov, api, -100123, f"g{n}") for n in range(3)]
    await clock.advance(10)
    await asyncio.gather(*tasks)
    assert [at for at, *_ in api.calls] == [0.0, 3.0, 6.0]
    await gov.shutdown()


async def test_a_429_pauses_every_chat_then_the_call_is_sent_again_first(
    clock: FakeClock, api: Api
) -> None:
    gov = governor(clock, rate=10.0)
    api.floods["flooded"] = [5]
    flooded = send(gov, api, 1, "flooded", Pace(BULK))
    await clock.advance(0)
    others = [send(gov, api, 100 + n, f"other {n}", Pace(BULK)) for n in range(3)]
    reply = send(gov, api, 200, "a reply")
    light = send(gov, api, 300, "", endpoint="answerCallbackQuery")
    raw = send(gov, api, None, "", endpoint="getMe")
    await clock.advance(4.9)
    assert [(t, e) for t, e, _, _ in api.calls] == [(0.0, "sendMessage"), (0.0, "getMe")]
    await clock.advance(1.0)
    await asyncio.gather(flooded, *others, reply, light, raw)
    after = [(at, endpoint, text) for at, endpoint, _, text in api.calls[2:]]
    assert (5.0, "answerCallbackQuery", "") in after  # not a message, but it waited too
    # the reply first (priority), then the flooded call (it keeps its place), then the others
    messages = [(round(at, 3), text) for at, endpoint, text in after if endpoint == "sendMessage"]
    assert messages == [
        (5.0, "a reply"),
        (5.0, "flooded"),
        (5.1, "other 0"),
        (5.2, "other 1"),
        (5.3, "other 2"),
    ]  # a burst of 0.2 s worth (2), then 10/s
    assert gov.flood_waits == 1
    await gov.shutdown()


async def test_flood_waits_are_bounded_then_the_error_surfaces(clock: FakeClock, api: Api) -> None:
    gov = governor(clock)
    api.floods["long"] = [45]
    long = send(gov, api, 1, "long")
    await clock.advance(0)
    with pytest.raises(RetryAfter):
        await long  # longer than one wait may be: not waited for ...
    behind = send(gov, api, 2, "behind")
    await clock.advance(44)
    assert api.texts() == ["long"]  # ... but Telegram's pause holds for everyone
    await clock.advance(1)
    await behind
    api.floods["again"] = [25, 25, 25]
    again = send(gov, api, 3, "again")
    await clock.advance(60)
    with pytest.raises(RetryAfter):
        await again  # 75 s in all is too long
    assert api.times("again") == [45.0, 70.0, 95.0]
    await gov.shutdown()


async def test_other_errors_pass_through_untouched(clock: FakeClock) -> None:
    gov = governor(clock)

    async def bad() -> bool:
        raise BadRequest("Chat not found")

    with pytest.raises(BadRequest):
        await gov.process_request(bad, (), {}, "sendMessage", {"chat_id": 5}, None)
    ok = FakeClock()
    assert ok() == 0.0
    await gov.shutdown()


async def test_a_deadline_or_a_stop_gives_up_waiting_and_sends_nothing(
    clock: FakeClock, api: Api
) -> None:
    gov = governor(clock, per_chat_rate=0.5)
    stop = asyncio.Event()
    first = send(gov, api, 9, "first")
    by_deadline = send(gov, api, 9, "late", Pace(BULK, deadline=1.0))
    by_stop = send(gov, api, 9, "stopped", Pace(BULK, abandon=stop))
    after = send(gov, api, 9, "after")
    await clock.advance(1.0)
    with pytest.raises(TurnNotGranted):
        await by_deadline
    stop.set()
    await clock.advance(0)
    with pytest.raises(TurnNotGranted):
        await by_stop
    await clock.advance(2.0)
    await asyncio.gather(first, after)
    assert api.calls == [(0.0, "sendMessage", 9, "first"), (2.0, "sendMessage", 9, "after")]
    await gov.shutdown()


async def test_a_cancelled_waiter_frees_its_place(clock: FakeClock, api: Api) -> None:
    gov = governor(clock, per_chat_rate=1.0)
    first = send(gov, api, 4, "first")
    cancelled = send(gov, api, 4, "cancelled")
    last = send(gov, api, 4, "last")
    await clock.advance(0.5)
    cancelled.cancel()
    await clock.advance(1.0)
    await asyncio.gather(first, last)
    assert api.calls == [(0.0, "sendMessage", 4, "first"), (1.0, "sendMessage", 4, "last")]
    await gov.shutdown()


async def test_shutdown_fails_the_waiters_instead_of_leaving_them_hanging(
    clock: FakeClock, api: Api
) -> None:
    gov = governor(clock, per_chat_rate=0.1)
    first = send(gov, api, 4, "first")
    waiting = send(gov, api, 4, "waiting")
    await clock.advance(1.0)
    await gov.shutdown()
    await first
    with pytest.raises(TurnNotGranted):
        await waiting
    assert api.texts() == ["first"]


def test_which_calls_are_messages() -> None:
    for endpoint in ("sendMessage", "sendPhoto", "editMessageText", "copyMessage", "stopPoll"):
        assert lane_of(endpoint) is Lane.MESSAGE, endpoint
    for endpoint in ("answerCallbackQuery", "sendChatAction", "deleteMessage"):
        assert lane_of(endpoint) is Lane.LIGHT, endpoint
    for endpoint in ("getUpdates", "getMe", "setWebhook", "setMyCommands", "getChat"):
        assert lane_of(endpoint) is Lane.RAW, endpoint


# --------------------------------------------------------------------------- shared budget


async def test_processes_share_one_budget_row_on_postgresql(
    engine: AsyncEngine, database_url: str, dialect_name: str
) -> None:
    if dialect_name != "postgresql":
        pytest.skip("on SQLite one process sends; the budget row is for PostgreSQL")
    rate = 20.0
    first = SharedBudget(database_url, 42, rate)
    second = SharedBudget(database_url, 42, rate)
    await first.open()
    await second.open()
    try:
        granted = [0, 0]
        loop = asyncio.get_running_loop()
        started = loop.time()
        while loop.time() - started < 1.0:
            for n, budget in enumerate((first, second)):
                grant = await budget.take(3, REPLY)
                granted[n] += grant.granted
            await asyncio.sleep(0.01)
        elapsed = loop.time() - started
        total = sum(granted)
        assert all(granted), granted  # both got some
        assert total <= rate * elapsed + first.burst + 1, (total, elapsed)
        assert total >= rate * 0.8, total

        # bulk leaves half the bucket to replies
        await asyncio.sleep(first.burst / rate)
        bulk = await first.take(10, BULK)
        assert bulk.granted <= first.burst / 2
        reply = await second.take(10, REPLY)
        assert reply.granted >= 1

        # a flood wait reported by one process pauses the other
        await first.pause(2.0)
        paused = await second.take(1, REPLY)
        assert paused.granted == 0 and 1.5 < paused.paused_for <= 2.0
    finally:
        await first.close()
        await second.close()


async def test_an_unreachable_budget_falls_back_to_this_process_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    budget = SharedBudget("postgresql+asyncpg://nobody@127.0.0.1:1/none", 42, 10.0)
    grant = await budget.take(1, REPLY)
    assert grant.granted == 1
    assert "pacing this process alone" in caplog.text
    await budget.close()
