"""Unfinished connection requests: a reminder after 30 minutes, expiry after 24 hours.

The bot runs on the Bot API emulator; the tests call :func:`draft_reminders.sweep` themselves
with a ``now`` computed from the draft's ``updated_at``, so the wall clock does not matter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from chat.context import BotApplication
from chat.keyboards import MENU_LABELS, MenuItem
from conversations import connection_request as cr
from conversations import draft_reminders
from conversations.connection_draft import DRAFT_KEY
from emulator import BotApiEmulator, SentMessage
from i18n import translate
from storage.models import PtbUserData
from tests.harness import Citizen
from tests.test_connection_request import answer, choose_language, head, question

EXPIRED_ANSWER = "This application draft has expired. Press «Connection request» to start again."


def az(msgid: str) -> str:
    return translate(msgid, "az")


def updated_at(application: BotApplication, user_id: int) -> datetime:
    """The time of the citizen's last answer, as the draft holds it."""
    return datetime.fromisoformat(application.user_data[user_id][DRAFT_KEY]["updated_at"])


async def start_and_answer_two(person: Citizen) -> None:
    """A connection request with the first and last names answered: at the patronymic."""
    await choose_language(person, "az")
    await person.says(az(MENU_LABELS[MenuItem.CONNECTION_REQUEST]))
    await person.sees(question(cr.FIRST_NAME, "az"))
    await answer(person, "Aysel", question(cr.LAST_NAME, "az"))
    await answer(person, "Məmmədova", question(cr.PATRONYMIC, "az"))


async def skip_patronymic(person: Citizen) -> None:
    await person.presses(cr.SKIP)
    await person.sees(question(cr.FIN, "az"))


def nothing_new(emulator: BotApiEmulator, user_id: int) -> None:
    assert emulator.unread(user_id) == [], [m.text for m in emulator.unread(user_id)]


async def stored_user_data(engine: AsyncEngine, user_id: int) -> dict[str, Any]:
    """The stored user data; empty data has no row."""
    async with engine.connect() as connection:
        data = await connection.scalar(
            select(PtbUserData.data).where(PtbUserData.user_id == user_id)
        )
    assert data is None or isinstance(data, dict)
    return data or {}


def has_main_menu(message: SentMessage) -> bool:
    return az(MENU_LABELS[MenuItem.CONNECTION_REQUEST]) in [b["text"] for b in message.buttons()]


async def test_one_reminder_then_expiry_then_a_fresh_start(
    emulator: BotApiEmulator, bot: BotApplication, engine: AsyncEngine
) -> None:
    aysel = Citizen(emulator, user_id=4001)
    await start_and_answer_two(aysel)
    nothing_new(emulator, aysel.user_id)
    last = updated_at(bot, aysel.user_id)

    assert await draft_reminders.sweep(bot, now=last + timedelta(minutes=29)) == (0, 0)
    nothing_new(emulator, aysel.user_id)
    assert await draft_reminders.sweep(bot, now=last + timedelta(minutes=31)) == (1, 0)
    reminder = await aysel.reply()
    assert reminder.text == az(draft_reminders.REMINDER)
    assert bot.user_data[aysel.user_id][DRAFT_KEY]["reminded"] is True
    assert (await stored_user_data(engine, aysel.user_id))[DRAFT_KEY]["reminded"] is True

    assert await draft_reminders.sweep(bot, now=last + timedelta(minutes=40)) == (0, 0)
    nothing_new(emulator, aysel.user_id)  # one reminder per pause

    await skip_patronymic(aysel)  # an answer resets the clock
    last = updated_at(bot, aysel.user_id)
    assert bot.user_data[aysel.user_id][DRAFT_KEY]["reminded"] is False
    assert await draft_reminders.sweep(bot, now=last + timedelta(minutes=31)) == (1, 0)
    assert (await aysel.reply()).text == az(draft_reminders.REMINDER)

    expiry = last + timedelta(hours=24, minutes=1)
    assert await draft_reminders.sweep(bot, now=expiry) == (0, 1)
    expired = await aysel.reply()
    assert expired.text == az(draft_reminders.EXPIRED)
    assert has_main_menu(expired)
    assert DRAFT_KEY not in bot.user_data[aysel.user_id]
    assert DRAFT_KEY not in await stored_user_data(engine, aysel.user_id)
    assert await draft_reminders.sweep(bot, now=expiry + timedelta(hours=1)) == (0, 0)
    nothing_new(emulator, aysel.user_id)

    # The dialogue still waits for the FIN: the answer must not revive the draft.
    await aysel.says("5ABC7D8")
    gone = await aysel.reply()
    assert gone.text == az(EXPIRED_ANSWER)
    assert has_main_menu(gone)
    assert DRAFT_KEY not in bot.user_data[aysel.user_id]

    before = len(emulator.messages(aysel.user_id))
    await aysel.says(az(MENU_LABELS[MenuItem.CONNECTION_REQUEST]))
    await aysel.sees(question(cr.FIRST_NAME, "az"))
    said = [m.text or "" for m in emulator.messages(aysel.user_id)[before:]]
    assert not any(head(cr.RESUME_QUESTION, "az") in text for text in said), said
    fresh = bot.user_data[aysel.user_id][DRAFT_KEY]
    assert fresh["first_name"] is None and fresh["state"] == cr.FIRST_NAME


