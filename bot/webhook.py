"""Telegram webhook endpoint on our own aiohttp server (no tornado, one HTTP stack).

The answer is 2xx only once the update is committed to the inbox: Telegram sends it again
until then, so a crash between receiving and storing loses nothing. Any ``serve`` process can
take the call (a standby stores it too); the one that holds the receiving lease handles it.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

from aiohttp import web

from bot.inbox import Inbox

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def webhook_path(webhook_url: str) -> str:
    return urlsplit(webhook_url).path or "/"


def route(inbox: Inbox, webhook_url: str, secret: str | None) -> web.RouteDef:
    expected = (secret or "").encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode(errors="surrogateescape")
        if secret is not None and not hmac.compare_digest(given, expected):
            log.warning("Webhook call with a wrong secret token from %s", request.remote)
            raise web.HTTPForbidden()
        try:
            data = await request.json()
        except ValueError:  # JSONDecodeError and UnicodeDecodeError included
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
