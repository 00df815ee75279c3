"""GET /metrics: Prometheus text with the outbox read from the database at each scrape, and
the counters the update processor and the dispatcher keep."""

from __future__ import annotations

import asyncio

import aiohttp
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Bot

from bot.runtime import http_server, make_services
from chat.context import BotApplication
from emulator import BotApiEmulator
from observability import REGISTRY
from storage import inbox, outbox
from storage.db import utcnow
from storage.models import Broadcast, BroadcastStatus, Channel, OutboxMessage
from tests.harness import Citizen, settings_for
from tests.test_crash_recovery import free_port
from tests.test_dispatcher import dispatcher_for

Sessions = async_sessionmaker[AsyncSession]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def scrape(engine: AsyncEngine, database_url: str) -> str:
    port = free_port()
    settings = settings_for(database_url, http_port=port)
    async with (
        http_server(settings, make_services(settings, engine), None),
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as reply,
    ):
        assert reply.status == 200
        assert reply.content_type == "text/plain"
        return await reply.text()


async def test_outbox_depth_and_broadcast_progress_are_read_at_scrape_time(
    engine: AsyncEngine, database_url: str, session_factory: Sessions
) -> None:
    async with session_factory.begin() as session:
        broadcast = Broadcast(
            created_by=1, staff_chat_id=1, audience={"kind": "all", "values": []},
            channels=["telegram"], texts={"az": "x"}, status=BroadcastStatus.SENDING,
        )  # fmt: skip
        session.add(broadcast)
        await session.flush()
        for index in range(3):
            await outbox.enqueue(
                session, channel=Channel.SMS, recipient="+994501234567",
                payload={"text": "x"}, idempotency_key=f"m{index}",
            )  # fmt: skip
        await outbox.enqueue(
            session, channel=Channel.TELEGRAM, recipient="5", payload={"text": "y"},
            idempotency_key="b1",
        )  # fmt: skip
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.idempotency_key == "b1")
            .values(broadcast_id=broadcast.id)
        )
    text = await scrape(engine, database_url)
    assert 'azerishiq_outbox_messages{channel="sms",status="pending"} 3.0' in text
    assert 'azerishiq_outbox_messages{channel="email",status="failed"} 0.0' in text
    assert f'azerishiq_broadcast_remaining{{broadcast="{broadcast.id}"}} 1.0' in text
    assert "# TYPE azerishiq_update_handling_seconds histogram" in text


async def test_updates_and_deliveries_are_counted(
    emulator: BotApiEmulator, bot: BotApplication, session_factory: Sessions
) -> None:
    handled = sample("azerishiq_updates_handled_total", outcome="handled")
    timed = sample("azerishiq_update_handling_seconds_count")
    await Citizen(emulator, 4701).says("/start")
    await Citizen(emulator, 4701).sees("Xoş gəlmisiniz")
    async with asyncio.timeout(5):  # the reply goes out before the update is persisted
        while sample("azerishiq_updates_handled_total", outcome="handled") < handled + 1:
            await asyncio.sleep(0.02)
    assert sample("azerishiq_update_handling_seconds_count") >= timed + 1

    sent = sample("azerishiq_deliveries_total", channel="telegram", result="sent")
    async with session_factory.begin() as session:
        await outbox.enqueue(
            session, channel=Channel.TELEGRAM, recipient="4701", payload={"text": "salam"},
            idempotency_key="metrics-1",
        )  # fmt: skip
    async with Bot(emulator.token, base_url=emulator.base_url) as telegram:
        assert await dispatcher_for(session_factory, telegram).run_once() == 1
    assert sample("azerishiq_deliveries_total", channel="telegram", result="sent") == sent + 1


async def test_the_inbox_is_counted_by_status(
    engine: AsyncEngine, database_url: str, session_factory: Sessions
) -> None:
    async with session_factory.begin() as session:
        await inbox.store(session, [{"update_id": n, "message": {}} for n in (1, 2, 3)])
        await inbox.mark_handled(session, [1], utcnow())
        await inbox.quarantine(session, 2, "unreadable: TypeError", utcnow())
    text = await scrape(engine, database_url)
    for status, count in (("pending", 1), ("handled", 1), ("quarantined", 1)):
        assert f'azerishiq_inbox_updates{{status="{status}"}} {count}.0' in text
