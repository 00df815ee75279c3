"""The outbox dispatcher wired from the settings: inside `serve`, or alone as `worker`.

`azerishiq-bot worker` runs only the dispatcher, with its own Telegram ``Bot``; on PostgreSQL
any number of workers (and `serve` processes) can run side by side.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.pacing import governor_for
from bot.settings import Settings
from delivery.dispatcher import DispatchConfig, Dispatcher
from delivery.providers import EmailSender, HttpSms, SmsProvider, SmtpEmail, StoredEmail, StoredSms
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade_to_head

log = logging.getLogger(__name__)

#: How long a stopping dispatcher may take to finish the sends in flight.
STOP_TIMEOUT_SECONDS = 30.0


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
            try:
                await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                log.warning("outbox: the dispatcher did not stop in time; cancelled")


def _worker_bot(settings: Settings, token: str, concurrency: int) -> ExtBot[Any]:
    """An ``ExtBot`` so that the worker's sends pass a governor, as the bot's do."""
    request = HTTPXRequest(connection_pool_size=concurrency + 4, pool_timeout=10.0)
    return ExtBot(
        token,
        base_url=settings.telegram_api_base_url,
        request=request,
        rate_limiter=governor_for(settings, token),
    )


async def run_worker(settings: Settings) -> None:
    """Dispatch the outbox until SIGINT or SIGTERM."""
    assert settings.telegram_bot_token is not None
    if settings.is_sqlite:
        await upgrade_to_head(settings.database_url)
    engine = create_engine(settings.database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        token = settings.telegram_bot_token.get_secret_value()
        bot = _worker_bot(settings, token, dispatch_config(settings).concurrency)
        async with (
            bot,
            running_dispatcher(settings, make_session_factory(engine), bot),
        ):
            log.info("Worker for @%s is dispatching the outbox", bot.username)
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await engine.dispose()
    log.info("Worker stopped")
