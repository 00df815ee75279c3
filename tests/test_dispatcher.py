"""The outbox dispatcher against the Bot API emulator, a local SMS gateway and an SMTP server.

Nothing of ours is replaced: rows go through the real repository, the real dispatcher and the
real providers to real local servers, and deliveries are counted where they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.settings import Settings
from delivery.dispatcher import DispatchConfig, Dispatcher, backoff_seconds
from delivery.governor import Governor
from delivery.providers import (
    HttpSms,
    PermanentError,
    RetryableError,
    SmtpEmail,
    StoredEmail,
    StoredSms,
    parse_retry_after,
    parse_smtp_url,
)
from emulator import BotApiEmulator, SentMessage
from storage import outbox
from storage.db import utcnow
from storage.models import Channel, Citizen, OutboxMessage, OutboxStatus, Priority

ROOT = Path(__file__).resolve().parent.parent
Sessions = async_sessionmaker[AsyncSession]

#: Fast, deterministic settings for in-process tests.
FAST = DispatchConfig(
    poll_seconds=0.02,
    retry_base_seconds=0.01,
    retry_cap_seconds=0.05,
    retry_jitter=0.0,
    sms_rate=1000,
    email_rate=1000,
)


# --------------------------------------------------------------------------- local servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmsGateway:
    """A JSON SMS gateway on 127.0.0.1 that can misbehave; counts what it accepted, by id."""

    def __init__(self) -> None:
        self.fail_first = 0
        self.fail_status = 500
        self.fail_headers: dict[str, str] = {}
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.accepted: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.delay:
            await asyncio.sleep(self.delay)
        if len(self.requests) <= self.fail_first:
            return web.json_response(
                {"error": "try later"}, status=self.fail_status, headers=self.fail_headers
            )
        self.accepted[body["id"]] += 1
        return web.json_response({"id": body["id"], "status": "queued"})

    async def __aenter__(self) -> SmsGateway:
        app = web.Application()
        app.router.add_post("/send", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.create_server(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/send"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


class MailSink:
    """aiosmtpd handler: keeps the messages; ``rcpt_reply``/``data_reply`` refuse them."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        parsed = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"


@pytest.fixture(autouse=True)
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns when it builds a RetryAfter unless timedelta mode is on (warnings fail
    tests here); the sender takes both forms."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def gateway() -> AsyncIterator[SmsGateway]:
    async with SmsGateway() as server:
        yield server


@pytest.fixture
def mail() -> Any:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield sink, controller.port
    finally:
        controller.stop()


@pytest.fixture
async def telegram_bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    """A bot without a governor: the dispatcher alone, and Telegram's answers as they come."""
    request = HTTPXRequest(connection_pool_size=40)
    async with Bot(emulator.token, base_url=emulator.base_url, request=request) as bot:
        yield bot


@asynccontextmanager
async def governed_bot(emulator: BotApiEmulator, **pacing: Any) -> AsyncIterator[ExtBot[Any]]:
    """A bot as `serve` and `worker` have it: every send passes a governor."""
    request = HTTPXRequest(connection_pool_size=40)
    governor = Governor(pacing.pop("rate", 1000.0), **pacing)
    bot = ExtBot(emulator.token, base_url=emulator.base_url, request=request, rate_limiter=governor)
    async with bot:
        yield bot


def dispatcher_for(
    sessions: Sessions,
    bot: Bot,
    *,
    sms: Any = None,
    email: Any = None,
    **config: Any,
) -> Dispatcher:
    settings = dataclasses.replace(FAST, **config)
    return Dispatcher(sessions, bot, sms or StoredSms(), email or StoredEmail(), settings)


# --------------------------------------------------------------------------- helpers


async def queue(
    sessions: Sessions,
    channel: Channel,
    recipient: str,
    payload: dict[str, Any],
    key: str,
    *,
    priority: int = Priority.NOTICE,
    citizen_id: int | None = None,
) -> None:
    async with sessions.begin() as session:
        assert await outbox.enqueue(
            session,
            channel=channel,
            recipient=recipient,
            payload=payload,
            idempotency_key=key,
            priority=priority,
            citizen_id=citizen_id,
        )


async def rows(sessions: Sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def drain(dispatcher: Dispatcher, sessions: Sessions, timeout: float = 15.0) -> None:
    """Run rounds until no row is pending or being sent."""
    async with asyncio.timeout(timeout):
        while True:
            handled = await dispatcher.run_once()
            unsettled = [
                row
                for row in await rows(sessions)
                if row.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)
            ]
            if not unsettled:
                return
            if handled == 0:
                await asyncio.sleep(0.02)


