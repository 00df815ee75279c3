"""SMS: ``/sms/inbound`` STATUS queries per second and p99 latency, against a bare aiohttp
handler that returns a constant, driven by the same load generator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

import handlers.sms_inbound
from bench.updates import Result
from bot.runtime import make_services
from handlers.health import SERVICES
from storage.db import create_engine
from storage.migrate import upgrade_to_head
from tests.harness import settings_for
from tests.test_crash_recovery import free_port

SECRET = "bench-secret"
CONCURRENCY = 16
ROUNDS = 3  # each side's best round is reported


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/sms/inbound"
    finally:
        await runner.cleanup()


async def load(url: str, requests: int, body_for: Callable[[int], bytes]) -> Result:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)

    async def client(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            raw = body_for(n)
            signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/json", "X-Signature": signature}
            started = time.perf_counter()
            async with http.post(url, data=raw, headers=headers) as reply:
                await reply.read()
                assert reply.status == 200, reply.status
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(CONCURRENCY)))
        return Result(requests, time.perf_counter() - started, latencies)


def status_query(n: int, offset: int = 0) -> bytes:
    # a different phone each time: the per-phone query limit must not be what is measured
    n += offset
    phone = f"+99450{n % 10_000_000:07d}"
    return json.dumps({"id": f"bench-{n}", "from": phone, "to": "9191", "text": "STATUS"}).encode()


async def measure(database_url: str, requests: int) -> dict[str, Result]:
    await upgrade_to_head(database_url)  # a no-op when already there
    engine = create_engine(database_url)
    settings = settings_for(database_url, sms_webhook_secret=SecretStr(SECRET))
    app = web.Application()
    app[SERVICES] = make_services(settings, engine)
    app.add_routes(handlers.sms_inbound.routes(settings))

    async def constant(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"status": "accepted"})

    bare = web.Application()
    bare.router.add_post("/sms/inbound", constant)
    results: dict[str, list[Result]] = {"bot": [], "baseline": []}
    try:
        async with serving(bare) as bare_url, serving(app) as our_url:
            for round_ in range(ROUNDS):  # interleaved, so that noise hits both alike
                results["baseline"].append(await load(bare_url, requests, status_query))
                fresh = partial(status_query, offset=(round_ + 1) * requests)  # new ids, phones
                results["bot"].append(await load(our_url, requests, fresh))
    finally:
        await engine.dispose()
    return {name: max(runs, key=lambda run: run.per_second) for name, runs in results.items()}


def run(database_url: str, requests: int) -> dict[str, Any]:
    return asyncio.run(measure(database_url, requests))
