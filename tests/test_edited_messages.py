"""Editing an earlier message is never an answer: inside a dialogue the bot says so, outside
it ignores the edit; the dialogue stays at its question either way.

Before handlers/edits.py an edit reached the dialogues as if it were a new message: correcting
the first name while the bot asked for the surname gave the surname; correcting the phone
while the bot waited for the SMS code was checked as the code; a corrected district became
the text of a broadcast; an edit to "/apply" started a connection request.
"""

from __future__ import annotations

import itertools
import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import ConversationHandler

from chat.context import BotApplication
from chat.conversation import active_dialogue
from conversations import broadcast as bc
from conversations import connection_request as cr
from conversations.connection_draft import DRAFT_KEY
from emulator import BotApiEmulator
from handlers import edits
from i18n import translate
from storage import acts
from storage.models import OutboxMessage
from tests.harness import Citizen, bot_on_emulator
from tests.test_connection_request import choose_language, head, question

CODE = "100200300400500"
Sessions = async_sessionmaker[AsyncSession]
STAFF = 4699


def az(msgid: str) -> str:
    return head(msgid, "az")


def notice(dialogue: str | None, locale: str = "az") -> str:
    hint = translate(edits.HINTS.get(dialogue or "", edits.GO_ON), locale)
    hint = hint.format(edit=translate(edits.EDIT_BUTTON, locale))
    return f"{translate(edits.NOT_AN_ANSWER, locale)} {hint}"


def dialogue_of(application: BotApplication, citizen: Citizen) -> str | None:
    """Which dialogue the citizen is in (read as handlers/edits.py reads it)."""
    from telegram import Chat, Message, Update, User

    user = User(citizen.user_id, "x", is_bot=False)
    chat = Chat(citizen.user_id, Chat.PRIVATE)
    update = Update(1, message=Message(1, None, chat, from_user=user))  # type: ignore[arg-type]
    handlers = itertools.chain.from_iterable(application.handlers.values())
    return active_dialogue(list(handlers), update)


async def outbox_count(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def test_a_corrected_first_name_is_not_the_surname(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=4601)
    await choose_language(aysel, "az")
    await aysel.says(translate("Connection request", "az"))
    await aysel.sees(question(cr.FIRST_NAME, "az"))
    await aysel.says("Aysel")
    await aysel.sees(question(cr.LAST_NAME, "az"))

    await aysel.edits("Aysel", "Aytən")
    reply = await aysel.reply()
    assert reply.text == notice("connection_request"), reply.text
    assert "«Düzəliş et»" in reply.text
    draft = bot.user_data[aysel.user_id][DRAFT_KEY]
    assert (draft["first_name"], draft["state"]) == ("Aysel", cr.LAST_NAME)
    assert dialogue_of(bot, aysel) == "connection_request"

    # the question on screen is still the surname's, and the dialogue goes on from it
    await aysel.says("Məmmədova")
    await aysel.sees(question(cr.PATRONYMIC, "az"))
    draft = bot.user_data[aysel.user_id][DRAFT_KEY]
    assert (draft["first_name"], draft["last_name"]) == ("Aysel", "Məmmədova")


async def test_a_corrected_phone_is_not_checked_as_the_sms_code(
    emulator: BotApiEmulator, bot: BotApplication, session_factory: Sessions
) -> None:
    sessions = session_factory
    async with sessions.begin() as session:
        await acts.upsert_subscriber(session, CODE, phone="+994501234567")
    aysel = Citizen(emulator, user_id=4602)
    await choose_language(aysel, "az")
    await aysel.says("/acts")
    await aysel.says("100 200 300 400 500")
    await aysel.says("050 123 45 67")
    while "ak:resend" not in (await aysel.reply()).callback_data():
        pass  # the SMS code's question, with «Send the code again»
    sent = await outbox_count(sessions)

    await aysel.edits("050 123 45 67", "055 222 33 44")
    reply = await aysel.reply()
    assert reply.text == notice("acts"), reply.text
    assert await outbox_count(sessions) == sent  # no new code, no other number looked up

    async with sessions() as session:
        texts = (await session.execute(select(OutboxMessage.payload))).scalars().all()
    [code] = [m.group(1) for t in texts if (m := re.search(r"\b(\d{6})\b", t.get("text", "")))]
    await aysel.says(code)
    await aysel.sees(
        az("The subscriber code {code} is added. We will tell you here about its acts.")
    )


async def test_a_corrected_district_is_not_the_text_of_a_broadcast(
    engine: AsyncEngine, emulator: BotApiEmulator
) -> None:
    async with bot_on_emulator(engine, emulator, staff_ids=[STAFF]) as application:
        staff = Citizen(emulator, STAFF, first_name="Rəşad")
        await choose_language(staff, "az")
        await staff.says("/broadcast")
        await staff.sees(az("Who should receive the broadcast?"))
        await staff.presses("bc:aud:districts")
        await staff.sees(az("Type the districts, separated by commas (e.g. Sumqayıt, Şəki):"))
        await staff.says("sumqayit")
        await staff.sees(az("How should it be sent?"))
        await staff.presses("bc:ch:telegram")
        await staff.sees(az(bc.ASK_TEXT))

        await staff.edits("sumqayit", "Şəki")
        reply = await staff.reply()
        assert reply.text == notice("broadcast"), reply.text
        assert dialogue_of(application, staff) == "broadcast"
        await staff.says("Sabah işıq olmayacaq.")
        preview = await staff.sees(az("Preview, exactly as citizens will see it:"))
        assert "Sabah işıq olmayacaq." in (preview.text or "")
        assert "Şəki" not in (preview.text or "")


async def test_outside_a_dialogue_an_edit_is_ignored(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    rashad = Citizen(emulator, user_id=4603)
    await choose_language(rashad, "az")
    await rashad.says("/help")
    help_text = (await rashad.reply()).text
    assert dialogue_of(bot, rashad) is None

    await rashad.edits("/help", "/apply")  # before: the edit started a connection request
    await rashad.says("/help")
    assert (await rashad.reply()).text == help_text  # nothing was sent in between
    assert dialogue_of(bot, rashad) is None
    assert DRAFT_KEY not in bot.user_data.get(rashad.user_id, {})


async def test_the_hints_name_real_dialogues(bot: BotApplication) -> None:
    names = {
        handler.name
        for group in bot.handlers.values()
        for handler in group
        if isinstance(handler, ConversationHandler)
    }
    assert set(edits.HINTS) <= names
    assert {"connection_request", "acts", "broadcast"} <= names