def texts(emulator: BotApiEmulator, chat_id: int) -> list[str | None]:
    return [message.text for message in emulator.messages(chat_id)]


# --------------------------------------------------------------------------- Telegram


async def test_telegram_rows_are_delivered_once_through_the_bot_api(
    session_factory: Sessions, emulator: BotApiEmulator, telegram_bot: Bot
) -> None:
    for chat in range(5001, 5006):
        emulator.add_user(chat)
        await queue(
            session_factory, Channel.TELEGRAM, str(chat), {"text": f"hi {chat}"}, f"k{chat}"
        )
    await queue(
        session_factory,
        Channel.TELEGRAM,
        "5001",
        {"text": "<b>Ərizə</b> QM-1", "parse_mode": "HTML"},
        "k-html",
    )
    dispatcher = dispatcher_for(session_factory, telegram_bot)

    assert await dispatcher.run_once() == 6
    assert await dispatcher.run_once() == 0

    assert texts(emulator, 5001) == ["hi 5001", "Ərizə QM-1"]
    for chat in range(5002, 5006):
        assert texts(emulator, chat) == [f"hi {chat}"]
    assert sum(emulator.stats.sends_per_chat.values()) == 6
    for row in await rows(session_factory):
        assert row.status == OutboxStatus.SENT
        assert row.sent_at is not None and row.attempts == 1
        assert row.claim_token is None and row.claimed_until is None
    assert dispatcher.outcomes == Counter(sent=6)


async def test_flood_limit_429_is_retried_after_retry_after_and_delivered_once(
    session_factory: Sessions, emulator: BotApiEmulator, telegram_bot: Bot
) -> None:
    emulator.add_user(5100)
    emulator.rate_limits(overall_per_second=0, per_chat_per_second=1)
    for n in range(2):
        await queue(session_factory, Channel.TELEGRAM, "5100", {"text": f"notice {n}"}, f"f{n}")
    # No governor, so Telegram's flood control answers the second message: without one the
    # row itself is retried later (with a governor the flood wait is waited out in place).
    dispatcher = dispatcher_for(session_factory, telegram_bot)

    started = utcnow()
    assert await dispatcher.run_once() == 2
    first, second = await rows(session_factory)
    assert first.status == OutboxStatus.SENT
    assert second.status == OutboxStatus.PENDING and second.attempts == 1
    assert second.last_error is not None and "Flood control" in second.last_error
    assert second.next_attempt_at >= started + timedelta(seconds=1)  # retry_after, not 10 ms
    assert emulator.stats.rate_limited == 1

    await drain(dispatcher, session_factory)
    assert texts(emulator, 5100) == ["notice 0", "notice 1"]
    assert [row.status for row in await rows(session_factory)] == [OutboxStatus.SENT] * 2


async def test_bot_api_5xx_is_retried_until_delivered(
    session_factory: Sessions, emulator: BotApiEmulator, telegram_bot: Bot
) -> None:
    emulator.fail_every(2, status=502, methods=["sendMessage"])
    for chat in range(5200, 5210):
        emulator.add_user(chat)
        await queue(session_factory, Channel.TELEGRAM, str(chat), {"text": "x"}, f"s{chat}")
    dispatcher = dispatcher_for(session_factory, telegram_bot)
    await drain(dispatcher, session_factory)
    assert emulator.stats.server_errors >= 5
    assert all(emulator.stats.sends_per_chat[chat] == 1 for chat in range(5200, 5210))
    assert {row.status for row in await rows(session_factory)} == {OutboxStatus.SENT}


async def test_a_blocked_chat_fails_at_once_and_the_citizen_is_marked_blocked(
    session_factory: Sessions, emulator: BotApiEmulator, telegram_bot: Bot
) -> None:
    async with session_factory.begin() as session:
        linked = Citizen(telegram_user_id=5301, telegram_chat_id=5301)
        by_chat = Citizen(telegram_user_id=5302, telegram_chat_id=5302)
        session.add_all([linked, by_chat])
    for chat in (5301, 5302):
        emulator.add_user(chat)
        emulator.block_chat(chat)
    await queue(
        session_factory, Channel.TELEGRAM, "5301", {"text": "a"}, "b1", citizen_id=linked.id
    )
    await queue(session_factory, Channel.TELEGRAM, "5302", {"text": "b"}, "b2")  # no citizen_id
    dispatcher = dispatcher_for(session_factory, telegram_bot)

    assert await dispatcher.run_once() == 2
    assert await dispatcher.run_once() == 0
    for row in await rows(session_factory):
        assert row.status == OutboxStatus.FAILED and row.attempts == 1
        assert row.last_error is not None and "blocked by the user" in row.last_error
    async with session_factory() as session:
        citizens = list(await session.scalars(select(Citizen).order_by(Citizen.id)))
    assert [c.blocked for c in citizens] == [True, True]
    assert all(c.blocked_at is not None for c in citizens)
    assert emulator.stats.forbidden == 2
    async with session_factory() as session:
        assert await outbox.failed_counts(session) == {
            Channel.TELEGRAM: 2,
            Channel.SMS: 0,
            Channel.EMAIL: 0,
        }


