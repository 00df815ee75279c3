"""`kill -9` in the middle of a dialogue loses nothing: the citizen goes on at the same step."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator import BotApiEmulator
from storage.models import PtbConversation
from tests.harness import Citizen, ServeProcess


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_healthy(
    port: int, timeout: float = 30.0, role: str | None = "leader"
) -> dict[str, str]:
    """/healthz once it answers 200 in ``role`` ("leader": receiving updates; None: any)."""
    async with aiohttp.ClientSession() as http, asyncio.timeout(timeout):
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        health = dict(await response.json())
                        if role is None or health.get("role") == role:
                            return health
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def conversation_states(engine: AsyncEngine) -> list[tuple[str, str, object]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(PtbConversation.name, PtbConversation.key, PtbConversation.state)
        )
        return [tuple(row) for row in rows]


async def test_sigkill_mid_dialogue_then_restart_continues_at_the_same_step(
    emulator: BotApiEmulator, engine: AsyncEngine, database_url: str
) -> None:
    port = free_port()
    serve = ServeProcess(emulator, database_url, port)
    aysel = Citizen(emulator, user_id=2001, language_code="az")
    try:
        serve.start()
        assert await wait_healthy(port) == {"status": "ok", "database": "ok", "role": "leader"}

        await aysel.says("Dil")
        await aysel.sees("Dili seçin")
        # Written through at once, not at the 60-second flush or at shutdown.
        async with asyncio.timeout(5):
            while not await conversation_states(engine):
                await asyncio.sleep(0.05)
        assert await conversation_states(engine) == [("language", "[2001,2001]", 1)]

        await serve.kill()
        serve.start()
        await wait_healthy(port)

        # A typed "rus" only works inside the language question: outside it the bot would
        # answer with the menu prompt instead.
        await aysel.says("rus")
        changed = await aysel.sees("Язык изменён.", timeout=20)
        assert changed.reply_markup is not None and "keyboard" in changed.reply_markup
        async with asyncio.timeout(5):
            while await conversation_states(engine):
                await asyncio.sleep(0.05)
    finally:
        stderr = await serve.stop()
    assert "Traceback" not in stderr, stderr


async def test_serve_answers_start_and_reports_health(
    emulator: BotApiEmulator, engine: AsyncEngine, database_url: str
) -> None:
    port = free_port()
    serve = ServeProcess(emulator, database_url, port)
    try:
        serve.start()
        await wait_healthy(port)
        citizen = Citizen(emulator, user_id=2002, language_code="en")
        await citizen.says("/start")
        welcome = await citizen.sees("Welcome!", timeout=20)
        assert welcome.reply_markup is not None
        assert [b["text"] for b in welcome.reply_markup["keyboard"][0]] == [
            "Azərbaycanca",
            "Русский",
            "English",
        ]
    finally:
        stderr = await serve.stop()
    assert "Traceback" not in stderr, stderr
