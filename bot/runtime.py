"""Start and stop the pieces in order: database, HTTP server, outbox dispatcher, then the bot
while this process holds the receiving lease (bot/leader.py); every stop step is bounded
(bot/shutdown.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from aiohttp import web
from telegram import Update

import bot.webhook
import handlers.acts_api
import handlers.health
import handlers.metrics
import handlers.objections_api
import handlers.openapi
import handlers.payments_callback
import handlers.sms_inbound
import handlers.staff_api
from bot.app import build_application, publish_commands
from bot.inbox import Inbox
from bot.leader import Lease, lease_for
from bot.pacing import SharedGovernor, governor_for
from bot.polling import poll_updates
from bot.settings import Settings
from bot.shutdown import GracefulStop, StopRequested, bounded_step
from bot.worker import dispatch_config, dispatcher_bot, running_dispatcher
from chat.context import BotApplication, Services
from chat.locales import SavedLocales
from domain.power_centres import SAMPLE_POWER_CENTRES_FILE
from integrations.citizen_registry import CitizenRegistry, HttpCitizenRegistry, TypedIn
from integrations.payments import HostedCheckout, PaymentChannelsOnly, Payments
from integrations.power_centres import CsvPowerCentres, HttpGis, PowerCentres
from integrations.subscribers import HttpBilling, StoredSubscribers, SubscriberDirectory
from observability.log_limits import limit_http_server_log
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade_to_head
from storage.types import AsyncEngine

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
    payments: Payments = PaymentChannelsOnly()
    if settings.payments_url:
        token = settings.payments_token
        payments = HostedCheckout(
            settings.payments_url,
            token.get_secret_value() if token else None,
            timeout_seconds=settings.payments_timeout_seconds,
        )
    return Services(
        engine=engine,
        sessions=sessions,
        staff_ids=settings.staff_telegram_ids,
        power_centres=power_centres,
        citizen_registry=registry,
        subscribers=subscribers,
        locales=SavedLocales(sessions),
        sms_caps=settings.sms_caps(),
        payments=payments,
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
    governor: SharedGovernor | None = None,
    stop: GracefulStop | None = None,
) -> AsyncIterator[BotApplication]:
    """The bot handling updates from the inbox, which is fed by long polling, or by the
    webhook route (http_server) when WEBHOOK_URL is set. Pending updates go first.

    Leaving it stops receiving at once, then finishes the updates in hand and saves the
    conversations: in their shares of the deadline when ``stop`` was requested, unhurried
    otherwise (a lost lease). What is not finished stays in the inbox for the next receiver.
    """
    inbox = inbox or make_inbox(settings, services)
    application = build_application(
        settings, services, token=token, base_url=base_url, inbox=inbox, governor=governor
    )
    stop = stop or GracefulStop(settings.stop_timeout_seconds)
    await application.initialize()
    poller: asyncio.Task[None] | None = None
    stop_polling = asyncio.Event()
    try:
        await publish_commands(application)
        await application.start()
        await inbox.start_handling(application)
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
                    stop=stop_polling,
                ),
                name="long-poll",
            )
            log.info("Receiving updates by long polling")
        try:
            yield application
        finally:
            # Each step bounded: a Bot API that does not answer must not keep the ones after
            # it (the conversations' last write above all) from running.
            if poller is not None:
                stop_polling.set()  # what it fetched and did not store is fetched again
                await bounded_step(
                    "stop polling", asyncio.gather(poller, return_exceptions=True),
                    stop.bound(POLLING_SHARE),
                )  # fmt: skip
            # With the fetcher still running, so that an update a handler queues again (a menu
            # press that leaves a dialogue, chat/menu.py) is handled too: Application.stop()
            # would leave it behind its stop signal, unhandled, and wait for it for ever.
            handling = stop.bound(HANDLING_SHARE, unhurried=UNHURRIED_HANDLING_SECONDS)
            await bounded_step(
                "finish the updates in hand", application.update_queue.join(), handling
            )
            await bounded_step(
                "stop handing over", inbox.stop_handling(), stop.bound(POLLING_SHARE)
            )
            stopping = stop.bound(STOPPING_SHARE, unhurried=UNHURRIED_STOPPING_SECONDS)
            await bounded_step("stop the jobs", application.stop(), stopping)
    finally:
        saving = stop.bound(SAVING_SHARE, unhurried=UNHURRIED_SAVING_SECONDS)
        await bounded_step("save the conversations", application.shutdown(), saving)


@asynccontextmanager
async def http_server(
    settings: Settings,
    services: Services,
    inbox: Inbox | None = None,
    *,
    receiving: handlers.health.Receiving | None = None,
) -> AsyncIterator[web.AppRunner]:
    """/healthz, the staff API and, with WEBHOOK_URL and an ``inbox``, the webhook route.

    It needs no Application: in `serve` it starts before this process may receive updates
    (a standby stores webhook updates too; the receiver handles them); ``receiving`` tells
    /healthz which role the process has.
    """
    limit_http_server_log()  # a malformed request: no traceback, a line a minute
    app = web.Application(client_max_size=1024 * 1024)
    app[handlers.health.SERVICES] = services
    if receiving is not None:
        app[handlers.health.RECEIVING] = receiving
    app.add_routes(handlers.health.routes())
    app.add_routes(handlers.metrics.routes(settings.metrics_token))
    app.add_routes(handlers.staff_api.routes(settings.staff_api_token))
    app.add_routes(handlers.acts_api.routes(settings.staff_api_token))
    app.add_routes(handlers.objections_api.routes(settings.staff_api_token))
    app.add_routes(handlers.openapi.routes())
    app.add_routes(handlers.payments_callback.routes(settings.payments_callback_secret))
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
    # requests in flight get their share of the stop (bot/shutdown.py), not aiohttp's 60 s
    shutdown_timeout = settings.stop_timeout_seconds * HTTP_SHARE
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    log.info("HTTP server on %s:%s", settings.http_host, settings.http_port)
    try:
        yield runner
    finally:
        await runner.cleanup()


#: Shares of STOP_TIMEOUT_SECONDS for the steps of a stop, in their order (bot/shutdown.py):
#: stop receiving and finish the updates in hand (the bot: polling, handling, saving), release
#: the lease, the dispatcher's sends in flight (it was told to stop with the signal), the HTTP
#: requests in flight, the database. What is left of the deadline is the watchdog's reserve.
POLLING_SHARE = 0.1
HANDLING_SHARE = 0.25
STOPPING_SHARE = 0.05
SAVING_SHARE = 0.1
BOT_SHARE = 0.5
#: When no stop is requested (the lease was lost): stop polling at once, the rest unhurried.
UNHURRIED_HANDLING_SECONDS = 30.0
UNHURRIED_STOPPING_SECONDS = 5.0
UNHURRIED_SAVING_SECONDS = 5.0
UNHURRIED_BOT_SECONDS = 45.0
LEASE_SHARE = 0.1
DISPATCHER_SHARE = 0.3
HTTP_SHARE = 0.1
DATABASE_SHARE = 0.2


async def serve(settings: Settings) -> None:
    """`azerishiq-bot serve`: HTTP at once, updates while this process holds the lease.

    Order: database, HTTP server, outbox dispatcher (every `serve` may run one), then wait
    for the receiving lease (bot/leader.py) and receive until SIGTERM or until the lease is
    lost. A process entry point: it ends the process when the stop outlives its deadline.
    """
    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value()
    stop = GracefulStop(settings.stop_timeout_seconds)
    lease = lease_for(settings)
    # one pacing point for the process: the dispatcher's sends and the bot's replies
    governor = SharedGovernor(governor_for(settings, token))
    with stop.signals():
        try:
            async with AsyncExitStack() as stack:
                services = await stack.enter_async_context(
                    stop.bounded("database", open_services(settings), DATABASE_SHARE)
                )
                await governor.start()
                stack.push_async_callback(governor.close)
                inbox = make_inbox(settings, services)
                await stack.enter_async_context(
                    stop.bounded(
                        "HTTP server",
                        http_server(settings, services, inbox, receiving=lease.state),
                        HTTP_SHARE,
                    )
                )
                if settings.run_dispatcher_in_serve:
                    await stack.enter_async_context(
                        stop.bounded(
                            "outbox dispatcher",
                            serve_dispatcher(settings, services, token, governor, stop),
                            DISPATCHER_SHARE,
                        )
                    )
                stack.push_async_callback(
                    lambda: stop.within("receiving lease", lease.release(), stop.bound(LEASE_SHARE))
                )
                await receive_while_leader(settings, services, token, lease, stop, inbox, governor)
        except StopRequested:
            pass
    log.info("Stopped")


@asynccontextmanager
async def serve_dispatcher(
    settings: Settings,
    services: Services,
    token: str,
    governor: SharedGovernor,
    stop: GracefulStop,
) -> AsyncIterator[None]:
    """The outbox dispatcher of `serve`, with a Bot of its own (it runs on a standby too)
    paced by the process's one governor."""
    concurrency = dispatch_config(settings).concurrency
    telegram_bot = dispatcher_bot(settings, token, concurrency, governor=governor)
    try:
        async with running_dispatcher(settings, services.sessions, telegram_bot) as dispatcher:
            stop.on_request(dispatcher.stop)
            yield
    finally:
        await telegram_bot.request.shutdown()  # never initialised (no getMe): close by hand


