"""GET /healthz: is the process up, can it reach its database, does it receive updates?

``role`` (in `serve`): "leader" while this process receives Telegram updates, "standby" with
the ``reason`` otherwise (another process holds the receiving lease, or it is starting). A
standby is healthy: it serves HTTP and takes over when the leader stops.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from chat.context import Services
from storage.db import database_is_reachable

SERVICES = web.AppKey("services", Services)


class Receiving(Protocol):
    """Whether this process receives updates (see bot.leader.ReceiverState)."""

    role: str
    reason: str | None


RECEIVING = web.AppKey("receiving", Receiving)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    receiving = request.app.get(RECEIVING)
    role: dict[str, str] = {}
    if receiving is not None:
        role["role"] = receiving.role
        if receiving.reason:
            role["reason"] = receiving.reason
    if await database_is_reachable(services.engine):
        return web.json_response({"status": "ok", "database": "ok", **role})
    return web.json_response(
        {"status": "unavailable", "database": "unreachable", **role}, status=503
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/healthz", healthz)]
