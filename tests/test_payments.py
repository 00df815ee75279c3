"""Paying: the payments adapter against a fake gateway over real HTTP (good, slow, 500, strange),
the gateway's signed callback, and the citizen's loop end to end through the emulator.

The fake gateway is a real aiohttp server on 127.0.0.1; nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from domain.payment_channels import act_reference, connection_reference, default_channels
from integrations.payments import HostedCheckout, Invoice, PaymentChannelsOnly
from tests.test_crash_recovery import free_port

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SHORT_TIMEOUT = 0.3
SLOW = 2.0
GATEWAY_TOKEN = "gw-token"
CODE = "100200300400500"
ACT_INVOICE = Invoice(act_reference(CODE, "AKT-1"), Decimal("123.4"), "Act AKT-1")


@dataclass
class FakeGateway:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@asynccontextmanager
async def fake_gateway(handler: Handler) -> AsyncIterator[FakeGateway]:
    gateway = FakeGateway("")

    async def recorded(request: web.Request) -> web.StreamResponse:
        gateway.requests.append(await request.json())
        gateway.headers.append(dict(request.headers))
        return await handler(request)

    app = web.Application()
    app.router.add_post("/checkout", recorded)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        gateway.url = f"http://{host}:{port}/checkout"
        yield gateway
    finally:
        await runner.cleanup()


async def checkout_page(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    return web.json_response({"url": f"https://pay.example/c/{body['reference']}"})


def answers(body: object, status: int = 200, delay: float = 0.0) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(delay)
        if isinstance(body, str):
            return web.Response(text=body, status=status, content_type="application/json")
        return web.json_response(body, status=status)

    return handler


# --------------------------------------------------------------------------- the adapter


async def test_the_embedded_default_gives_the_channels_and_no_link() -> None:
    offer = await PaymentChannelsOnly().offer(ACT_INVOICE)
    assert offer.link is None
    assert offer.channels == default_channels().for_purpose("act")
    connection = Invoice(connection_reference("QM-2026-000001"), Decimal(300), "Fee")
    assert [c.id for c in (await PaymentChannelsOnly().offer(connection)).channels] == [
        "egov-portal", "asan",
    ]  # fmt: skip


async def test_the_gateway_gives_a_link_per_invoice() -> None:
    async with fake_gateway(checkout_page) as gateway:
        offer = await HostedCheckout(gateway.url, GATEWAY_TOKEN).offer(ACT_INVOICE)
    assert offer.link == f"https://pay.example/c/{CODE}-AKT-1"
    assert offer.channels == default_channels().for_purpose("act")
    assert gateway.requests == [
        {"reference": f"{CODE}-AKT-1", "amount": "123.40", "currency": "AZN",
         "description": "Act AKT-1"}
    ]  # fmt: skip
    assert gateway.headers[0]["Authorization"] == f"Bearer {GATEWAY_TOKEN}"


FAILURES = {
    "500": answers({"error": "down"}, status=500),
    "not json": answers("<html>", status=200),
    "no url": answers({"link": "https://pay.example/x"}),
    "not https": answers({"url": "http://pay.example/x"}),
    "a list": answers(["https://pay.example/x"]),
    "spaces": answers({"url": "https://pay.example/x y"}),
}


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_a_failing_gateway_leaves_the_channels(failure: str) -> None:
    async with fake_gateway(FAILURES[failure]) as gateway:
        offer = await HostedCheckout(gateway.url, GATEWAY_TOKEN, SHORT_TIMEOUT).offer(ACT_INVOICE)
    assert offer.link is None
    assert offer.channels == default_channels().for_purpose("act")


async def test_a_slow_gateway_leaves_the_channels_in_time() -> None:
    async with fake_gateway(answers({"url": "https://pay.example/late"}, delay=SLOW)) as gateway:
        loop = asyncio.get_running_loop()
        started = loop.time()
        offer = await HostedCheckout(gateway.url, None, SHORT_TIMEOUT).offer(ACT_INVOICE)
        elapsed = loop.time() - started
    assert offer.link is None and offer.channels
    assert elapsed < SLOW / 2


async def test_an_unreachable_gateway_leaves_the_channels() -> None:
    url = f"http://127.0.0.1:{free_port()}/checkout"
    offer = await HostedCheckout(url, None, SHORT_TIMEOUT).offer(ACT_INVOICE)
    assert offer.link is None and offer.channels
