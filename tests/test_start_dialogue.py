"""First contact: /start, the language, the menu, help, unknown input, staff, errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import CommandHandler

from bot.emulator import BotApiEmulator
from bot.logs import MaskingFormatter
from chat.context import BotApplication, BotContext
from storage.models import Citizen
from tests.harness import Citizen as Person
from tests.harness import bot_on_emulator

STAFF_ID = 777
AZ_MENU = [
    "Qoşulma müraciəti",
    "Haqqı hesabla",
    "Müraciətlərim",
    "Aktlar və ödənişlər",
    "Bildirişlər",
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


async def choose_azerbaijani(person: Person) -> None:
    await person.says("/start")
    await person.sees("Dili seçin")
    await person.presses("lang:az")
    await person.sees("Xoş gəlmisiniz")


async def test_first_start_greets_with_the_menu_and_asks_the_language(
    aysel: Person, emulator: BotApiEmulator, engine: AsyncEngine
) -> None:
    await aysel.says("/start")
    first = await aysel.reply()
    assert (first.text or "").startswith("Xoş gəlmisiniz!")
    assert aysel.keyboard() == AZ_MENU
    question = await aysel.reply()
    assert question.text == "Dili seçin · Выберите язык · Choose your language"
    assert question.callback_data() == ["lang:az", "lang:ru", "lang:en"]

    await aysel.presses("lang:az")
    confirmation = await aysel.reply()
    assert confirmation.is_edit and confirmation.text == "Azərbaycanca ✓"
    greeting = await aysel.reply()
    assert greeting.text is not None
    assert greeting.text.startswith("Xoş gəlmisiniz! Bu, «Azərişıq» ASC-nin vətəndaşlar üçün")
    assert aysel.keyboard() == AZ_MENU

    async with engine.connect() as connection:
        stored = (await connection.execute(select(Citizen.locale, Citizen.telegram_chat_id))).all()
    assert stored == [("az", 1001)]


async def test_second_start_goes_straight_to_the_menu(aysel: Person) -> None:
    await choose_azerbaijani(aysel)
    await aysel.says("/start")
    assert ((await aysel.reply()).text or "").startswith("Xoş gəlmisiniz")
    await aysel.says("/help")
    assert ((await aysel.reply()).text or "").startswith("Bu botda nələr")  # no language question


async def test_the_menu_works_without_answering_the_language_question(aysel: Person) -> None:
    await aysel.says("/start")
    await aysel.sees("Dili seçin")
    await aysel.says("Kömək")
    assert ((await aysel.reply()).text or "").startswith("Bu botda nələr edə bilərsiniz")
    await aysel.says("nə isə")  # the question is over: free text gets the menu prompt
    assert (await aysel.reply()).text == "Zəhmət olmasa, aşağıdakı menyudan seçin."


async def test_a_russian_speaker_gets_everything_in_russian(
    emulator: BotApiEmulator, bot: object
) -> None:
    oleg = Person(emulator, user_id=1002, first_name="Олег", language_code="ru")
    await oleg.says("/start")
    await oleg.sees("Выберите язык")
    await oleg.says("какой-то текст")
    retry = await oleg.reply()
    assert retry.text == "Пожалуйста, выберите язык одной из кнопок ниже."
    assert retry.callback_data() == ["lang:az", "lang:ru", "lang:en"]
    await oleg.says("Русский")
    await oleg.sees("Добро пожаловать!")
    assert oleg.keyboard()[:2] == ["Заявка на подключение", "Рассчитать плату"]
    await oleg.says("Помощь")
    assert "Вот что я умею" in ((await oleg.reply()).text or "")


@pytest.mark.parametrize(
    "bad_answer", ["", "🙂", "x" * 5000, "'; DROP TABLE citizens; --", "<b>az</b>", "/unknown"]
)
async def test_bad_answer_to_the_language_question_repeats_it(
    aysel: Person, bad_answer: str
) -> None:
    await aysel.says("/start")
    await aysel.sees("Dili seçin")
    await aysel.says(bad_answer or " ")
    retry = await aysel.reply()
    assert retry.text == "Zəhmət olmasa, aşağıdakı düymələrdən biri ilə dil seçin."
    assert retry.callback_data() == ["lang:az", "lang:ru", "lang:en"]
    await aysel.presses("lang:en")
    await aysel.sees("Welcome!")


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
    assert ((await aysel.reply()).text or "").startswith("Bu əmri tanımıram")
    await aysel.shares_location(40.4, 49.8)
    assert (await aysel.reply()).text == "Zəhmət olmasa, aşağıdakı menyudan seçin."


async def test_cancel_works_inside_and_outside_a_dialogue(aysel: Person) -> None:
    await aysel.says("/start")
    await aysel.sees("Dili seçin")
    await aysel.says("/cancel")
    await aysel.sees("Ləğv edildi.")
    await aysel.says("/cancel")
    assert ((await aysel.reply()).text or "").startswith("Ləğv ediləcək bir şey yoxdur")


async def test_staff_commands_exist_only_for_staff(emulator: BotApiEmulator, aysel: Person) -> None:
    await choose_azerbaijani(aysel)
    await aysel.says("/staff")
    assert ((await aysel.reply()).text or "").startswith("Bu əmri tanımıram")

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