async def receive_while_leader(
    settings: Settings,
    services: Services,
    token: str,
    lease: Lease,
    stop: GracefulStop,
    inbox: Inbox,
    governor: SharedGovernor,
) -> None:
    """Receive updates whenever this process holds the lease; return only by StopRequested.

    A lost lease stops receiving at once (within BOT_SHARE of STOP_TIMEOUT_SECONDS; past that
    the process exits, for its supervisor to start it again) and the process competes again.
    """
    while True:
        await stop.race(lease.acquire(), "waiting for the receiving lease")
        if lease.grace_seconds:
            await stop.race(asyncio.sleep(lease.grace_seconds), "waiting for the receiving lease")
        services.locales.clear()  # another process may have received meanwhile
        receiving = running_bot(
            settings, services, token=token, inbox=inbox, governor=governor, stop=stop
        )
        async with stop.bounded("bot", receiving, BOT_SHARE, UNHURRIED_BOT_SECONDS) as app:
            lease.state.receiving()
            log.info("Bot @%s is running; press Ctrl-C to stop", app.bot.username)
            try:
                why = await stop.race(lease.lost(), "receiving")
            finally:
                lease.state.standing_by("stopped receiving")
            log.warning("Lost the receiving lease (%s): stopping receiving now", why)
        if "bot" in stop.abandoned:
            stop.exit_now("could not stop receiving after losing the lease")
        log.warning("Stopped receiving updates; trying to take the receiving lease again")
