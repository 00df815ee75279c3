"""GET /healthz: is the process up and can it reach its database?"""

from __future__ import annotations

from aiohttp import web

from chat.context import Services
from storage.db import database_is_reachable

SERVICES = web.AppKey("services", Services)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if await database_is_reachable(services.engine):
        return web.json_response({"status": "ok", "database": "ok"})
    return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)


def routes() -> list[web.RouteDef]:
    return [web.get("/healthz", healthz)]
