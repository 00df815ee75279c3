"""The bot's HTTP layer to the Bot API, retrying what Telegram asks to be retried.

A reply sent from a handler goes straight to the Bot API (only notices go through the outbox),
so a 5xx, a 429 flood wait or a dropped connection would lose it. This request retries those:
429 after Telegram's ``retry_after``, 5xx and connection errors with exponential backoff, a few
times within a bounded wait; then the error surfaces as before. A timeout while waiting for an
answer is not retried: the message may have been delivered, and a duplicate is worse than the
error message the citizen then gets.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Final

from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

ATTEMPTS: Final = 5
BASE_DELAY: Final = 0.25  # seconds; doubled after each failure
MAX_WAIT: Final = 30.0  # never wait longer than this for one retry (a longer flood wait fails)


def retry_after(payload: bytes) -> float | None:
    try:
        body = json.loads(payload)
        value = body["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


class RetryingRequest(HTTPXRequest):
    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        delay = BASE_DELAY
        for attempt in range(1, ATTEMPTS + 1):
            last = attempt == ATTEMPTS
            try:
                code, payload = await super().do_request(url, method, *args, **kwargs)
            except TimedOut as error:
                if "Pool timeout" not in str(error) or last:  # only "not sent" is safe to resend
                    raise
                wait = delay
            except NetworkError:
                if last:
                    raise
                wait = delay
            else:
                if code == 429:
                    wait = retry_after(payload) or delay
                elif 500 <= code <= 599:
                    wait = delay
                else:
                    return code, payload
                if last or wait > MAX_WAIT:
                    return code, payload
            log.info("Bot API %s: retry %d in %.2f s", url.rsplit("/", 1)[-1], attempt, wait)
            await asyncio.sleep(wait)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover
