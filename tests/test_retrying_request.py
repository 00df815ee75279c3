"""bot.retrying_request: what is retried, how often, how long (the network is scripted)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

from bot.retrying_request import ATTEMPTS, RetryingRequest

OK = (200, b'{"ok": true, "result": true}')
BAD_GATEWAY = (502, b'{"ok": false, "error_code": 502, "description": "Bad Gateway"}')


def flood(seconds: int) -> tuple[int, bytes]:
    body = {"ok": False, "error_code": 429, "parameters": {"retry_after": seconds}}
    return 429, json.dumps(body).encode()


class Script:
    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes: Iterator[Any] = iter(outcomes)
        self.calls = 0
        self.waits: list[float] = []

    async def request(self, *_args: Any, **_kwargs: Any) -> tuple[int, bytes]:
        self.calls += 1
        outcome = next(self.outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[no-any-return]

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def scripted(monkeypatch: pytest.MonkeyPatch, outcomes: list[Any]) -> Script:
    script = Script(outcomes)
    monkeypatch.setattr(HTTPXRequest, "do_request", script.request)
    monkeypatch.setattr("asyncio.sleep", script.sleep)  # the waits are recorded, not slept
    return script


async def send() -> tuple[int, bytes]:
    return await RetryingRequest().do_request("https://api/bot1:x/sendMessage", "POST")


async def test_a_429_goes_back_at_once_to_the_governor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The governor pauses every send for retry_after; waiting here would hold one call only."""
    script = scripted(monkeypatch, [flood(1), OK])
    assert await send() == flood(1)
    assert script.calls == 1 and script.waits == []
    script = scripted(monkeypatch, [BAD_GATEWAY, flood(2), OK])
    assert await send() == flood(2)  # a 5xx first is retried; the 429 after it is not
    assert script.waits == [0.25]


async def test_failures_stop_after_the_attempts_with_backoff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = scripted(monkeypatch, [BAD_GATEWAY] * ATTEMPTS + [OK])
    assert await send() == BAD_GATEWAY
    assert script.waits == [0.25, 0.5, 1.0, 2.0]
    script = scripted(monkeypatch, [NetworkError("reset")] * ATTEMPTS + [OK])
    with pytest.raises(NetworkError):
        await send()
    assert script.calls == ATTEMPTS


async def test_read_timeouts_are_not_retried_pool_timeouts_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = scripted(monkeypatch, [TimedOut("Timed out"), OK])
    with pytest.raises(TimedOut):
        await send()  # the message may have arrived: never sent twice
    assert script.calls == 1
    script = scripted(monkeypatch, [TimedOut("Pool timeout: all connections busy"), OK])
    assert await send() == OK  # not sent at all: safe to send