async def test_bad_request_and_bad_payloads_fail_without_retrying(
    session_factory: Sessions, emulator: BotApiEmulator, telegram_bot: Bot
) -> None:
    emulator.add_user(5400)
    await queue(session_factory, Channel.TELEGRAM, "999999", {"text": "x"}, "no-chat")
    await queue(session_factory, Channel.TELEGRAM, "5400", {"text": "<b>x"}, "bad-html")
    await queue(session_factory, Channel.TELEGRAM, "5400", {"body": "?"}, "no-text")
    await queue(session_factory, Channel.TELEGRAM, "@someone", {"text": "x"}, "not-an-id")
    await queue(session_factory, Channel.EMAIL, "a@example.az", {"text": "x"}, "no-subject")
    # bad-html is only bad with parse_mode
    async with session_factory.begin() as session:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == "bad-html")
        )
        assert row is not None
        row.payload = {"text": "<b>x", "parse_mode": "HTML"}
    dispatcher = dispatcher_for(session_factory, telegram_bot)
    assert await dispatcher.run_once() == 5
    errors = {row.idempotency_key: row.last_error for row in await rows(session_factory)}
    assert {row.status for row in await rows(session_factory)} == {OutboxStatus.FAILED}
    assert errors["no-chat"] == "BadRequest: Chat not found"
    assert str(errors["bad-html"]).startswith("BadRequest: Can't parse entities")
    assert errors["no-text"] == "the payload has no 'text'"
    assert "not a Telegram chat id" in str(errors["not-an-id"])
    assert errors["no-subject"] == "the payload has no 'subject'"
    assert emulator.messages(5400) == []


async def test_replies_go_before_notices_before_bulk_queued_earlier(
    session_factory: Sessions, emulator: BotApiEmulator, telegram_bot: Bot
) -> None:
    order: list[int] = []

    def seen(message: SentMessage) -> None:
        order.append(message.chat_id)

    emulator.on_message(seen)
    plan = [(5501, Priority.BULK), (5502, Priority.BULK), (5503, Priority.BULK)]
    plan += [(5504, Priority.NOTICE), (5505, Priority.REPLY), (5506, Priority.BULK)]
    for chat, priority in plan:
        emulator.add_user(chat)
        await queue(
            session_factory,
            Channel.TELEGRAM,
            str(chat),
            {"text": "t"},
            f"p{chat}",
            priority=priority,
        )
    # One send at a time, three rows a round: the order at the Bot API is the claim order.
    dispatcher = dispatcher_for(session_factory, telegram_bot, batch_size=3, concurrency=1)
    await drain(dispatcher, session_factory)
    assert order == [5505, 5504, 5501, 5502, 5503, 5506]


async def test_per_chat_cap_spaces_messages_to_one_chat(
    session_factory: Sessions, emulator: BotApiEmulator
) -> None:
    emulator.add_user(5600)
    emulator.rate_limits(overall_per_second=0, per_chat_per_second=5)
    for n in range(4):
        await queue(session_factory, Channel.TELEGRAM, "5600", {"text": str(n)}, f"c{n}")
    async with governed_bot(emulator, per_chat_rate=5) as bot:
        dispatcher = dispatcher_for(session_factory, bot)
        started = time.monotonic()
        assert await dispatcher.run_once() == 4
        assert time.monotonic() - started >= 0.55  # 3 waits of 0.2 s, less a little slack
    assert emulator.stats.rate_limited == 0  # the governor kept us under Telegram's cap
    assert texts(emulator, 5600) == ["0", "1", "2", "3"]


