"""The connection request's flow (issue 17): cancelling, the code, one message per question."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulator import BotApiEmulator
from chat.context import BotApplication
from conversations import connection_request as cr
from conversations.connection_draft import DRAFT_KEY
from i18n import translate
from tests.harness import Citizen
from tests.test_connection_request import answer, choose_language, press, question


def az(msgid: str) -> str:
    return translate(msgid, "az")


async def test_cancel_asks_first_and_no_returns_to_the_same_question(
    emulator: BotApiEmulator, bot: BotApplication, engine: AsyncEngine
) -> None:
    """Without the confirmation one tap on «Ləğv et» deleted every answer."""
    aysel = Citizen(emulator, user_id=2701)
    await choose_language(aysel, "az")
    await aysel.says(az("Connection request"))
    await aysel.sees(question(cr.FIRST_NAME, "az"))
    await answer(aysel, "Aysel", question(cr.LAST_NAME, "az"))

    confirm = await press(aysel, cr.CANCEL, az(cr.CANCEL_QUESTION))
    assert confirm.callback_data() == [cr.CANCEL_YES, cr.CANCEL_NO]
    assert bot.user_data[aysel.user_id][DRAFT_KEY]["first_name"] == "Aysel"  # nothing lost yet
    await press(aysel, cr.CANCEL_NO, question(cr.LAST_NAME, "az"))
    await answer(aysel, "Məmmədova", question(cr.PATRONYMIC, "az"))  # the dialogue goes on

    await press(aysel, cr.CANCEL, az(cr.CANCEL_QUESTION))
    await press(aysel, cr.CANCEL_YES, az("The application was cancelled and its draft deleted."))
    assert DRAFT_KEY not in bot.user_data[aysel.user_id]
    await aysel.says(az("Connection request"))
    await aysel.sees(question(cr.FIRST_NAME, "az"))  # afresh: no "continue where you stopped?"
