"""Telegram webhook endpoint on our own aiohttp server (no tornado, one HTTP stack)."""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update

from chat.context import BotApplication

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def webhook_path(webhook_url: str) -> str:
    return urlsplit(webhook_url).path or "/"


def route(application: BotApplication, webhook_url: str, secret: str | None) -> web.RouteDef:
    expected = (secret or "").encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if secret is not None and not hmac.compare_digest(given, expected):
            log.warning("Webhook call with a wrong secret token from %s", request.remote)
            raise web.HTTPForbidden()
        try:
            data = await request.json()
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("no update_id")
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):  # JSONDecodeError included
            raise web.HTTPBadRequest(text="not a Telegram update") from None
        await application.update_queue.put(update)
        return web.Response(text="ok")

    return web.post(webhook_path(webhook_url), receive)
