"""Telegram webhook endpoint on our own aiohttp server (no tornado, one HTTP stack)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update

from chat.context import BotApplication

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def webhook_path(webhook_url: str) -> str:
    return urlsplit(webhook_url).path or "/"


#: Takes a webhook update's JSON; False when this process does not receive updates now (a
#: standby, or the bot still starting): the route then answers 503 and Telegram delivers the
#: update again. ValueError, TypeError, KeyError or AttributeError mean "not an update" (400).
Receiver = Callable[[dict[str, Any]], Awaitable[bool]]


class ToApplication:
    """Hands webhook updates to the running Application's update queue (none: not receiving)."""

    def __init__(self, application: BotApplication | None = None) -> None:
        self.application = application

    async def __call__(self, data: dict[str, Any]) -> bool:
        application = self.application
        if application is None:
            return False
        await application.update_queue.put(Update.de_json(data, application.bot))
        return True


def route(receive: Receiver, webhook_url: str, secret: str | None) -> web.RouteDef:
    expected = (secret or "").encode()

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if secret is not None and not hmac.compare_digest(given, expected):
            log.warning("Webhook call with a wrong secret token from %s", request.remote)
            raise web.HTTPForbidden()
        try:
            data = await request.json()
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("no update_id")
            accepted = await receive(data)
        except (ValueError, TypeError, KeyError, AttributeError):  # JSONDecodeError included
            raise web.HTTPBadRequest(text="not a Telegram update") from None
        if not accepted:
            raise web.HTTPServiceUnavailable(text="this process does not receive updates now")
        return web.Response(text="ok")

    return web.post(webhook_path(webhook_url), webhook)