async def test_with_the_governor_a_429_is_waited_out_and_sent_in_the_same_attempt(
    session_factory: Sessions, emulator: BotApiEmulator
) -> None:
    emulator.add_user(5650)
    emulator.rate_limits(overall_per_second=0, per_chat_per_second=1)
    for n in range(2):
        await queue(session_factory, Channel.TELEGRAM, "5650", {"text": f"n{n}"}, f"g{n}")
    # The governor's per-chat pace is looser than the emulator's: the second draws a 429.
    async with governed_bot(emulator, per_chat_rate=100) as bot:
        dispatcher = dispatcher_for(session_factory, bot)
        assert await dispatcher.run_once() == 2
    assert emulator.stats.rate_limited == 1
    assert [(row.status, row.attempts) for row in await rows(session_factory)] == [
        (OutboxStatus.SENT, 1),
        (OutboxStatus.SENT, 1),
    ]
    assert texts(emulator, 5650) == ["n0", "n1"]


async def test_stop_releases_messages_still_waiting_for_their_turn(
    session_factory: Sessions, emulator: BotApiEmulator
) -> None:
    emulator.add_user(5700)
    for n in range(3):
        await queue(session_factory, Channel.TELEGRAM, "5700", {"text": str(n)}, f"w{n}")
    async with governed_bot(emulator, per_chat_rate=0.5) as bot:
        dispatcher = dispatcher_for(session_factory, bot)
        running = asyncio.create_task(dispatcher.run())
        await emulator.next_message(5700)
        started = time.monotonic()
        dispatcher.stop()
        await asyncio.wait_for(running, 2)
        assert time.monotonic() - started < 1.0  # did not sit out the 2-second waits
    statuses = [(row.status, row.attempts) for row in await rows(session_factory)]
    assert statuses == [
        (OutboxStatus.SENT, 1),
        (OutboxStatus.PENDING, 0),
        (OutboxStatus.PENDING, 0),
    ]
    assert texts(emulator, 5700) == ["0"]
    assert dispatcher.outcomes == Counter(sent=1, released=2)


async def test_a_message_whose_lease_runs_out_while_it_waits_is_released_unsent(
    session_factory: Sessions, emulator: BotApiEmulator
) -> None:
    emulator.add_user(5750)
    for n in range(2):
        await queue(session_factory, Channel.TELEGRAM, "5750", {"text": str(n)}, f"l{n}")
    # a 4 s lease less a 3 s margin: a send must start within 1 s; the second would wait 2 s
    async with governed_bot(emulator, per_chat_rate=0.5) as bot:
        dispatcher = dispatcher_for(
            session_factory, bot, lease_seconds=4.0, send_margin_seconds=3.0
        )
        started = time.monotonic()
        assert await dispatcher.run_once() == 2
        assert time.monotonic() - started < 1.8
    assert [(row.status, row.attempts) for row in await rows(session_factory)] == [
        (OutboxStatus.SENT, 1),
        (OutboxStatus.PENDING, 0),
    ]
    assert dispatcher.outcomes == Counter(sent=1, released=1)


class TerminatedBackend(Exception):
    """What asyncpg raises when the server ends the session (before it sees the socket close)."""

    sqlstate = "57P01"  # admin_shutdown: pg_terminate_backend, a failover


class CutTransactions:
    """A session factory whose n-th transactions die as if their backend had been terminated.

    ``connection_invalidated`` is False, as SQLAlchemy reports it when asyncpg raises the
    server's FATAL before it has noticed the closed socket: the race CI met.
    """

    def __init__(self, sessions: Sessions, cut: set[int]) -> None:
        self.sessions = sessions
        self.cut = cut
        self.begun = 0

    def begin(self) -> Any:
        self.begun += 1
        if self.begun in self.cut:
            return self._terminated()
        return self.sessions.begin()

    @contextlib.asynccontextmanager
    async def _terminated(self) -> AsyncIterator[AsyncSession]:
        error = TerminatedBackend("terminating connection due to administrator command")
        raise DBAPIError("UPDATE outbox ...", {}, error, connection_invalidated=False)
        yield  # pragma: no cover


