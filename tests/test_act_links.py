"""The citizen is in control of their links (issue 18, item 4): «Kodu sil» unlinks a subscriber
code in Aktlar, and «Nömrələrim» shows the numbers the bot holds for them and removes one, saying
what that stops. Through the emulator, with the acts API on a local port."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.context import BotApplication
from conversations import acts as acts_dialogue
from delivery.act_reminders import queue_due_reminders
from domain.acts import BAKU
from emulator import BotApiEmulator
from i18n import translate
from storage import citizens
from storage.models import Application
from tests.harness import Citizen
from tests.test_act_dialogue import (
    ASK_CODE,
    ASK_PHONE,
    AYSEL_PHONE,
    CODE,
    act_body,
    az,
    call,
    deliver,
    link_code,
    running,  # noqa: F401  (the fixture)
)
from tests.test_act_phones import NOW_PHONE, OLD_PHONE, two_applications
from tests.test_connection_request import choose_language

Sessions = async_sessionmaker[AsyncSession]
OTHER_CODE = "100200300400599"
ADDED = "The subscriber code {code} is added. We will tell you here about its acts."


def exact(msgid: str, **values: str) -> str:
    return translate(msgid, "az").format(**values)


def messages_about(emulator: BotApiEmulator, user_id: int, needle: str) -> list[str]:
    return [m.text or "" for m in emulator.messages(user_id) if needle in (m.text or "")]


async def test_an_unlinked_code_is_not_listed_and_its_new_acts_send_no_notice_here(
    running: tuple[BotApplication, str],  # noqa: F811
    emulator: BotApiEmulator,
    session_factory: Sessions,
) -> None:
    application, base = running
    for code in (CODE, OTHER_CODE):
        await call("PUT", f"{base}/api/subscribers/{code}", {"phone": AYSEL_PHONE})
    aysel = Citizen(emulator, 4501)
    await choose_language(aysel, "az")
    await link_code(aysel, AYSEL_PHONE)
    await aysel.sees(exact(ADDED, code=CODE))
    listing = await aysel.reply()
    assert "ak:unlink" in listing.callback_data() and "ak:numbers" in listing.callback_data()
    assert [b["text"] for b in listing.buttons()][-3:] == ["Kodu sil", "Nömrələrim", "Bağla"]
    await aysel.presses("ak:add")
    await aysel.sees(az(ASK_CODE))
    await aysel.says(OTHER_CODE)  # her verified number is on file: linked at once
    await aysel.sees(exact("Your subscriber codes: {codes}.", codes=f"{CODE}, {OTHER_CODE}"))

    # «Kodu sil»: which code, then what stops; «Xeyr» changes nothing.
    await aysel.presses("ak:unlink")
    which = await aysel.sees(az("Which subscriber code should we remove?"))
    assert which.callback_data() == [f"ak:unlink:{CODE}", f"ak:unlink:{OTHER_CODE}", "ak:list"]
    await aysel.presses(f"ak:unlink:{OTHER_CODE}")
    asked = await aysel.reply()
    assert asked.text == exact(acts_dialogue.UNLINK_QUESTION, code=OTHER_CODE)
    assert [b["text"] for b in asked.buttons()] == ["Bəli, sil", "Xeyr"]
    await aysel.presses("ak:list")
    await aysel.sees(exact("Your subscriber codes: {codes}.", codes=f"{CODE}, {OTHER_CODE}"))
    await aysel.presses("ak:unlink")
    await aysel.presses(f"ak:unlink:{OTHER_CODE}")
    await aysel.sees(az(acts_dialogue.UNLINK_QUESTION))
    await aysel.presses(f"ak:unlink!:{OTHER_CODE}")
    await aysel.sees(exact(acts_dialogue.UNLINKED, code=OTHER_CODE))
    await aysel.sees(exact("Your subscriber codes: {codes}.", codes=CODE))
    await aysel.presses(f"ak:unlink!:{OTHER_CODE}")  # the old button again: nothing to remove
    await aysel.sees(exact("Your subscriber codes: {codes}.", codes=CODE))
    answers = [a.text for a in emulator.callback_answers(aysel.user_id)]
    assert az("This subscriber code is not among yours.") in answers

    # A new act for the removed code: no notice in her chat, no reminder; the other still tells.
    today = datetime.now(UTC).astimezone(BAKU).date()
    other_act = {**act_body("AKT-L-1", today), "subscriber_code": OTHER_CODE}
    gone = await call("POST", f"{base}/api/acts", other_act)
    assert gone["notices_queued"] == 1  # the SMS to the consumer's phone on the act only
    kept = await call("POST", f"{base}/api/acts", act_body("AKT-L-2", today))
    assert kept["notices_queued"] == 2
    await deliver(application, session_factory)
    await aysel.sees("AKT-L-2")
    for days in (7, 9, 10):  # 3 days and 1 day before the due date, and on it
        noon = datetime.combine(today + timedelta(days=days), time(12), tzinfo=BAKU)
        # AKT-L-2 in Telegram and by SMS; AKT-L-1 by SMS to its consumer phone only
        assert await queue_due_reminders(session_factory, noon) == 3
    await deliver(application, session_factory)
    assert messages_about(emulator, aysel.user_id, "AKT-L-1") == []
    await aysel.says("Aktlar və ödənişlər")
    listing = await aysel.sees(exact("Your subscriber codes: {codes}.", codes=CODE))
    assert "AKT-L-1" not in (listing.text or "") and "AKT-L-2" in (listing.text or "")

    # The last code removed: the code question again (one code: asked about at once).
    await aysel.presses("ak:unlink")
    await aysel.sees(exact(acts_dialogue.UNLINK_QUESTION, code=CODE))
    await aysel.presses(f"ak:unlink!:{CODE}")
    await aysel.sees(exact(acts_dialogue.UNLINKED, code=CODE))
    await aysel.sees(az(ASK_CODE))


async def numbers_view(person: Citizen) -> None:
    await person.says("Aktlar və ödənişlər")
    asked = await person.sees(az(ASK_CODE))
    assert asked.callback_data() == ["ak:numbers", "ak:close"]  # no codes yet: «Nömrələrim» here
    await person.presses("ak:numbers")


async def test_a_removed_number_is_shown_as_such_and_not_offered_again_without_a_new_code(
    running: tuple[BotApplication, str],  # noqa: F811
    emulator: BotApiEmulator,
    session_factory: Sessions,
) -> None:
    _, base = running
    await call("PUT", f"{base}/api/subscribers/{CODE}", {"phone": OLD_PHONE})
    await two_applications(session_factory, 4502)
    async with session_factory() as session:
        mine = {a.phone_e164: a.number for a in (await session.scalars(select(Application)))}
    aysel = Citizen(emulator, 4502)
    await choose_language(aysel, "az")
    await numbers_view(aysel)
    view = await aysel.sees(az(acts_dialogue.NUMBERS_HEAD))
    text = view.text or ""
    assert text.index(NOW_PHONE) < text.index(OLD_PHONE)  # the verified one first
    assert az(acts_dialogue.NUMBER_CURRENT) in text
    assert exact(acts_dialogue.NUMBER_APPLICATIONS, numbers=mine[OLD_PHONE]) in text
    removals = [f"ak:unphone:{NOW_PHONE}", f"ak:unphone:{OLD_PHONE}"]
    assert view.callback_data() == [*removals, "ak:list"]

    # What removing it stops, honestly: the codes (none rely on it), and the SMS that go on.
    await aysel.presses(f"ak:unphone:{OLD_PHONE}")
    asked = await aysel.reply()
    assert asked.text == "\n\n".join(
        (
            exact(acts_dialogue.REMOVE_PHONE_QUESTION, phone=OLD_PHONE),
            exact(acts_dialogue.REMOVE_KEEPS_SMS, numbers=mine[OLD_PHONE]),
        )
    )
    assert asked.callback_data() == [f"ak:unphone!:{OLD_PHONE}", "ak:numbers"]
    await aysel.presses("ak:numbers")  # «Xeyr»
    await aysel.sees(az(acts_dialogue.NUMBERS_HEAD))
    await aysel.presses(f"ak:unphone:{OLD_PHONE}")
    await aysel.sees(az(acts_dialogue.REMOVE_PHONE_QUESTION))
    await aysel.presses(f"ak:unphone!:{OLD_PHONE}")
    done = await aysel.sees(exact("The number {phone} is removed.", phone=OLD_PHONE))
    assert az(acts_dialogue.NUMBER_REMOVED) in (done.text or "")  # still in the application
    assert done.callback_data() == [f"ak:unphone:{NOW_PHONE}", "ak:list"]

    # The code on file for OLD_PHONE: it is no longer offered; her verified number is tried.
    seen_before = len(emulator.messages(aysel.user_id))
    await aysel.presses("ak:list")
    await aysel.sees(az(ASK_CODE))
    await aysel.says(CODE)
    refusal = await aysel.sees(az(acts_dialogue.NOT_LINKED).split("{phone}")[0])
    assert NOW_PHONE in (refusal.text or "")
    since = emulator.messages(aysel.user_id)[seen_before:]
    assert not any(OLD_PHONE in b["text"] for m in since for b in m.buttons())

    # Proved anew (a new code, or her own contact), it is hers again.
    async with session_factory.begin() as session:
        stored = await citizens.by_telegram_user(session, aysel.user_id)
        assert stored is not None
        await citizens.remember_verified_phone(session, stored, OLD_PHONE)
    await aysel.presses("ak:numbers")
    again = await aysel.sees(az(acts_dialogue.NUMBERS_HEAD))
    assert az(acts_dialogue.NUMBER_REMOVED) not in (again.text or "")


async def test_removing_the_verified_phone_says_which_codes_go_quiet_and_they_do(
    running: tuple[BotApplication, str],  # noqa: F811
    emulator: BotApiEmulator,
    session_factory: Sessions,
) -> None:
    application, base = running
    await call("PUT", f"{base}/api/subscribers/{CODE}", {"phone": AYSEL_PHONE})
    aysel = Citizen(emulator, 4503)
    await choose_language(aysel, "az")
    await link_code(aysel, AYSEL_PHONE)
    await aysel.sees(exact("Your subscriber codes: {codes}.", codes=CODE))
    await aysel.presses("ak:numbers")
    view = await aysel.sees(az(acts_dialogue.NUMBERS_HEAD))
    assert AYSEL_PHONE in (view.text or "") and az(acts_dialogue.NUMBER_CURRENT) in (
        view.text or ""
    )
    await aysel.presses(f"ak:unphone:{AYSEL_PHONE}")
    asked = await aysel.reply()
    assert asked.text == "\n\n".join(
        (
            exact(acts_dialogue.REMOVE_PHONE_QUESTION, phone=AYSEL_PHONE),
            exact(acts_dialogue.REMOVE_STOPS_CODES, codes=CODE),
        )
    )
    await aysel.presses(f"ak:unphone!:{AYSEL_PHONE}")
    done = await aysel.sees(exact("The number {phone} is removed.", phone=AYSEL_PHONE))
    assert az("We hold no numbers for you.") in (done.text or "")
    assert done.callback_data() == ["ak:list"]
    await aysel.presses(f"ak:unphone!:{AYSEL_PHONE}")  # the old button again
    await aysel.sees(az("We hold no numbers for you."))
    answers = [a.text for a in emulator.callback_answers(aysel.user_id)]
    assert az("This number is not among yours.") in answers

    # Her code went quiet: a new act sends nothing here; adding a code needs a new proof.
    today = datetime.now(UTC).astimezone(BAKU).date()
    act = await call("POST", f"{base}/api/acts", act_body("AKT-L-3", today))
    assert act["notices_queued"] == 1  # the SMS to the act's consumer phone only
    await deliver(application, session_factory)
    assert messages_about(emulator, aysel.user_id, "AKT-L-3") == []
    await aysel.says("Aktlar və ödənişlər")
    await aysel.sees(az(ASK_CODE))
    await aysel.says(CODE)
    asked_phone = await aysel.sees(az(ASK_PHONE))  # no confirmed number to choose
    assert AYSEL_PHONE not in str(asked_phone.buttons())
