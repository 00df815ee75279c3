"""A staff status change through the API reaches the citizen everywhere, in their language.

`serve` runs as in production (a child process with the dispatcher inside); Telegram is the
emulator, the SMS gateway a local HTTP server, e-mail the stored default.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from emulator import BotApiEmulator
from storage.models import OutboxMessage
from tests.harness import Citizen, ServeProcess
from tests.test_application_results import submitted
from tests.test_connection_request import choose_language
from tests.test_crash_recovery import free_port, wait_healthy

TOKEN = "staff-secret-token"
OLEG = 4101


@pytest.fixture
async def sms_gateway() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    received: list[dict[str, str]] = []

    async def accept(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"status": "accepted"})

    app = web.Application()
    app.router.add_post("/sms", accept)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/sms", received
    finally:
        await runner.cleanup()


async def test_api_status_change_reaches_the_chat_within_two_seconds_and_sms_and_email_go(
    emulator: BotApiEmulator,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    database_url: str,
    sms_gateway: tuple[str, list[dict[str, str]]],
) -> None:
    sms_url, sms_received = sms_gateway
    port = free_port()
    serve = ServeProcess(emulator, database_url, port)
    serve.env.update(
        {"STAFF_API_TOKEN": TOKEN, "SMS_PROVIDER_URL": sms_url, "OUTBOX_POLL_SECONDS": "0.2"}
    )
    oleg = Citizen(emulator, OLEG, first_name="Олег", language_code="ru")
    try:
        serve.start()
        await wait_healthy(port)
        await choose_language(oleg, "ru")
        number = await submitted(session_factory, OLEG, "e2e-1", locale="ru")

        started = time.monotonic()
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://127.0.0.1:{port}/api/applications/{number}/status",
                json={"status": "under_review", "comment": None, "actor": "back-office"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as response,
        ):
            assert response.status == 200, await response.text()
        notice = await oleg.sees("Рассматривается", timeout=5)
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, elapsed
        assert number in (notice.text or "")

        async with asyncio.timeout(10):
            while True:
                async with engine.connect() as connection:
                    rows = (
                        await connection.execute(
                            select(OutboxMessage.channel, OutboxMessage.status)
                        )
                    ).all()
                if {(c, s) for c, s in rows} >= {("sms", "sent"), ("email", "sent")}:
                    break
                await asyncio.sleep(0.1)
        # Russian SMS go in Latin letters (GSM-7): "Рассматривается" → "Rassmatrivaetsya".
        status_sms = [m for m in sms_received if number in m["text"] and "Rassmatr" in m["text"]]
        assert len(status_sms) == 1
        assert status_sms[0]["to"] == "+994501234567"
    finally:
        stderr = await serve.stop()
    assert "Traceback" not in stderr, stderr
