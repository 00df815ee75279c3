"""Long polling that confirms to Telegram only what the inbox has stored.

python-telegram-bot's ``Updater`` moves the getUpdates offset past a batch as soon as it has
queued it, so a crash loses the batch, and one update it cannot parse makes it fetch the same
batch again and again. This loop reads the raw JSON instead, stores every update in the inbox
(which parses, hands over or quarantines) and asks for ``offset = last stored + 1`` only then:
Telegram drops updates when a later offset is asked for, never before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlencode

from telegram import Bot
from telegram.error import NetworkError
from telegram.request import HTTPXRequest

from bot.inbox import Inbox

__all__ = ["poll_updates"]

log = logging.getLogger(__name__)

BASE_DELAY: Final = 0.5
MAX_DELAY: Final = 30.0
#: How much longer than the long poll itself an answer may take before it counts as lost.
READ_MARGIN: Final = 10.0


async def poll_updates(
    bot: Bot,
    inbox: Inbox,
    *,
    long_poll_seconds: int,
    allowed_updates: Sequence[str],
    stop: asyncio.Event,
) -> None:
    """Fetch, store, confirm, until ``stop`` is set. A long poll in progress is cut (what it
    fetched is fetched again); a store in progress is finished (a transaction is not cut)."""
    request = HTTPXRequest(connection_pool_size=1, read_timeout=long_poll_seconds + READ_MARGIN)
    await request.initialize()
    offset: int | None = None
    delay = BASE_DELAY
    try:
        while True:
            params: dict[str, Any] = {
                "timeout": long_poll_seconds,
                "allowed_updates": json.dumps(list(allowed_updates)),
            }
            if offset is not None:
                params["offset"] = offset
            poll = asyncio.ensure_future(
                _poll_once(request, f"{bot.base_url}/getUpdates?{urlencode(params)}")
            )
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if stop.is_set():
                poll.cancel()
                await asyncio.gather(poll, return_exceptions=True)
                return
            wait = poll.result()
            if isinstance(wait, list):
                if wait:
                    try:
                        await inbox.receive(wait)
                    except Exception as exc:  # not stored: not confirmed, fetched again
                        log.warning("inbox: could not store updates (%s)", type(exc).__name__)
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), delay)
                        delay = min(delay * 2, MAX_DELAY)
                        continue
                    offset = max(u["update_id"] for u in wait) + 1
                delay = BASE_DELAY
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait if wait > 0 else delay)
            delay = min(delay * 2, MAX_DELAY)
    finally:
        await request.shutdown()


async def _poll_once(request: HTTPXRequest, url: str) -> list[dict[str, Any]] | float:
    """The updates fetched, or the seconds to wait before the next try (0: back off)."""
    try:
        code, payload = await request.do_request(url, "POST")
    except NetworkError as exc:  # TimedOut included
        log.warning("getUpdates failed (%s); trying again", type(exc).__name__)
        return 0.0
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        log.warning("getUpdates: HTTP %d with a body that is not JSON", code)
        return 0.0
    if code == 200 and body.get("ok") is True and isinstance(body.get("result"), list):
        return [u for u in body["result"] if isinstance(u, dict) and _has_id(u)]
    parameters = body.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    log.warning("getUpdates: HTTP %d %s", code, str(body.get("description", ""))[:200])
    if isinstance(retry_after, int | float) and retry_after > 0:
        return float(retry_after)
    return 0.0


def _has_id(update: dict[str, Any]) -> bool:
    return isinstance(update.get("update_id"), int)