async def test_a_citizen_who_blocked_the_bot_does_not_stop_the_others(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=4002)
    kamal = Citizen(emulator, user_id=4003, first_name="Kamal")
    await start_and_answer_two(aysel)
    await start_and_answer_two(kamal)
    emulator.block_chat(aysel.user_id)
    latest = max(updated_at(bot, aysel.user_id), updated_at(bot, kamal.user_id))

    assert await draft_reminders.sweep(bot, now=latest + timedelta(minutes=31)) == (2, 0)
    assert (await kamal.reply()).text == az(draft_reminders.REMINDER)
    nothing_new(emulator, aysel.user_id)
    # Nobody to tell: the blocked citizen is not retried every sweep.
    assert bot.user_data[aysel.user_id][DRAFT_KEY]["reminded"] is True
    assert await draft_reminders.sweep(bot, now=latest + timedelta(minutes=36)) == (0, 0)

    expiry = latest + timedelta(hours=24, minutes=1)
    assert await draft_reminders.sweep(bot, now=expiry) == (0, 2)
    assert (await kamal.reply()).text == az(draft_reminders.EXPIRED)
    assert DRAFT_KEY not in bot.user_data[aysel.user_id]


async def test_the_sweep_is_scheduled(bot: BotApplication) -> None:
    assert bot.job_queue is not None
    jobs = bot.job_queue.get_jobs_by_name("draft-reminders")
    assert len(jobs) == 1
    (job,) = jobs
    assert job.callback is draft_reminders.sweep_job
    assert job.next_t is not None  # the job queue runs it
    wait = job.next_t - datetime.now(UTC)
    assert timedelta(0) < wait <= draft_reminders.SWEEP_EVERY


async def test_after_expiry_a_non_text_answer_gets_the_notice_not_a_new_question(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=4004)
    await start_and_answer_two(aysel)
    expiry = updated_at(bot, aysel.user_id) + timedelta(hours=24, minutes=1)
    assert await draft_reminders.sweep(bot, now=expiry) == (0, 1)
    await aysel.sees(az(draft_reminders.EXPIRED))

    await aysel.shares_location(40.4, 49.8)  # not what the patronymic question takes
    gone = await aysel.reply()
    assert gone.text == az(EXPIRED_ANSWER)
    nothing_new(emulator, aysel.user_id)  # no question of an application that is gone
    assert DRAFT_KEY not in bot.user_data[aysel.user_id]


async def test_the_reminder_is_in_the_language_of_the_dialogue_without_a_choice(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    """A Russian client who never pressed a language (nothing saved) is reminded in Russian."""
    oleg = Citizen(emulator, user_id=4005, first_name="Олег", language_code="ru")
    await oleg.says("/start")
    await oleg.sees("Добро пожаловать")
    await oleg.says(translate(MENU_LABELS[MenuItem.CONNECTION_REQUEST], "ru"))
    await oleg.sees(question(cr.FIRST_NAME, "ru"))
    await answer(oleg, "Олег", question(cr.LAST_NAME, "ru"))
    last = updated_at(bot, oleg.user_id)
    assert await draft_reminders.sweep(bot, now=last + timedelta(minutes=31)) == (1, 0)
    assert (await oleg.reply()).text == translate(draft_reminders.REMINDER, "ru")
