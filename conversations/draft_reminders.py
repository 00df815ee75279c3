"""Unfinished connection requests: one reminder after 30 minutes, expiry after 24 hours.

A repeating job sweeps the drafts held in `user_data` (loaded from the database at start, so
restarts do not reset the clock: the draft keeps the time of its last answer). `user_data`
holds only live dialogue state, the drafts among it, so the sweep sees every draft; the
notice goes in the language of the draft's last answer, else the saved one (``citizens``),
else Azerbaijani.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

from telegram.error import Forbidden, TelegramError

from chat.context import SERVICES_KEY, BotApplication, BotContext, Services
from chat.keyboards import main_menu
from conversations.connection_draft import (
    DRAFT_KEY,
    EXPIRE_AFTER,
    REMIND_AFTER,
    drop_draft,
    load_draft,
)
from delivery.governor import Pace
from i18n import DEFAULT_LOCALE, N_, normalize_locale, translate, use_locale
from storage.models import Priority
from storage.types import SQLAlchemyError

log = logging.getLogger(__name__)

SWEEP_EVERY: Final = timedelta(minutes=5)

REMINDER: Final = N_(
    "You have an unfinished connection application. Answer the last question above to go on; "
    "the draft is kept for 24 hours."
)
EXPIRED: Final = N_(
    "Your unfinished connection application was not completed within 24 hours, so its draft "
    "was deleted. Press «Connection request» to start again."
)


async def sweep(application: BotApplication, now: datetime) -> tuple[int, int]:
    """Remind and expire due drafts; returns (reminded, expired)."""
    reminded = expired = 0
    for user_id, data in list(application.user_data.items()):
        draft = load_draft(data)
        if draft is None or draft.state is None:
            continue
        idle = draft.idle_for(now)
        if idle >= EXPIRE_AFTER:
            drop_draft(data)
            await _persist(application, user_id, data)
            await _tell(application, user_id, draft.locale, EXPIRED)
            expired += 1
        elif (
            idle >= REMIND_AFTER
            and not draft.reminded
            and await _tell(application, user_id, draft.locale, REMINDER)
        ):
            data[DRAFT_KEY]["reminded"] = True
            await _persist(application, user_id, data)
            reminded += 1
    return reminded, expired


async def _tell(
    application: BotApplication, user_id: int, draft_locale: str | None, text: str
) -> bool:
    """Send in the draft's language, else the saved one, else Azerbaijani."""
    locale = normalize_locale(draft_locale)
    if locale is None:
        services = cast(Services, application.bot_data[SERVICES_KEY])
        try:
            locale = await services.locales.lookup(user_id) or DEFAULT_LOCALE
        except SQLAlchemyError as error:
            log.warning("draft notice not sent (%s); next sweep tries again", type(error).__name__)
            return False
    with use_locale(locale):
        markup = main_menu()
    try:
        await application.bot.send_message(
            user_id,
            translate(text, locale),
            reply_markup=markup,
            rate_limit_args=Pace(Priority.NOTICE),  # a reminder, not a reply: after the replies
        )
    except Forbidden:
        log.info("a citizen blocked the bot; draft notice dropped")
        return True  # nobody to tell: do not try again
    except TelegramError as error:
        log.warning("draft notice not sent (%s); next sweep tries again", error)
        return False
    return True


async def _persist(application: BotApplication, user_id: int, data: dict[Any, Any]) -> None:
    if application.persistence is not None:
        await application.persistence.update_user_data(user_id, data)


async def sweep_job(context: BotContext) -> None:
    await sweep(cast(BotApplication, context.application), datetime.now(UTC))


def schedule(application: BotApplication) -> None:
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            sweep_job, interval=SWEEP_EVERY, first=SWEEP_EVERY, name="draft-reminders"
        )
