"""Paying an act end to end: the owner reads how to pay, gets the gateway's link as a button,
pays on the hosted checkout, the gateway's signed callback records it, and she is thanked.

The bot polls the Bot API emulator; the acts API and the callback are the real aiohttp routes on
a local port; the hosted-checkout gateway is a small aiohttp server on another local port.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from chat.context import BotApplication
from delivery import payment_text
from domain.acts import BAKU
from emulator import BotApiEmulator
from handlers import acts_api, payments_callback
from handlers.health import SERVICES
from i18n import format_money
from tests.harness import Citizen, bot_on_emulator
from tests.test_act_dialogue import (
    ASK_CODE,
    ASK_PHONE,
    AYSEL,
    AYSEL_PHONE,
    CODE,
    TOKEN,
    Sessions,
    act_body,
    az,
    call,
    deliver,
)
from tests.test_connection_request import choose_language
from tests.test_crash_recovery import free_port

SECRET = "callback-secret"
NUMBER = "AKT-2026-0077"


class Gateway:
    """A hosted checkout: ``POST /invoices`` answers the checkout page of the invoice."""

    def __init__(self) -> None:
        self.invoices: list[dict[str, Any]] = []
        self.authorizations: list[str] = []

    async def invoice(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization", ""))
        body = await request.json()
        self.invoices.append(body)
        return web.json_response({"url": f"https://pay.example.az/c/{len(self.invoices)}"})


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def paying(
    engine: AsyncEngine, emulator: BotApiEmulator
) -> AsyncIterator[tuple[BotApplication, str, Gateway]]:
    gateway = Gateway()
    checkout = web.Application()
    checkout.add_routes([web.post("/invoices", gateway.invoice)])
    gateway_runner, gateway_url = await serve(checkout)
    overrides = {
        "payments_url": f"{gateway_url}/invoices",
        "payments_token": SecretStr("gateway-token"),
    }
    try:
        async with bot_on_emulator(engine, emulator, settings_overrides=overrides) as application:
            app = web.Application()
            app[SERVICES] = application.bot_data["services"]
            app.add_routes(acts_api.routes(SecretStr(TOKEN)))
            app.add_routes(payments_callback.routes(SecretStr(SECRET)))
            runner, base = await serve(app)
            try:
                yield application, base, gateway
            finally:
                await runner.cleanup()
    finally:
        await gateway_runner.cleanup()


async def callback(base: str, report: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(report).encode()
    headers = {
        "Content-Type": "application/json",
        payments_callback.SIGNATURE_HEADER: "sha256="
        + payments_callback.signature(SECRET.encode(), raw),
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}{payments_callback.PATH}", data=raw, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_an_act_is_paid_through_the_gateway_and_its_owner_thanked(
    paying: tuple[BotApplication, str, Gateway],
    emulator: BotApiEmulator,
    session_factory: Sessions,
) -> None:
    application, base, gateway = paying
    today = datetime.now(UTC).astimezone(BAKU).date()
    await call("PUT", f"{base}/api/subscribers/{CODE}", {"phone": AYSEL_PHONE})
    act = await call("POST", f"{base}/api/acts", act_body(NUMBER, today))
    amount = Decimal(act["amount"])

    aysel = Citizen(emulator, AYSEL)
    await choose_language(aysel, "az")
    await aysel.says("Aktlar və ödənişlər")
    await aysel.sees(az(ASK_CODE))
    await aysel.says(CODE)
    await aysel.sees(az(ASK_PHONE))
    await aysel.shares_contact(AYSEL_PHONE, owner_id=AYSEL)
    await aysel.sees(NUMBER)

    # The act's detail: how much, by when, with which reference, where — and the link.
    await aysel.presses(f"ak:show:{NUMBER}")
    await aysel.sees(az("How the amount was calculated ({rule}):"))
    shown = "\n".join(m.text or "" for m in emulator.messages(AYSEL)[-3:])
    assert format_money(amount, "az") in shown
    assert az(payment_text.WHERE_TO_PAY) in shown
    reference = az(payment_text.REFERENCE_ACT).format(code=CODE, number=NUMBER)
    assert reference in shown
    links = [b for m in emulator.messages(AYSEL)[-3:] for b in m.buttons() if "url" in b]
    assert links == [{"text": az(payment_text.PAY_ONLINE), "url": "https://pay.example.az/c/1"}]
    [invoice] = gateway.invoices
    assert invoice["reference"] == f"{CODE}-{NUMBER}" and Decimal(invoice["amount"]) == amount
    assert gateway.authorizations == ["Bearer gateway-token"]

    # She pays part of it on the checkout page; the gateway calls back (signed).
    part = Decimal("100.00")
    status, answer = await callback(
        base, {"payment_id": "gw-1", "reference": f"{CODE}-{NUMBER}", "amount": str(part)}
    )
    assert (status, answer["recorded"]) == (201, True)
    await deliver(application, session_factory)
    thanks = await aysel.sees(format_money(part, "az"))
    left = format_money(amount - part, "az")
    assert NUMBER in (thanks.text or "") and left in (thanks.text or "")

    # The gateway repeats its callback: nothing is recorded twice, she is not thanked twice.
    status, answer = await callback(
        base, {"payment_id": "gw-1", "reference": f"{CODE}-{NUMBER}", "amount": str(part)}
    )
    assert (status, answer["recorded"]) == (200, False)

    # The rest: the act is paid and she is told.
    status, answer = await callback(
        base,
        {"payment_id": "gw-2", "reference": f"{CODE}-{NUMBER}", "amount": str(amount - part)},
    )
    assert (status, answer["status"]) == (201, "paid")
    await deliver(application, session_factory)
    paid = await call_get(f"{base}/api/acts/{NUMBER}")
    assert paid["status"] == "paid" and Decimal(paid["outstanding"]) == 0
    assert [p["amount"] for p in paid["payments"]] == ["100.00", f"{amount - part:.2f}"]
    told = [m.text or "" for m in emulator.messages(AYSEL) if NUMBER in (m.text or "")]
    assert sum(format_money(part, "az") in text for text in told) == 1  # thanked once


async def call_get(url: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        http.get(url) as response,
    ):
        body: dict[str, Any] = await response.json()
        assert response.status == 200, body
        return body
