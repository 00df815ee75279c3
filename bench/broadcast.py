"""Broadcast: messages per second achieved against the configured rate, and completeness,
with the emulator enforcing Telegram's limits (30 a second overall, 1 per chat)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import insert
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from delivery.dispatcher import DispatchConfig, Dispatcher
from delivery.governor import Governor
from delivery.providers import StoredEmail, StoredSms
from emulator import BotApiEmulator
from storage import broadcasts
from storage.broadcasts import Audience, AudienceKind
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade_to_head
from storage.models import Broadcast, BroadcastStatus, Citizen

RATE = 25.0


async def measure(database_url: str, recipients: int) -> dict[str, Any]:
    await upgrade_to_head(database_url)  # a no-op when already there
    engine = create_engine(database_url)
    sessions = make_session_factory(engine)
    first = 900_000
    try:
        async with BotApiEmulator() as emulator:
            async with sessions.begin() as session:
                await session.execute(
                    insert(Citizen),
                    [{"telegram_user_id": c, "telegram_chat_id": c}
                     for c in range(first, first + recipients)],
                )  # fmt: skip
                row = Broadcast(
                    created_by=1, staff_chat_id=1, audience=Audience(AudienceKind.ALL).as_json(),
                    channels=["telegram"], texts={"az": "bench"}, status=BroadcastStatus.SENDING,
                )  # fmt: skip
                session.add(row)
                await session.flush()
                await broadcasts.queue(session, row, sms_text=str)
                broadcast_id = row.id
            for chat in range(first, first + recipients):
                emulator.add_user(chat)
            emulator.rate_limits(overall_per_second=30, per_chat_per_second=1)
            config = DispatchConfig(poll_seconds=0.05)
            request = HTTPXRequest(connection_pool_size=config.concurrency + 4)
            governor = Governor(RATE)  # the pacing `serve` and `worker` have
            async with ExtBot(
                emulator.token, base_url=emulator.base_url, request=request, rate_limiter=governor
            ) as bot:
                dispatcher = Dispatcher(sessions, bot, StoredSms(), StoredEmail(), config)
                started = time.perf_counter()
                task = asyncio.create_task(dispatcher.run())
                while True:
                    async with sessions() as session:
                        progress = await broadcasts.progress(session, broadcast_id)
                    if progress.remaining == 0:
                        break
                    await asyncio.sleep(0.2)
                elapsed = time.perf_counter() - started
                dispatcher.stop()
                await task
            once = sum(1 for n in emulator.stats.sends_per_chat.values() if n == 1)
            return {
                "recipients": recipients,
                "seconds": elapsed,
                "rate": recipients / elapsed,
                "configured": RATE,
                "delivered_once": once,
                "rate_limited": emulator.stats.rate_limited,
            }
    finally:
        await engine.dispose()


def run(database_url: str, recipients: int) -> dict[str, Any]:
    return asyncio.run(measure(database_url, recipients))
