"""The bot's HTTP layer to the Bot API, retrying what is safe to send again.

A reply sent from a handler goes straight to the Bot API (only notices go through the outbox),
so a 5xx or a dropped connection would lose it. This request retries those with exponential
backoff, a few times within a bounded wait; then the error surfaces as before. A timeout while
waiting for an answer is not retried: the message may have been delivered, and a duplicate is
worse than the error message the citizen then gets.

A 429 is not retried here: it goes straight back to python-telegram-bot, whose ``RetryAfter``
reaches the governor (delivery/governor.py), which pauses every send for ``retry_after`` and
then sends the call again. Retrying it here would hold one call back and let the others go on
hammering Telegram.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

ATTEMPTS: Final = 5  # sends that fail (5xx, connection errors) before the error surfaces
BASE_DELAY: Final = 0.25  # seconds; doubled after each failure


class RetryingRequest(HTTPXRequest):
    """5xx answers and connection errors are sent again after 0.25, 0.5, 1, 2 s; 429s are not."""

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        delay = BASE_DELAY
        failures = 0
        while True:
            error: NetworkError | None = None
            try:
                code, payload = await super().do_request(url, method, *args, **kwargs)
            except TimedOut as timed_out:
                if "Pool timeout" not in str(timed_out):  # only "not sent" is safe to resend
                    raise
                error = timed_out
            except NetworkError as network_error:
                error = network_error
            else:
                if not 500 <= code <= 599:
                    return code, payload  # a 429 included: the governor's to handle
            failures += 1
            if failures >= ATTEMPTS:
                if error is not None:
                    raise error
                return code, payload
            log.info("Bot API %s: retry in %.2f s", url.rsplit("/", 1)[-1], delay)
            await asyncio.sleep(delay)
            delay *= 2
