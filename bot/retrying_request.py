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

ATTEMPTS: Final = 5  # sends that fail (5xx, connection errors) before the error surfaces
BASE_DELAY: Final = 0.25  # seconds; doubled after each failure
MAX_WAIT: Final = 30.0  # never wait longer than this for one retry (a longer flood wait fails)
MAX_TOTAL_WAIT: Final = 60.0  # nor longer than this for one message, flood waits included


def retry_after(payload: bytes) -> float | None:
    try:
        body = json.loads(payload)
        value = body["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


class RetryingRequest(HTTPXRequest):
    """A 429 is Telegram saying "later", not a failure: flood waits do not use up the attempts
    (a burst of 429s and a 502 together must not lose a reply), only the total wait bounds them.
    """

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        delay = BASE_DELAY
        failures = 0
        waited = 0.0
        while True:
            error: NetworkError | None = None
            try:
                code, payload = await super().do_request(url, method, *args, **kwargs)
            except TimedOut as timed_out:
                if "Pool timeout" not in str(timed_out):  # only "not sent" is safe to resend
                    raise
                error, wait = timed_out, delay
            except NetworkError as network_error:
                error, wait = network_error, delay
            else:
                if code == 429:
                    wait = retry_after(payload) or delay
                elif 500 <= code <= 599:
                    wait = delay
                else:
                    return code, payload
            failed = error is not None or code != 429
            failures += failed
            if failures >= ATTEMPTS or wait > MAX_WAIT or waited + wait > MAX_TOTAL_WAIT:
                if error is not None:
                    raise error
                return code, payload
            log.info("Bot API %s: retry in %.2f s", url.rsplit("/", 1)[-1], wait)
            await asyncio.sleep(wait)
            waited += wait
            if failed:
                delay *= 2
