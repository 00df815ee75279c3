"""The composition root: wire handlers, persistence and services into one Application."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import BotCommand
from telegram.ext import ApplicationBuilder, BaseRateLimiter, ContextTypes, PersistenceInput

import conversations.acts
import conversations.broadcast
import conversations.connection_request
import conversations.draft_reminders
import conversations.fee_calculator
import conversations.language
import delivery.act_reminders
import delivery.deadlines
import handlers.edits
import handlers.locale
import handlers.menu
import handlers.my_applications
import handlers.notifications
import handlers.staff
from bot.inbox import Inbox
from bot.pacing import governor_for
from bot.replay import ReplayAwareRequest
from bot.settings import Settings
from bot.update_processor import PerChatUpdateProcessor
from chat.context import BotApplication, BotContext, Services, attach_services
from handlers.errors import on_error
from i18n import LOCALES, N_, translate
from storage.persistence import SqlPersistence

LOCALE_GROUP = -100
#: Right after the locale: an edited message stops there (handlers/edits.py).
EDITS_GROUP = LOCALE_GROUP + 1
#: HTTP connections to the Bot API for replies (python-telegram-bot's own default).
CONNECTION_POOL = 256

PUBLIC_COMMANDS = (
    ("start", N_("Start and main menu")),
    ("help", N_("What the bot can do")),
    ("language", N_("Change the language")),
    ("apply", N_("Apply for a connection")),
    ("fee", N_("Calculate the connection fee")),
    ("acts", N_("Acts and payments")),
    ("notifications", N_("Announcements on or off")),
    ("cancel", N_("Stop the current step")),
)


def build_application(
    settings: Settings,
    services: Services,
    *,
    token: str,
    base_url: str | None = None,
    max_concurrent_updates: int = 64,
    inbox: Inbox | None = None,
    governor: BaseRateLimiter[Any] | None = None,
) -> BotApplication:
    """The bot, ready for `initialize()`; `base_url` overrides the settings (console, tests).

    Updates come from ``inbox`` (see bot/inbox.py), not from python-telegram-bot's Updater."""
    persistence = SqlPersistence(
        services.sessions,
        store_data=PersistenceInput(bot_data=False, callback_data=False),
    )
    processor = PerChatUpdateProcessor(max_concurrent_updates)
    application: BotApplication = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url or settings.telegram_api_base_url)
        .context_types(ContextTypes(context=BotContext))
        .persistence(persistence)
        .concurrent_updates(processor)
        .request(ReplayAwareRequest(connection_pool_size=CONNECTION_POOL))
        .updater(None)
        .rate_limiter(governor or governor_for(settings, token))
        .build()
    )
    processor.application = application
    processor.inbox = inbox
    attach_services(application, services)

    application.add_handler(handlers.locale.build(), group=LOCALE_GROUP)
    application.add_handler(handlers.edits.build(), group=EDITS_GROUP)
    application.add_handler(conversations.language.build())
    application.add_handler(conversations.fee_calculator.build())
    application.add_handler(conversations.connection_request.build())
    application.add_handler(conversations.acts.build())
    application.add_handlers(conversations.broadcast.build(services.staff_ids))
    application.add_handlers(handlers.staff.build(services.staff_ids))
    application.add_handlers(handlers.my_applications.build())
    application.add_handlers(handlers.notifications.build())
    application.add_handlers(handlers.menu.build())
    application.add_handlers(handlers.menu.build_fallbacks())
    application.add_error_handler(on_error)
    conversations.draft_reminders.schedule(application)
    schedule_act_reminders(application)
    schedule_deadlines(application)
    conversations.broadcast.schedule(application)
    return application


async def act_reminders_job(context: BotContext) -> None:
    await delivery.act_reminders.queue_due_reminders(context.services.sessions, datetime.now(UTC))


def schedule_act_reminders(application: BotApplication) -> None:
    """Every few minutes: the acts' payment reminders due today (queued once each)."""
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            act_reminders_job,
            interval=delivery.act_reminders.SWEEP_EVERY,
            first=timedelta(seconds=30),
            name="act-reminders",
        )


async def deadlines_job(context: BotContext) -> None:
    services = context.services
    await delivery.deadlines.run_day(services.sessions, datetime.now(UTC), services.staff_ids)


def schedule_deadlines(application: BotApplication) -> None:
    """Once a Baku day (checked every few minutes, and soon after start): deadlines that act.

    Jobs run only while this process receives updates, i.e. on the leader (bot/leader.py).
    """
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            deadlines_job,
            interval=delivery.deadlines.SWEEP_EVERY,
            first=delivery.deadlines.FIRST_RUN,
            name="deadlines",
        )


async def publish_commands(application: BotApplication) -> None:
    """The command list Telegram shows in the "/" menu, in each of our languages."""
    for locale in LOCALES:
        commands = [BotCommand(name, translate(text, locale)) for name, text in PUBLIC_COMMANDS]
        language_code = None if locale == "az" else locale
        await application.bot.set_my_commands(commands, language_code=language_code)
