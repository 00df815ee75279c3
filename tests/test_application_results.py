"""Application results in the chat: «Müraciətlərim», lookup by number, withdrawal, staff /status."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chat.context import BotApplication
from delivery.notices import STATUS_LABELS
from domain.application_status import ApplicationStatus
from emulator import BotApiEmulator
from handlers import my_applications, staff_status
from i18n import translate
from storage import applications, citizen_applications
from storage.models import Application, ApplicationStatusChange, OutboxMessage
from tests.harness import Citizen, bot_on_emulator
from tests.test_connection_request import choose_language

AYSEL, OLEG, STAFF = 4001, 4002, 4999


def submission(
    key: str, phone: str = "+994501234567", **changes: object
) -> applications.Submission:
    values: dict[str, object] = {
        "submit_key": key, "first_name": "Aysel", "last_name": "Məmmədova", "patronymic": None,
        "fin": "5ABC7D8", "id_card": "AA1234567", "execution_period": "standard-24d",
        "phase": 1, "power_kw": Decimal("7.5"), "object_type": "house",
        "has_general_conditions": None, "district": "Sumqayıt", "regional_unit": "Abşeron-Xızı",
        "registry_number": "1", "registration_number": "2", "latitude": 40.59,
        "longitude": 49.67, "distance_m": 250, "power_centre": "Sumqayıt — 1", "phone": phone,
        "email": "aysel@mail.az", "fee_amount": Decimal("300.00"),
        "fee_rule_set": "tariff-council-4-2024", "quote": {"amount": "300.00"},
    }  # fmt: skip
    values.update(changes)
    return applications.Submission(**values)  # type: ignore[arg-type]


async def submitted(
    sessions: async_sessionmaker[AsyncSession], user_id: int, key: str, locale: str = "az"
) -> str:
    async with sessions.begin() as session:
        stored, _ = await applications.submit(
            session, draft=submission(key), telegram_user_id=user_id, chat_id=user_id,
            locale=locale,
        )  # fmt: skip
        return stored.number


def az(msgid: str) -> str:
    return translate(msgid, "az")


def label(status: ApplicationStatus) -> str:
    return az(STATUS_LABELS[status])


async def start(person: Citizen) -> None:
    await choose_language(person, "az")


async def test_my_applications_lists_shows_history_and_finds_by_number(
    emulator: BotApiEmulator, bot: BotApplication, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    aysel = Citizen(emulator, AYSEL)
    await start(aysel)
    await aysel.says("Müraciətlərim")
    await aysel.sees(az("You have no applications yet. To apply, press «Connection request».")[:30])

    number = await submitted(session_factory, AYSEL, "k1")
    await aysel.says("Müraciətlərim")
    listing = await aysel.sees(number)
    assert label(ApplicationStatus.REGISTERED) in (listing.text or "")
    assert listing.callback_data() == [f"my:{number}"]
    await aysel.presses(f"my:{number}")
    detail = await aysel.sees(az("History:"))
    assert number in (detail.text or "") and "300,00" in (detail.text or "")
    assert detail.callback_data() == [f"my:withdraw:{number}"]
    await aysel.says(f"  {number.lower()} ")
    assert number in ((await aysel.sees(az("History:"))).text or "")


async def test_another_citizen_gets_the_same_not_found_as_for_a_missing_number(
    emulator: BotApiEmulator, bot: BotApplication, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    number = await submitted(session_factory, AYSEL, "k2")
    oleg = Citizen(emulator, OLEG)
    await start(oleg)
    await oleg.says(number)
    theirs = (await oleg.reply()).text or ""
    await oleg.says("QM-2026-999999")
    missing = (await oleg.reply()).text or ""
    assert theirs == missing.replace("QM-2026-999999", number)
    assert theirs.startswith(az(my_applications.NOT_FOUND).split("{", 1)[0])
    assert "Aysel" not in theirs

    # Every button handler looks the number up through the same owner check.
    async with session_factory() as session:
        assert await citizen_applications.one_of_mine(session, OLEG, number) is None
        assert await citizen_applications.one_of_mine(session, AYSEL, number) is not None
        assert await citizen_applications.mine(session, OLEG) == []


async def test_withdrawal_with_confirmation_while_allowed(
    emulator: BotApiEmulator,
    bot: BotApplication,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    number = await submitted(session_factory, AYSEL, "k3")
    aysel = Citizen(emulator, AYSEL)
    await start(aysel)
    await aysel.says(number)
    await aysel.sees(az("History:"))
    await aysel.presses(f"my:withdraw:{number}")
    confirm = await aysel.sees(number)
    assert confirm.callback_data() == [f"my:withdraw!:{number}", f"my:{number}"]
    await aysel.presses(f"my:withdraw!:{number}")
    await aysel.sees(az("Application {number} is withdrawn.").format(number=number))

    async with engine.connect() as connection:
        status = await connection.scalar(select(Application.status))
        history = (await connection.execute(select(ApplicationStatusChange.to_status))).all()
        channels = {
            row.channel
            for row in await connection.execute(
                select(OutboxMessage.channel).where(
                    OutboxMessage.idempotency_key.like("%withdrawn%")
                )
            )
        }
    assert status == ApplicationStatus.WITHDRAWN
    assert [row.to_status for row in history] == ["registered", "withdrawn"]
    assert channels == {"sms", "email"}  # the chat already told her

    await aysel.says(number)  # closed: no withdraw button any more
    assert (await aysel.sees(az("History:"))).callback_data() == []


async def test_a_number_typed_in_lower_case_gets_working_buttons(
    emulator: BotApiEmulator,
    bot: BotApplication,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The buttons carry the stored number, not what was typed: the handlers' patterns (and the
    look-up) expect «QM-…», so «qm-…» in the button did nothing (issue 16, item 6)."""
    number = await submitted(session_factory, AYSEL, "k3-lower")
    aysel = Citizen(emulator, AYSEL)
    await start(aysel)
    await aysel.says(f"  {number.lower()} ")
    detail = await aysel.sees(az("History:"))
    assert detail.callback_data() == [f"my:withdraw:{number}"]
    await aysel.presses(f"my:withdraw:{number}")
    await aysel.sees(number)
    await aysel.presses(f"my:withdraw!:{number}")
    await aysel.sees(az("Application {number} is withdrawn.").format(number=number))


