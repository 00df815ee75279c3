"""The HTTP side of `serve`: /healthz and the Telegram webhook."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime import http_server, make_inbox, make_services, running_bot
from chat.context import Services
from emulator import BotApiEmulator
from storage import inbox
from storage.db import create_engine
from tests.harness import Citizen, settings_for

SECRET = "s3cret-token_value"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def services_on(engine: AsyncEngine) -> Services:
    return make_services(settings_for(str(engine.url)), engine)


async def get_json(url: str) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, dict(await response.json())


async def test_healthz_reports_the_database(engine: AsyncEngine) -> None:
    port = free_port()
    settings = settings_for(str(engine.url), http_port=port)
    async with http_server(settings, services_on(engine), None):
        assert await get_json(f"http://127.0.0.1:{port}/healthz") == (
            200,
            {"status": "ok", "database": "ok"},
        )


async def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    dead = create_engine("postgresql+asyncpg://postgres@127.0.0.1:9/nowhere")
    port = free_port()
    settings = settings_for("postgresql+asyncpg://postgres@127.0.0.1:9/nowhere", http_port=port)
    try:
        async with http_server(settings, services_on(dead), None):
            status, body = await get_json(f"http://127.0.0.1:{port}/healthz")
    finally:
        await dead.dispose()
    assert (status, body) == (503, {"status": "unavailable", "database": "unreachable"})


@pytest.fixture
async def webhook_bot(engine: AsyncEngine) -> AsyncIterator[tuple[BotApiEmulator, str]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    settings = settings_for(
        str(engine.url), http_port=port, webhook_url=url, webhook_secret_token=SECRET
    )
    services = services_on(engine)
    inbox = make_inbox(settings, services)
    async with (
        BotApiEmulator(webhook_retry_delay=0.05) as emulator,
        http_server(settings, services, inbox),
        running_bot(
            settings, services, token=emulator.token, base_url=emulator.base_url, inbox=inbox
        ),
    ):
        yield emulator, url


async def test_webhook_mode_answers_start(webhook_bot: tuple[BotApiEmulator, str]) -> None:
    emulator, _ = webhook_bot
    citizen = Citizen(emulator, user_id=3001)
    await citizen.says("/start")
    greeting = await citizen.reply()
    assert (greeting.text or "").startswith("Xoş gəlmisiniz!")


@pytest.mark.parametrize("header", [None, "wrong", SECRET + "x", ""])
async def test_webhook_refuses_a_wrong_secret(
    webhook_bot: tuple[BotApiEmulator, str], header: str | None
) -> None:
    _, url = webhook_bot
    headers = {} if header is None else {"X-Telegram-Bot-Api-Secret-Token": header}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"update_id": 1}, headers=headers) as response,
    ):
        assert response.status == 401


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"no": "update_id"}'])
async def test_webhook_refuses_garbage(
    webhook_bot: tuple[BotApiEmulator, str], body: bytes
) -> None:
    _, url = webhook_bot
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=headers) as response,
    ):
        assert response.status == 400


async def test_a_standby_stores_webhook_updates_for_the_receiver(engine: AsyncEngine) -> None:
    """A standby (or a bot still starting) has no Application: it stores the update, answers
    200, and the process that receives handles it from the inbox."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    settings = settings_for(
        str(engine.url), http_port=port, webhook_url=url, webhook_secret_token=SECRET
    )
    services = services_on(engine)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with (
        http_server(settings, services, make_inbox(settings, services)),
        aiohttp.ClientSession() as http,
        http.post(url, json={"update_id": 1, "message": {}}, headers=headers) as response,
    ):
        assert response.status == 200
    async with services.sessions() as session:
        assert await inbox.counts(session) == {"pending": 1, "handled": 0, "quarantined": 0}
