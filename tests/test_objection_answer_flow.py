"""Closing the loops end to end (issue 18, items 2 and 3): staff answer an objection over the
API or from its Telegram message, and the citizen reads the answer in the chat and by SMS (one
segment); an application left unpaid past its payment deadline is closed once, with a notice,
and not again on a second run or after a restart.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.context import BotApplication
from delivery import deadlines
from delivery.notices import DEADLINE_ACTOR, DEADLINE_PASSED
from domain.acts import BAKU
from domain.application_status import ApplicationStatus
from domain.sms import sms_size
from emulator import BotApiEmulator
from storage.models import Application, ApplicationStatusChange, Channel, Citizen, OutboxMessage
from tests import test_act_dialogue
from tests.harness import Citizen as Person
from tests.test_act_dialogue import (
    AYSEL_PHONE,
    RECEIPT,
    STAFF,
    TOKEN,
    az,
    deliver,
    outbox_rows,
    to_objection,
)
from tests.test_staff_api import make_application

running = test_act_dialogue.running  # the bot with the acts and objections API
Sessions = async_sessionmaker[AsyncSession]
ANSWER = "Yoxlama göstərdi ki, qızdırıcı evdə yoxdur; aktın məbləği ləğv edilir."


async def post(url: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        http.post(url, json=body) as response,
    ):
        return response.status, await response.json()


async def objected(person: Person, base: str, number: str) -> str:
    await to_objection(person, base, number)
    await person.says("Sayğac qapının arxasındadır, heç bir qızdırıcı yoxdur.")
    await person.reply()
    await person.presses("ak:send")
    message = await person.sees(az(RECEIPT))
    word = next(w for w in (message.text or "").split() if w.startswith("ET-"))
    return word.rstrip(".,")


async def test_staff_answer_by_api_reaches_the_citizen_in_chat_and_one_sms(
    running: tuple[BotApplication, str], emulator: BotApiEmulator, session_factory: Sessions
) -> None:
    application, base = running
    emulator.add_user(STAFF)
    aysel = Person(emulator, 4311)
    receipt = await objected(aysel, base, "AKT-2026-0061")
    await deliver(application, session_factory)

    url = f"{base}/api/objections/{receipt}/answer"
    status, answered = await post(
        url, {"outcome": "upheld", "text": ANSWER, "actor": "staff-1", "act": "cancel"}
    )
    assert status == 200, answered
    assert answered["objection"]["state"] == "answered"  # type: ignore[index]
    assert answered["act"]["status"] == "cancelled"  # type: ignore[index]
    await deliver(application, session_factory)
    told = await emulator.wait_for_text(aysel.user_id, receipt)
    assert ANSWER in (told.text or "") and "Təmin edildi" in (told.text or "")
    [sms] = await outbox_rows(session_factory, f"objection:{receipt}:answer:sms")
    assert sms.channel == Channel.SMS and sms.recipient == AYSEL_PHONE
    size = sms_size(sms.payload["text"])
    assert size.encoding == "gsm7" and size.segments == 1, sms.payload
    assert receipt in sms.payload["text"]
    # Answered once.
    again, refused = await post(url, {"outcome": "rejected", "text": ANSWER, "actor": "staff-1"})
    assert (again, refused["error"]) == (409, "already_answered")


async def test_staff_answer_from_the_telegram_button(
    running: tuple[BotApplication, str], emulator: BotApiEmulator, session_factory: Sessions
) -> None:
    application, base = running
    emulator.add_user(STAFF)
    aysel = Person(emulator, 4312)
    receipt = await objected(aysel, base, "AKT-2026-0062")
    await deliver(application, session_factory)
    staff = Person(emulator, STAFF)
    told = await emulator.wait_for_text(STAFF, receipt)
    assert f"oa:{receipt}" in told.callback_data()
    await staff.presses(f"oa:{receipt}")
    choose = await staff.reply()
    assert "oa:o:rejected" in choose.callback_data(), choose.text
    await staff.presses("oa:o:rejected")
    await staff.reply()
    await staff.says("Aktdakı ölçmələr təsdiq olunur; etiraz rədd edilir.")
    preview = await staff.reply()
    assert "oa:send" in preview.callback_data(), preview.text
    await staff.presses("oa:send")
    await staff.reply()
    await deliver(application, session_factory)
    answer = await emulator.wait_for_text(aysel.user_id, "Rədd edildi")
    assert "etiraz rədd edilir" in (answer.text or "")


async def test_an_unpaid_application_is_closed_once_after_its_deadline(
    running: tuple[BotApplication, str], emulator: BotApiEmulator, session_factory: Sessions
) -> None:
    application, _ = running
    services = application.bot_data["services"]
    # Noon in Baku today: the runs below an hour apart fall on one Baku day at any hour
    # (at 23:30 in Baku, an hour later was tomorrow and the run counted as a new day's).
    now = datetime.now(BAKU).replace(hour=12, minute=0, second=0, microsecond=0).astimezone(UTC)
    pending = await make_application(
        services, status=str(ApplicationStatus.PAYMENT_PENDING), created_at=now - timedelta(days=45)
    )
    async with session_factory() as session:
        citizen = await session.get(Citizen, pending.citizen_id)
        assert citizen is not None and citizen.telegram_chat_id is not None
        chat = citizen.telegram_chat_id
    emulator.add_user(chat)

    first = await deadlines.run_day(session_factory, now, [STAFF])
    assert first.ran and first.closed == 1
    assert not (await deadlines.run_day(session_factory, now + timedelta(minutes=5), [STAFF])).ran
    # A restart: a fresh session factory on the same database, the same day.
    restarted = async_sessionmaker(session_factory.kw["bind"], expire_on_commit=False)
    assert not (await deadlines.run_day(restarted, now + timedelta(hours=1), [STAFF])).ran
    # The next day finds nothing left to close.
    assert (await deadlines.run_day(restarted, now + timedelta(days=1), [STAFF])).closed == 0

    async with session_factory() as session:
        stored = await session.get(Application, pending.id)
        assert stored is not None and stored.status == ApplicationStatus.REJECTED
        changes = await session.scalar(
            select(func.count()).where(
                ApplicationStatusChange.application_id == pending.id,
                ApplicationStatusChange.actor == DEADLINE_ACTOR,
            )
        )
        assert changes == 1
        notices = await session.scalar(
            select(func.count()).where(OutboxMessage.citizen_id == pending.citizen_id)
        )
        assert notices and notices >= 1
    await deliver(application, session_factory)
    notice = await emulator.wait_for_text(chat, pending.number)
    assert az(DEADLINE_PASSED) in (notice.text or "")