async def test_staff_change_status_by_buttons_with_a_comment(
    emulator: BotApiEmulator,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with bot_on_emulator(engine, emulator, staff_ids=[STAFF]):
        number = await submitted(session_factory, AYSEL, "k4", locale="ru")
        aysel = Citizen(emulator, AYSEL)
        await aysel.says(f"/status {number}")  # not staff: the command does not exist
        assert "/status" not in ((await aysel.reply()).text or "QM")

        staff = Citizen(emulator, STAFF, first_name="Rəşad")
        await start(staff)
        await staff.says(f"/status {number}")
        view = await staff.sees(number)
        assert f"st:{number}:under_review" in view.callback_data()
        assert f"st:{number}:connected" not in view.callback_data()

        await staff.presses(f"st:{number}:rejected")
        await staff.sees(az("Reason for the rejection (the citizen will read it):"))
        await staff.presses("st:cancel")
        await staff.sees(az("No change was made."))

        await staff.says(f"/status {number}")
        await staff.sees(number)
        await staff.presses(f"st:{number}:under_review")
        await staff.sees(az("A comment for the citizen, or press «No comment»:"))
        await staff.says("Sənədlər yoxlanılır")
        done = await staff.sees(number)
        assert label(ApplicationStatus.UNDER_REVIEW) in (done.text or "")
        assert re.search(r"\b3\b", done.text or "")  # telegram, sms, e-mail

        async with engine.connect() as connection:
            change = (
                await connection.execute(
                    select(ApplicationStatusChange).where(
                        ApplicationStatusChange.to_status == "under_review"
                    )
                )
            ).one()
            telegram = (
                await connection.execute(
                    select(OutboxMessage).where(OutboxMessage.channel == "telegram")
                )
            ).one()
        assert change.actor == f"telegram:{STAFF}" and change.comment == "Sənədlər yoxlanılır"
        assert telegram.recipient == str(AYSEL)
        assert (
            "Рассматривается" in telegram.payload["text"] or "рассматр" in telegram.payload["text"]
        )

        await staff.says(f"/status {number}")
        await staff.sees(number)
        await staff.presses(f"st:{number}:rejected")
        await staff.sees(az("Reason for the rejection (the citizen will read it):"))
        await staff.says("Obyekt başqa şəxsə məxsusdur")
        await staff.sees(label(ApplicationStatus.REJECTED))
        await staff.says(f"/status {number}")
        closed = await staff.sees(number)
        assert closed.callback_data() == []  # a closed application has no buttons


async def test_staff_status_refuses_unknown_numbers(
    emulator: BotApiEmulator, engine: AsyncEngine
) -> None:
    async with bot_on_emulator(engine, emulator, staff_ids=[STAFF]):
        staff = Citizen(emulator, STAFF)
        await start(staff)
        await staff.says("/status QM-2026-000999")
        await staff.sees(az(staff_status.NO_SUCH_NUMBER).format(number="QM-2026-000999"))
        await staff.says("/status")
        await staff.sees(az(staff_status.NO_SUCH_NUMBER).split("{", 1)[0])
