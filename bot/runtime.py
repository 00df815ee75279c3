"""Start and stop the pieces in order: database, bot, HTTP server, outbox dispatcher."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from datetime import timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

import bot.webhook
import handlers.acts_api
import handlers.health
import handlers.metrics
import handlers.openapi
import handlers.sms_inbound
import handlers.staff_api
from bot.app import build_application, publish_commands
from bot.inbox import Inbox
from bot.polling import poll_updates
from bot.settings import Settings
from bot.worker import running_dispatcher
from chat.context import BotApplication, Services
from chat.locales import SavedLocales
from domain.power_centres import SAMPLE_POWER_CENTRES_FILE
from integrations.citizen_registry import CitizenRegistry, HttpCitizenRegistry, TypedIn
from integrations.power_centres import CsvPowerCentres, HttpGis, PowerCentres
from integrations.subscribers import HttpBilling, StoredSubscribers, SubscriberDirectory
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade_to_head

log = logging.getLogger(__name__)


def make_services(settings: Settings, engine: AsyncEngine) -> Services:
    """Wire the outside systems chosen by the settings (embedded defaults otherwise)."""
    centres_file = settings.power_centres_file or SAMPLE_POWER_CENTRES_FILE
    power_centres: PowerCentres = CsvPowerCentres(
        centres_file, sample=settings.power_centres_file is None
    )
    if settings.gis_url:
        power_centres = HttpGis(settings.gis_url, fallback=power_centres)
    registry: CitizenRegistry = (
        HttpCitizenRegistry(settings.citizen_registry_url)
        if settings.citizen_registry_url
        else TypedIn()
    )
    sessions = make_session_factory(engine)
    subscribers: SubscriberDirectory = (
        HttpBilling(settings.billing_url) if settings.billing_url else StoredSubscribers(sessions)
    )
    return Services(
        engine=engine,
        sessions=sessions,
        staff_ids=settings.staff_telegram_ids,
        power_centres=power_centres,
        citizen_registry=registry,
        subscribers=subscribers,
        locales=SavedLocales(sessions),
    )


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """The database and outside systems; on SQLite, migrations are applied first."""
    if settings.is_sqlite:
        await upgrade_to_head(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        yield make_services(settings, engine)
    finally:
        await engine.dispose()


def make_inbox(settings: Settings, services: Services) -> Inbox:
    return Inbox(
        services.sessions,
        retention=timedelta(hours=settings.inbox_retention_hours),
        max_attempts=settings.inbox_max_attempts,
    )


@asynccontextmanager
async def running_bot(
    settings: Settings,
    services: Services,
    *,
    token: str,
    base_url: str | None = None,
    poll_timeout: int = 10,
    inbox: Inbox | None = None,
) -> AsyncIterator[BotApplication]:
    """The bot handling updates from the inbox, which is fed by long polling, or by the
    webhook route (http_server) when WEBHOOK_URL is set. Pending updates go first."""
    inbox = inbox or make_inbox(settings, services)
    application = build_application(settings, services, token=token, base_url=base_url, inbox=inbox)
    async with application:
        await publish_commands(application)
        await application.start()
        await inbox.start_handling(application)
        poller: asyncio.Task[None] | None = None
        if settings.webhook_url:
            secret = settings.webhook_secret_token
            await application.bot.set_webhook(
                settings.webhook_url,
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("Receiving updates by webhook")
        else:
            await application.bot.delete_webhook()
            poller = asyncio.create_task(
                poll_updates(
                    application.bot,
                    inbox,
                    long_poll_seconds=poll_timeout,
                    allowed_updates=Update.ALL_TYPES,
                ),
                name="long-poll",
            )
            log.info("Receiving updates by long polling")
        try:
            yield application
        finally:
            if poller is not None:
                poller.cancel()
                await asyncio.gather(poller, return_exceptions=True)
            await inbox.stop_handling()
            await application.stop()


@asynccontextmanager
async def http_server(
    settings: Settings, services: Services, inbox: Inbox | None
) -> AsyncIterator[web.AppRunner]:
    """/healthz, the staff API and, in webhook mode, the Telegram webhook route."""
    app = web.Application(client_max_size=1024 * 1024)
    app[handlers.health.SERVICES] = services
    app.add_routes(handlers.health.routes())
    app.add_routes(handlers.metrics.routes())
    app.add_routes(handlers.staff_api.routes(settings.staff_api_token))
    app.add_routes(handlers.acts_api.routes(settings.staff_api_token))
    app.add_routes(handlers.openapi.routes())
    app.add_routes(handlers.sms_inbound.routes(settings))
    if inbox is not None and settings.webhook_url:
        secret = settings.webhook_secret_token
        app.add_routes(
            [
                bot.webhook.route(
                    inbox, settings.webhook_url, secret.get_secret_value() if secret else None
                )
            ]
        )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    log.info("HTTP server on %s:%s", settings.http_host, settings.http_port)
    try:
        yield runner
    finally:
        await runner.cleanup()


async def wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def serve(settings: Settings) -> None:
    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value()
    async with open_services(settings) as services:
        inbox = make_inbox(settings, services)
        async with (
            http_server(settings, services, inbox),
            running_bot(settings, services, token=token, inbox=inbox) as application,
            (
                running_dispatcher(settings, services.sessions, application.bot)
                if settings.run_dispatcher_in_serve
                else nullcontext()
            ),
        ):
            log.info("Bot @%s is running; press Ctrl-C to stop", application.bot.username)
            await wait_for_stop_signal()
    log.info("Stopped")
