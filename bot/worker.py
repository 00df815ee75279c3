"""The outbox dispatcher wired from the settings: inside `serve`, or alone as `worker`.

`azerishiq-bot worker` runs only the dispatcher, with its own Telegram ``Bot``; on PostgreSQL
any number of workers (and `serve` processes) can run side by side.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from telegram import Bot
from telegram.ext import BaseRateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.pacing import governor_for
from bot.settings import Settings
from bot.shutdown import GracefulStop, StopRequested
from delivery.dispatcher import DispatchConfig, Dispatcher
from delivery.providers import EmailSender, HttpSms, SmsProvider, SmtpEmail, StoredEmail, StoredSms
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade_to_head
from storage.types import AsyncEngine, AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

#: Shares of STOP_TIMEOUT_SECONDS (see bot/shutdown.py): the sends in flight, the database.
DISPATCHER_SHARE = 0.25
DATABASE_SHARE = 0.2
BOT_SHARE = 0.1


def dispatch_config(settings: Settings) -> DispatchConfig:
    return DispatchConfig(
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
        lease_seconds=settings.outbox_lease_seconds,
        # a send must not start with less than a quarter of the lease left (at most 30 s)
        send_margin_seconds=min(30.0, settings.outbox_lease_seconds / 4),
        max_attempts=settings.outbox_max_attempts,
        retry_base_seconds=settings.outbox_retry_base_seconds,
        retry_cap_seconds=settings.outbox_retry_cap_seconds,
        sms_rate=settings.sms_rate_per_second,
        email_rate=settings.email_rate_per_second,
    )


@asynccontextmanager
async def running_dispatcher(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], telegram_bot: Bot
) -> AsyncIterator[Dispatcher]:
    """A dispatcher task for the lifetime of the block; stopped cleanly on exit."""
    async with AsyncExitStack() as stack:
        sms: SmsProvider = StoredSms()
        if settings.sms_provider_url:
            auth = settings.sms_provider_auth
            http_sms = HttpSms(settings.sms_provider_url, auth.get_secret_value() if auth else None)
            sms = await stack.enter_async_context(http_sms)
        email: EmailSender = SmtpEmail(settings.smtp_url) if settings.smtp_url else StoredEmail()
        dispatcher = Dispatcher(sessions, telegram_bot, sms, email, dispatch_config(settings))
        task = asyncio.create_task(dispatcher.run(), name="outbox-dispatcher")
        try:
            yield dispatcher
        finally:
            dispatcher.stop()
            wait = settings.stop_timeout_seconds * DISPATCHER_SHARE
            done, _ = await asyncio.wait({task}, timeout=wait)
            if not done:
                # Its claims come back when their lease runs out (sent at most once more).
                task.cancel()
                task.add_done_callback(lambda t: t.cancelled() or t.exception())
                log.warning("outbox: the dispatcher did not stop within %.1f s; cancelled", wait)


def dispatcher_bot(
    settings: Settings,
    token: str,
    concurrency: int,
    *,
    governor: BaseRateLimiter[Any] | None = None,
) -> ExtBot[Any]:
    """An ``ExtBot`` of the dispatcher's own, paced by ``governor`` (the process's one; a new
    one for a worker): uninitialised (no getMe), so a Bot API server that does not answer
    does not hold up a start."""
    request = HTTPXRequest(connection_pool_size=concurrency + 4, pool_timeout=10.0)
    return ExtBot(
        token,
        base_url=settings.telegram_api_base_url,
        request=request,
        get_updates_request=request,  # never polls: one client to close
        rate_limiter=governor or governor_for(settings, token),
    )


@asynccontextmanager
async def opened_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    if settings.is_sqlite:
        await upgrade_to_head(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def run_worker(settings: Settings) -> None:
    """Dispatch the outbox until SIGINT or SIGTERM; stopped within STOP_TIMEOUT_SECONDS."""
    assert settings.telegram_bot_token is not None
    stop = GracefulStop(settings.stop_timeout_seconds)
    token = settings.telegram_bot_token.get_secret_value()
    with stop.signals():
        try:
            async with AsyncExitStack() as stack:
                engine = await stack.enter_async_context(
                    stop.bounded("database", opened_engine(settings), DATABASE_SHARE)
                )
                bot = dispatcher_bot(settings, token, dispatch_config(settings).concurrency)
                await stack.enter_async_context(stop.bounded("Bot API client", bot, BOT_SHARE))
                dispatcher = await stack.enter_async_context(
                    stop.bounded(
                        "outbox dispatcher",
                        running_dispatcher(settings, make_session_factory(engine), bot),
                        DISPATCHER_SHARE + 0.05,
                    )
                )
                stop.on_request(dispatcher.stop)
                log.info("Worker for @%s is dispatching the outbox", bot.username)
                await stop.wait()
        except StopRequested:
            pass
    log.info("Worker stopped")
