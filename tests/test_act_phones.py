"""Aktlar and the citizen's numbers (issues 17 and 18): choosing among confirmed numbers
without a new code, and the view of the numbers the bot holds."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.emulator import BotApiEmulator
from chat.context import BotApplication
from conversations import acts as acts_dialogue
from i18n import translate
from storage import applications, citizens
from storage.models import PhoneVerification
from tests.harness import Citizen
from tests.test_act_dialogue import (
    ASK_CODE,
    CODE,
    Sessions,
    az,
    call,
    running,  # noqa: F401  (the fixture)
)
from tests.test_application_results import submission
from tests.test_connection_request import choose_language

NOW_PHONE = "+994501234567"  # her verified number now (her latest application's)
OLD_PHONE = "+994552223344"  # her earlier application's number, on file for the code
USER = 4311


async def two_applications(sessions: Sessions, user_id: int = USER) -> None:
    """An application with OLD_PHONE, then one with NOW_PHONE: both proved when submitted."""
    for key, phone in (("old", OLD_PHONE), ("now", NOW_PHONE)):
        async with sessions.begin() as session:
            await applications.submit(
                session, draft=submission(f"{user_id}-{key}", phone), telegram_user_id=user_id,
                chat_id=user_id, locale="az",
            )  # fmt: skip


async def codes_asked(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PhoneVerification)) or 0)


async def test_a_citizen_with_two_confirmed_numbers_chooses_one_and_needs_no_code(
    running: tuple[BotApplication, str],  # noqa: F811
    emulator: BotApiEmulator,
    session_factory: Sessions,
) -> None:
    """Before, the bot tried her current number only and refused the code on file for the other."""
    _, base = running
    await call("PUT", f"{base}/api/subscribers/{CODE}", {"phone": OLD_PHONE})
    await two_applications(session_factory)
    aysel = Citizen(emulator, USER)
    await choose_language(aysel, "az")
    await aysel.says("Aktlar və ödənişlər")
    await aysel.sees(az(ASK_CODE))
    await aysel.says(CODE)
    asked = await aysel.reply()
    assert az(acts_dialogue.CHOOSE_PHONE_QUESTION) in (asked.text or ""), asked.text
    assert [b["text"] for b in asked.buttons()] == [
        NOW_PHONE, OLD_PHONE, az("📱 Share my number"), az("Cancel"),
    ]  # fmt: skip
    await aysel.says(OLD_PHONE)  # the reply keyboard's button arrives as text
    used = await aysel.reply()
    assert (used.text or "") == translate("We use your confirmed number {phone}.", "az").format(
        phone=OLD_PHONE
    )
    assert "keyboard" in (used.reply_markup or {})  # the menu is back
    await aysel.sees(
        az("The subscriber code {code} is added. We will tell you here about its acts.")
    )
    assert await codes_asked(session_factory) == 0  # no SMS code for a confirmed number
    async with session_factory() as session:
        stored = await citizens.by_telegram_user(session, USER)
        assert stored is not None and stored.phone_e164 == OLD_PHONE and stored.phone_verified


async def test_a_number_someone_else_has_proved_since_is_not_offered(
    running: tuple[BotApplication, str],  # noqa: F811
    emulator: BotApiEmulator,
    session_factory: Sessions,
) -> None:
    await two_applications(session_factory)
    async with session_factory.begin() as session:  # OLD_PHONE was recycled to another person
        other = await citizens.register_telegram_user(
            session, telegram_user_id=4312, chat_id=4312, locale="az"
        )
        await citizens.remember_verified_phone(session, other, OLD_PHONE)
    aysel = Citizen(emulator, USER)
    await choose_language(aysel, "az")
    await aysel.says("Aktlar və ödənişlər")
    await aysel.sees(az(ASK_CODE))
    await aysel.says(CODE)  # one confirmed number left: used as before, nothing to choose
    refusal = await aysel.sees(az(acts_dialogue.NOT_LINKED).split("{phone}")[0])
    assert NOW_PHONE in (refusal.text or "") and OLD_PHONE not in (refusal.text or "")
    seen = " ".join(m.text or "" for m in emulator.messages(USER))
    assert OLD_PHONE not in seen