async def test_a_round_cut_by_a_terminated_backend_runs_again_with_warnings_only(
    session_factory: Sessions,
    emulator: BotApiEmulator,
    telegram_bot: Bot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The claim of round 1 and the "sent" of round 2 die with their backend: the round runs
    again and the outcome is recorded once more at once (not at the lease's end), with
    warnings, never an ERROR (the PostgreSQL drop drill fails on ERROR lines)."""
    emulator.add_user(5750)
    await queue(session_factory, Channel.TELEGRAM, "5750", {"text": "once"}, "cut-1")
    cut = CutTransactions(session_factory, cut={1, 3})
    dispatcher = dispatcher_for(cast(Sessions, cut), telegram_bot)
    with caplog.at_level(logging.WARNING, logger="delivery.dispatcher"):
        running = asyncio.create_task(dispatcher.run())
        try:
            await emulator.next_message(5750)
            async with asyncio.timeout(5):
                while dispatcher.outcomes["sent"] == 0:
                    await asyncio.sleep(0.01)
        finally:
            dispatcher.stop()
            await asyncio.wait_for(running, 5)
    assert [(row.status, row.attempts) for row in await rows(session_factory)] == [
        (OutboxStatus.SENT, 1)
    ]
    assert texts(emulator, 5750) == ["once"]
    assert dispatcher.outcomes == Counter(sent=1)
    levels = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert [level for level, _ in levels] == ["WARNING", "WARNING"], levels
    assert "dispatch round was cut by a lost database connection" in levels[0][1]


# --------------------------------------------------------------------------- claims


async def test_a_claim_is_exclusive_and_a_crashed_claimers_rows_come_back(
    session_factory: Sessions,
) -> None:
    await queue(session_factory, Channel.SMS, "+994501234567", {"text": "x"}, "c1")
    now = utcnow()
    lease = timedelta(seconds=60)
    async with session_factory.begin() as session:
        first = await outbox.claim_due(session, now=now, lease=lease, limit=10, token="a" * 32)
    async with session_factory.begin() as session:
        assert await outbox.claim_due(session, now=now, lease=lease, limit=10, token="b" * 32) == []
    # "a" crashed; its lease runs out and "b" takes the row over.
    later = now + timedelta(seconds=61)
    async with session_factory.begin() as session:
        second = await outbox.claim_due(session, now=later, lease=lease, limit=10, token="b" * 32)
    assert [row.id for row in first] == [row.id for row in second]
    async with session_factory.begin() as session:
        assert not await outbox.mark_sent(session, first[0].id, "a" * 32, now=later)
        assert not await outbox.mark_failed(session, first[0].id, "a" * 32, error="late")
        assert await outbox.mark_sent(session, first[0].id, "b" * 32, now=later)
    async with session_factory.begin() as session:
        assert not await outbox.mark_sent(session, first[0].id, "b" * 32, now=later)
    (row,) = await rows(session_factory)
    assert row.status == OutboxStatus.SENT and row.attempts == 1


async def test_the_dispatcher_picks_up_rows_whose_claim_expired(
    session_factory: Sessions, emulator: BotApiEmulator, telegram_bot: Bot
) -> None:
    emulator.add_user(5800)
    await queue(session_factory, Channel.TELEGRAM, "5800", {"text": "orphan"}, "o1")
    await queue(session_factory, Channel.TELEGRAM, "5800", {"text": "held"}, "o2")
    async with session_factory.begin() as session:
        orphan, held = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        orphan.status = held.status = OutboxStatus.SENDING
        orphan.claimed_until = utcnow() - timedelta(seconds=1)
        held.claimed_until = utcnow() + timedelta(minutes=5)
    dispatcher = dispatcher_for(session_factory, telegram_bot)
    assert await dispatcher.run_once() == 1
    assert texts(emulator, 5800) == ["orphan"]


def test_backoff_doubles_up_to_the_cap_and_respects_retry_after() -> None:
    config = DispatchConfig(retry_base_seconds=5, retry_cap_seconds=60)
    assert [backoff_seconds(n, config) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert backoff_seconds(1, config, jitter=0.2) == pytest.approx(6.0)
    assert backoff_seconds(1, config, retry_after=30) == 30
    assert backoff_seconds(4, config, retry_after=30) == 40


# --------------------------------------------------------------------------- SMS


async def test_sms_gateway_failing_then_recovering_delivers_every_notice_once(
    session_factory: Sessions, telegram_bot: Bot, gateway: SmsGateway
) -> None:
    gateway.fail_first = 12
    for n in range(20):
        await queue(
            session_factory, Channel.SMS, f"+99450{n:07d}", {"text": f"Ərizə {n}"}, f"sms-{n}"
        )
    async with HttpSms(gateway.url, "Bearer s3cret") as sms:
        dispatcher = dispatcher_for(session_factory, telegram_bot, sms=sms)
        await drain(dispatcher, session_factory)

    assert gateway.accepted == Counter({f"sms-{n}": 1 for n in range(20)})
    assert len(gateway.requests) == 32
    assert gateway.requests[-1].keys() == {"to", "text", "id"}
    assert all(h["Authorization"] == "Bearer s3cret" for h in gateway.headers)
    assert {h["Idempotency-Key"] for h in gateway.headers} == set(gateway.accepted)
    sent = await rows(session_factory)
    assert {row.status for row in sent} == {OutboxStatus.SENT}
    assert max(row.attempts for row in sent) > 1


async def test_sms_max_attempts_then_failed_with_the_last_error(
    session_factory: Sessions, telegram_bot: Bot, gateway: SmsGateway
) -> None:
    gateway.fail_first = 1000
    gateway.fail_status = 503
    await queue(session_factory, Channel.SMS, "+994501112233", {"text": "x"}, "doomed")
    async with HttpSms(gateway.url) as sms:
        dispatcher = dispatcher_for(session_factory, telegram_bot, sms=sms, max_attempts=3)
        await drain(dispatcher, session_factory)
    (row,) = await rows(session_factory)
    assert row.status == OutboxStatus.FAILED and row.attempts == 3
    assert row.last_error == 'SMS gateway answered 503: {"error": "try later"}'
    assert len(gateway.requests) == 3
    assert "Authorization" not in gateway.headers[0]
    assert dispatcher.outcomes == Counter(retry=2, failed=1)


async def test_sms_gateway_429_retry_after_is_honoured(
    session_factory: Sessions, telegram_bot: Bot, gateway: SmsGateway
) -> None:
    gateway.fail_first, gateway.fail_status = 1, 429
    gateway.fail_headers = {"Retry-After": "30"}
    await queue(session_factory, Channel.SMS, "+994501112233", {"text": "x"}, "slow")
    started = utcnow()
    async with HttpSms(gateway.url) as sms:
        dispatcher = dispatcher_for(session_factory, telegram_bot, sms=sms)
        assert await dispatcher.run_once() == 1
    (row,) = await rows(session_factory)
    assert row.status == OutboxStatus.PENDING
    assert row.next_attempt_at >= started + timedelta(seconds=30)


async def test_http_sms_sorts_answers_into_retry_and_permanent(gateway: SmsGateway) -> None:
    async with HttpSms(gateway.url, timeout_seconds=0.3) as sms:
        await sms.send("+994501234567", "ok", "k0")
        assert gateway.accepted == Counter(k0=1)

        for status, headers, expected, retry_after in [
            (429, {"Retry-After": "7"}, RetryableError, 7.0),
            (503, {}, RetryableError, None),
            (400, {}, PermanentError, None),
            (404, {}, PermanentError, None),
        ]:
            gateway.requests.clear()
            gateway.fail_first, gateway.fail_status, gateway.fail_headers = 1, status, headers
            with pytest.raises(expected) as caught:
                await sms.send("+994501234567", "x", f"k{status}")
            assert str(status) in str(caught.value)
            if expected is RetryableError:
                assert isinstance(caught.value, RetryableError)
                assert caught.value.retry_after == retry_after

        gateway.requests.clear()
        gateway.fail_first, gateway.delay = 0, 1.0
        with pytest.raises(RetryableError, match="unreachable"):
            await sms.send("+994501234567", "slow", "k-timeout")
    async with HttpSms(f"http://127.0.0.1:{free_port()}/send") as closed:
        with pytest.raises(RetryableError, match="unreachable"):
            await closed.send("+994501234567", "x", "k-refused")


def test_retry_after_header_forms() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    date = "Wed, 21 Oct 2099 07:28:00 GMT"
    assert parse_retry_after(date) is not None and parse_retry_after(date) > 1e6  # type: ignore[operator]
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


async def test_stored_sms_keeps_the_last_messages_and_logs_them_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sms = StoredSms(keep=2)
    with caplog.at_level(logging.INFO, logger="delivery.providers"):
        for n in range(3):
            await sms.send("+994501234567", f"code {n} for +994501234567", f"k{n}")
    assert [record.idempotency_key for record in sms.sent] == ["k1", "k2"]
    assert "994501234567" not in caplog.text and "50123" not in caplog.text
    assert "***67" in caplog.text

    email = StoredEmail(keep=1)
    with caplog.at_level(logging.INFO, logger="delivery.providers"):
        await email.send("aysel@example.az", "Ərizə", "body", "e1")
    assert email.sent[0].to == "aysel@example.az"
    assert "aysel@" not in caplog.text and "a***@example.az" in caplog.text


# --------------------------------------------------------------------------- e-mail


async def test_smtp_email_is_delivered_with_a_message_id_from_the_key(
    session_factory: Sessions, telegram_bot: Bot, mail: tuple[MailSink, int]
) -> None:
    sink, port = mail
    await queue(
        session_factory,
        Channel.EMAIL,
        "aysel@example.az",
        {
            "subject": "Ərizəniz QM-7 qeydə alındı",
            "text": "Hörmətli vətəndaş,\nərizəniz qəbul edildi.",
        },
        "application:QM-7:registered:email",
    )
    email = SmtpEmail(f"smtp://127.0.0.1:{port}?from=bot@azerishiq.az")
    dispatcher = dispatcher_for(session_factory, telegram_bot, email=email)
    assert await dispatcher.run_once() == 1

    (message,) = sink.messages
    assert message["To"] == "aysel@example.az"
    assert message["From"] == "bot@azerishiq.az"
    assert message["Subject"] == "Ərizəniz QM-7 qeydə alındı"
    body = message.get_content().replace("\r\n", "\n").strip()
    assert body == "Hörmətli vətəndaş,\nərizəniz qəbul edildi."
    again = email.build("x@example.az", "s", "t", "application:QM-7:registered:email")
    assert message["Message-ID"] == again["Message-ID"]
    assert message["Message-ID"].endswith("@azerishiq.az>")
    (row,) = await rows(session_factory)
    assert row.status == OutboxStatus.SENT


async def test_smtp_4xx_is_retried_and_5xx_is_final(mail: tuple[MailSink, int]) -> None:
    sink, port = mail
    email = SmtpEmail(f"smtp://127.0.0.1:{port}?from=bot@azerishiq.az", timeout_seconds=5)
    sink.data_reply = "451 4.3.0 Try again later"
    with pytest.raises(RetryableError, match="451"):
        await email.send("a@example.az", "s", "t", "k1")
    sink.data_reply = None
    sink.rcpt_reply = "550 5.1.1 No such user"
    with pytest.raises(PermanentError, match="550"):
        await email.send("nobody@example.az", "s", "t", "k2")
    closed = SmtpEmail(f"smtp://127.0.0.1:{free_port()}?from=bot@azerishiq.az", timeout_seconds=2)
    with pytest.raises(RetryableError, match="unreachable"):
        await closed.send("a@example.az", "s", "t", "k3")


def test_smtp_url_forms() -> None:
    plain = parse_smtp_url("smtp://bot%40x.az:p%3Ass@mail.x.az:587?from=bot@x.az")
    assert (plain.host, plain.port, plain.use_tls) == ("mail.x.az", 587, False)
    assert (plain.username, plain.password, plain.sender) == ("bot@x.az", "p:ss", "bot@x.az")
    tls = parse_smtp_url("smtps://mail.x.az?from=bot@x.az")
    assert (tls.port, tls.use_tls, tls.username) == (465, True, None)
    for bad, says in [
        ("http://mail.x.az?from=a@b", "smtp://"),
        ("smtp://?from=a@b", "host"),
        ("smtp://mail.x.az", "from="),
    ]:
        with pytest.raises(ValueError, match=says):
            parse_smtp_url(bad)
    with pytest.raises(ValueError, match="smtp_url"):
        Settings(smtp_url="smtp://mail.x.az")


# --------------------------------------------------------------------------- processes


class DispatchProcess:
    """`azerishiq-bot <command>` in a child process, its stderr kept in a temporary file."""

    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.command = command
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SMS_"))},
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "INFO",
            **env,
        }
        self.env.pop("WEBHOOK_URL", None)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", command],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    async def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while text not in self.output():
                assert self.process.poll() is None, self.output()
                await asyncio.sleep(0.05)

    async def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        """Signal it to stop; the exit code and everything written to stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                await asyncio.to_thread(self.process.wait, 20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait)
        output = self.output()
        self.log.close()
        return self.process.returncode, output


def process_env(emulator: BotApiEmulator, database_url: str, **extra: str) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": emulator.token,
        "TELEGRAM_API_BASE_URL": emulator.base_url,
        "DATABASE_URL": database_url,
        **extra,
    }


async def wait_all_sent(sessions: Sessions, total: int, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while True:
            async with sessions() as session:
                statuses = Counter(await session.scalars(select(OutboxMessage.status)))
            if statuses[OutboxStatus.SENT] == total:
                return
            await asyncio.sleep(0.1)


def test_worker_without_a_token_refuses_with_one_line(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker"],
        env={**clean, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "azerishiq-bot: TELEGRAM_BOT_TOKEN is not set; the worker needs it to send messages"
    ]


async def test_serve_runs_a_dispatcher_and_stops_it_cleanly(
    session_factory: Sessions, emulator: BotApiEmulator, database_url: str
) -> None:
    emulator.add_user(5900)
    await queue(session_factory, Channel.TELEGRAM, "5900", {"text": "from serve"}, "serve-1")
    serve = DispatchProcess(
        "serve", process_env(emulator, database_url, HTTP_HOST="127.0.0.1", HTTP_PORT="0")
    )
    try:
        message = await emulator.next_message(5900, timeout=30)
        assert message.text == "from serve"
        await wait_all_sent(session_factory, 1, timeout=10)
    finally:
        code, stderr = await serve.stop()
    assert code == 0 and "Traceback" not in stderr, stderr
    assert "Outbox dispatcher stopped" in stderr


async def test_serve_without_its_dispatcher_beside_a_worker_that_stops_on_sigint(
    session_factory: Sessions, emulator: BotApiEmulator, database_url: str
) -> None:
    """The production layout: `serve` with RUN_DISPATCHER_IN_SERVE=false and a `worker`."""
    emulator.add_user(5901)
    serve = DispatchProcess(
        "serve",
        process_env(
            emulator,
            database_url,
            HTTP_HOST="127.0.0.1",
            HTTP_PORT="0",
            RUN_DISPATCHER_IN_SERVE="false",
        ),
    )
    worker = DispatchProcess("worker", process_env(emulator, database_url))
    try:
        await serve.wait_for_log("is running")
        await worker.wait_for_log("Outbox dispatcher running")
        await queue(session_factory, Channel.TELEGRAM, "5901", {"text": "by the worker"}, "w-1")
        message = await emulator.next_message(5901, timeout=10)
        assert message.text == "by the worker"
    finally:
        worker_code, worker_log = await worker.stop(signal.SIGINT)
        serve_code, serve_log = await serve.stop()
    assert worker_code == 0 and "Traceback" not in worker_log, worker_log
    assert "Worker stopped" in worker_log
    assert serve_code == 0 and "Outbox dispatcher" not in serve_log, serve_log
    assert emulator.stats.sends_per_chat[5901] == 1


async def test_two_workers_deliver_a_thousand_notices_exactly_once(
    session_factory: Sessions,
    emulator: BotApiEmulator,
    gateway: SmsGateway,
    database_url: str,
    dialect_name: str,
) -> None:
    if dialect_name != "postgresql":
        pytest.skip(
            "several workers side by side need FOR UPDATE SKIP LOCKED (PostgreSQL); "
            "on SQLite one dispatcher claims at a time"
        )
    chats = range(6000, 6500)
    for chat in chats:
        emulator.add_user(chat)
    # The two workers share one Telegram budget of 50/s (the telegram_budget row), under the
    # emulator's 1000/s.
    emulator.rate_limits(overall_per_second=1000, per_chat_per_second=1)
    env = process_env(
        emulator,
        database_url,
        SMS_PROVIDER_URL=gateway.url,
        TELEGRAM_GLOBAL_RATE="50",
        SMS_RATE_PER_SECOND="400",
        OUTBOX_BATCH_SIZE="50",
        OUTBOX_POLL_SECONDS="0.05",
    )
    workers = [DispatchProcess("worker", env) for _ in range(2)]
    outputs: list[str] = []
    try:
        for worker in workers:
            await worker.wait_for_log("Outbox dispatcher running")
        started = time.monotonic()
        telegram: list[dict[str, Any]] = [
            {
                "channel": Channel.TELEGRAM,
                "recipient": str(chat),
                "payload": {"text": f"notice {chat}"},
                "idempotency_key": f"tg-{chat}",
                "priority": Priority.BULK,
            }
            for chat in chats
        ]
        sms = [
            {
                "channel": Channel.SMS,
                "recipient": f"+99455{n:07d}",
                "payload": {"text": f"notice {n}"},
                "idempotency_key": f"sms-{n}",
            }
            for n in range(500)
        ]
        async with session_factory.begin() as session:
            await session.execute(insert(OutboxMessage), telegram + sms)
        await wait_all_sent(session_factory, 1000, timeout=40)
        elapsed = time.monotonic() - started
    finally:
        for worker in workers:
            code, output = await worker.stop()
            outputs.append(output)
            assert code == 0, output

    assert sorted(emulator.stats.sends_per_chat.items()) == [(chat, 1) for chat in chats]
    assert gateway.accepted == Counter({f"sms-{n}": 1 for n in range(500)})
    assert len(gateway.requests) == 500
    for output in outputs:
        assert "Traceback" not in output and "lost the claim" not in output, output
        assert "outbox:" in output and "handled" in output, "both workers took part"
    print(f"1,000 notices by two workers in {elapsed:.1f} s")
    assert emulator.stats.rate_limited == 0  # the shared budget kept them under the limits
    stamps = sorted(emulator.messages(chat)[0].timestamp for chat in chats)
    # 500 at 50/s less a burst of 10: 9.8 s; two budgets of 50/s each would take 4.9 s
    assert stamps[-1] - stamps[0] >= 8.5, stamps[-1] - stamps[0]
