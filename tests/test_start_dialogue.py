"""First contact: /start (one message), the language, the menu, help, unknown input, staff,
errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import CommandHandler

from bot.logs import MaskingFormatter
from chat.context import BotApplication, BotContext
from emulator import BotApiEmulator
from i18n import resolve_locale
from storage.models import Citizen, PtbConversation, PtbUserData
from tests.harness import Citizen as Person
from tests.harness import bot_on_emulator

STAFF_ID = 777
AZ_MENU = [
    "Qoşulma müraciəti",
    "Haqqı hesabla",
    "Müraciətlərim",
    "Aktlar və ödənişlər",
    "Elanlar",
    "Dil",
    "Kömək",
]


@pytest.fixture
async def bot(engine: AsyncEngine, emulator: BotApiEmulator) -> AsyncIterator[BotApplication]:
    async with bot_on_emulator(engine, emulator, staff_ids=[STAFF_ID]) as application:
        yield application


@pytest.fixture
def aysel(emulator: BotApiEmulator, bot: BotApplication) -> Person:
    return Person(emulator, user_id=1001, first_name="Aysel", language_code="az")


LANGUAGES = ["Azərbaycanca", "Русский", "English"]
AZ_WELCOME = "Xoş gəlmisiniz! Bu, «Azərişıq» ASC-nin vətəndaşlar üçün"


async def choose_azerbaijani(person: Person) -> None:
    await person.says("/start")
    await person.sees("Xoş gəlmisiniz")
    await person.says("Azərbaycanca")
    await person.sees("Azərbaycanca ✓")


async def test_first_start_is_one_message_with_the_menu_and_the_languages(
    aysel: Person, engine: AsyncEngine
) -> None:
    await aysel.says("/start")
    welcome = await aysel.reply()
    assert (welcome.text or "").startswith(AZ_WELCOME)
    assert (welcome.text or "").endswith(
        "Dili dəyişmək üçün yuxarı sıradakı düymələrdən birini seçin."
    )
    assert welcome.reply_markup is not None and "keyboard" in welcome.reply_markup
    assert aysel.keyboard() == LANGUAGES + AZ_MENU
    # Nothing else follows /start: the next message answers the next action.
    await aysel.says("/help")
    assert ((await aysel.reply()).text or "").startswith("Bu botda nələr edə bilərsiniz")
    async with engine.connect() as connection:  # a citizen now (announcements reach her)
        stored = (await connection.execute(select(Citizen.locale, Citizen.telegram_chat_id))).all()
    assert stored == [("az", 1001)]

    await aysel.says("Русский")
    greeting = await aysel.reply()
    assert (greeting.text or "").startswith("Добро пожаловать!")
    assert "верхнем ряду" not in (greeting.text or "")
    assert aysel.keyboard()[:2] == ["Заявка на подключение", "Рассчитать плату"]
    assert len(aysel.keyboard()) == len(AZ_MENU)  # the language row is gone

    async with engine.connect() as connection:
        stored = (await connection.execute(select(Citizen.locale, Citizen.telegram_chat_id))).all()
        rows = (await connection.execute(select(PtbUserData.user_id))).all()
        states = (await connection.execute(select(PtbConversation.name))).all()
    assert stored == [("ru", 1001)]
    assert rows == [] and states == []  # the language lives in citizens, not user_data


@pytest.mark.parametrize(
    ("language_code", "welcome", "menu"),
    [
        ("ru", "Добро пожаловать!", "Заявка на подключение"),
        ("en-GB", "Welcome!", "Connection request"),
        ("de", "Xoş gəlmisiniz!", "Qoşulma müraciəti"),
        ("", "Xoş gəlmisiniz!", "Qoşulma müraciəti"),
    ],
)
async def test_the_welcome_is_in_the_client_language_else_azerbaijani(
    emulator: BotApiEmulator,
    bot: object,
    engine: AsyncEngine,
    language_code: str,
    welcome: str,
    menu: str,
) -> None:
    person = Person(emulator, user_id=1003, first_name="Kim", language_code=language_code)
    await person.says("/start")
    assert ((await person.reply()).text or "").startswith(welcome)
    assert person.keyboard()[:4] == [*LANGUAGES, menu]
    await person.says("/help")  # the language it was greeted in is saved for it
    await person.reply()
    async with engine.connect() as connection:
        saved = (await connection.execute(select(Citizen.locale))).scalars().all()
    assert saved == [resolve_locale(None, language_code)]


async def test_the_language_shown_can_be_confirmed_with_its_button(
    aysel: Person, engine: AsyncEngine
) -> None:
    await aysel.says("/start")
    await aysel.sees("Xoş gəlmisiniz")
    await aysel.says("Azərbaycanca")
    confirmation = await aysel.reply()
    assert confirmation.text == "Azərbaycanca ✓"
    assert aysel.keyboard() == AZ_MENU
    async with engine.connect() as connection:
        assert (await connection.execute(select(Citizen.locale))).scalars().all() == ["az"]


async def test_second_start_goes_straight_to_the_menu(aysel: Person) -> None:
    await choose_azerbaijani(aysel)
    await aysel.says("/start")
    welcome = await aysel.reply()
    assert (welcome.text or "").startswith(AZ_WELCOME)
    assert "yuxarı sıradakı" not in (welcome.text or "")
    assert aysel.keyboard() == AZ_MENU  # no language row
    await aysel.says("/help")
    assert ((await aysel.reply()).text or "").startswith("Bu botda nələr")


async def test_commands_and_the_menu_work_without_choosing_a_language(aysel: Person) -> None:
    await aysel.says("/start")
    await aysel.sees("Xoş gəlmisiniz")
    await aysel.says("Kömək")
    assert ((await aysel.reply()).text or "").startswith("Bu botda nələr edə bilərsiniz")
    await aysel.says("nə isə")  # free text gets the menu prompt, not a language question
    assert (await aysel.reply()).text == "Zəhmət olmasa, aşağıdakı menyudan seçin."
    await aysel.says("/fee")
    assert "Neçə faza" in ((await aysel.reply()).text or "")


async def test_a_russian_speaker_gets_everything_in_russian_without_choosing(
    emulator: BotApiEmulator, bot: object
) -> None:
    oleg = Person(emulator, user_id=1002, first_name="Олег", language_code="ru")
    await oleg.says("/start")
    await oleg.sees("Добро пожаловать!")
    await oleg.says("Помощь")
    assert "Вот что я умею" in ((await oleg.reply()).text or "")


async def test_the_chosen_language_outlives_a_restart_and_the_client_language(
    engine: AsyncEngine, emulator: BotApiEmulator
) -> None:
    oleg = Person(emulator, user_id=1004, first_name="Олег", language_code="ru")
    async with bot_on_emulator(engine, emulator):
        await oleg.says("/start")
        await oleg.sees("Добро пожаловать!")
        await oleg.says("English")
        await oleg.sees("Welcome!")
    async with bot_on_emulator(engine, emulator) as application:
        await oleg.says("/help")
        assert ((await oleg.reply()).text or "").startswith("Here is what I can do")
        # Nothing is kept in memory for him once the update is stored.
        async with asyncio.timeout(5):
            while dict(application.user_data) or dict(application.chat_data):
                await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    "bad_answer", ["", "🙂", "x" * 5000, "'; DROP TABLE citizens; --", "<b>az</b>"]
)
async def test_bad_answer_to_the_language_question_repeats_it(
    aysel: Person, bad_answer: str
) -> None:
    await aysel.says("Dil")
    await aysel.sees("Dili seçin")
    await aysel.says(bad_answer or " ")
    retry = await aysel.reply()
    assert retry.text == "Zəhmət olmasa, aşağıdakı düymələrdən biri ilə dil seçin."
    assert retry.callback_data() == ["lang:az", "lang:ru", "lang:en"]
    await aysel.presses("lang:en")
    assert (await aysel.reply()).text == "English ✓"
    assert (await aysel.reply()).text == "Language changed."


async def test_a_command_during_the_language_question_does_what_it_says(aysel: Person) -> None:
    await aysel.says("/language")
    await aysel.sees("Dili seçin")
    await aysel.says("/help")
    assert ((await aysel.reply()).text or "").startswith("Bu botda nələr edə bilərsiniz")
    await aysel.says("/unknown")
    assert ((await aysel.reply()).text or "").startswith("Belə əmr yoxdur")


async def test_language_can_be_changed_from_the_menu(aysel: Person) -> None:
    await choose_azerbaijani(aysel)
    await aysel.says("Dil")
    await aysel.sees("Dili seçin")
    await aysel.presses("lang:ru")
    assert (await aysel.reply()).text == "Русский ✓"
    assert (await aysel.reply()).text == "Язык изменён."
    assert "Язык" in aysel.keyboard()


async def test_menu_items_answer_help_and_open_their_service(aysel: Person) -> None:
    await choose_azerbaijani(aysel)
    await aysel.says("Kömək")
    assert "Bu botda nələr edə bilərsiniz" in ((await aysel.reply()).text or "")
    await aysel.says("Aktlar və ödənişlər")
    assert ((await aysel.reply()).text or "").startswith("Burada elektrik hesabınız üzrə")


async def test_unknown_input_gets_the_menu_again(aysel: Person) -> None:
    await choose_azerbaijani(aysel)
    await aysel.says("salam, işıq yoxdur")
    reply = await aysel.reply()
    assert reply.text == "Zəhmət olmasa, aşağıdakı menyudan seçin."
    assert aysel.keyboard() == AZ_MENU
    await aysel.says("/foo")
    assert ((await aysel.reply()).text or "").startswith("Belə əmr yoxdur")
    await aysel.shares_location(40.4, 49.8)
    assert (await aysel.reply()).text == "Zəhmət olmasa, aşağıdakı menyudan seçin."


async def test_cancel_works_inside_and_outside_a_dialogue(aysel: Person) -> None:
    await aysel.says("Dil")
    await aysel.sees("Dili seçin")
    await aysel.says("/cancel")
    await aysel.sees("Ləğv edildi.")
    await aysel.says("/cancel")
    assert ((await aysel.reply()).text or "").startswith("Ləğv ediləcək bir şey yoxdur")


async def test_staff_commands_exist_only_for_staff(emulator: BotApiEmulator, aysel: Person) -> None:
    await choose_azerbaijani(aysel)
    await aysel.says("/staff")
    assert ((await aysel.reply()).text or "").startswith("Belə əmr yoxdur")

    staff = Person(emulator, user_id=STAFF_ID, first_name="Rəşad")
    await choose_azerbaijani(staff)
    await staff.says("/staff")
    listing = (await staff.reply()).text or ""
    assert listing.startswith("Əməkdaş əmrləri:")
    assert "/staff" in listing and "/status" in listing
    assert "Telegram 0, SMS 0" in listing  # undelivered notices, none yet


async def test_commands_are_published_in_every_language(
    emulator: BotApiEmulator, aysel: Person
) -> None:
    default = {c["command"]: c["description"] for c in emulator.commands()}
    russian = {c["command"]: c["description"] for c in emulator.commands(language_code="ru")}
    assert default["cancel"] == "Cari addımı dayandır"
    assert russian["language"] == "Сменить язык"


async def test_an_error_is_logged_masked_and_the_citizen_gets_an_apology(
    bot: BotApplication, aysel: Person, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(update: Update, context: BotContext) -> None:
        raise RuntimeError("lookup failed for FIN 5ABCD7K phone +994501234567")

    bot.add_handler(CommandHandler("broken", broken), group=-1)
    await choose_azerbaijani(aysel)
    with caplog.at_level(logging.ERROR):
        await aysel.says("/broken")
        apology = await aysel.reply()
    assert (
        apology.text
        == "Bağışlayın, bizdə xəta baş verdi. Zəhmət olmasa, bir azdan yenidən cəhd edin."
    )
    [record] = [r for r in caplog.records if r.getMessage().startswith("Unhandled error")]
    formatted = MaskingFormatter("%(message)s").format(record)
    assert "RuntimeError: lookup failed for FIN *** phone ***" in formatted
    assert "5ABCD7K" not in formatted and "+994501234567" not in formatted
    # The bot keeps running.
    await aysel.says("Kömək")
    await aysel.sees("Bu botda nələr edə bilərsiniz")
