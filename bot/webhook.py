"""Telegram webhook endpoint on our own aiohttp server (no tornado, one HTTP stack).

The answer is 2xx only once the update is committed to the inbox: Telegram sends it again
until then, so a crash between receiving and storing loses nothing. Any ``serve`` process can
take the call (a standby stores it too); the one that holds the receiving lease handles it.

The secret token is compared in constant time as the bytes received (a header may hold any);
a wrong one is 401, logged at most once a minute with a count of the others.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

from aiohttp import web

from bot.inbox import Inbox
from observability.log_limits import LogLimit

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def webhook_path(webhook_url: str) -> str:
    return urlsplit(webhook_url).path or "/"


def route(inbox: Inbox, webhook_url: str, secret: str | None) -> web.RouteDef:
    expected = (secret or "").encode()
    refusals = LogLimit()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode(errors="surrogateescape")
        if secret is not None and not hmac.compare_digest(given, expected):
            refusals.warning(
                log, "webhook-bad-secret", "Webhook call with a wrong secret token from %s",
                request.remote,
            )  # fmt: skip
            raise web.HTTPUnauthorized()
        try:
            data = await request.json()
        except (ValueError, web.RequestPayloadError):  # bad JSON, bad UTF-8, bad gzip
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise web.HTTPBadRequest(text="not a Telegram update")
        try:
            await inbox.receive([data])
        except Exception as exc:  # not stored: Telegram must send it again
            log.warning("Webhook update not stored (%s); Telegram will retry", type(exc).__name__)
            raise web.HTTPServiceUnavailable() from None
        return web.Response(text="ok")

    return web.post(webhook_path(webhook_url), receive)
