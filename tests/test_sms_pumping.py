"""SMS pumping: the caps on verification codes, end to end through the Bot API emulator.

One Telegram account, a ring of accounts, or the whole bot cannot make it text phones without
limit: per account (distinct numbers and codes a day), per destination phone (whoever asks) and
a daily budget with an alarm in the log and on ``/metrics``. The counts come from the database,
so a restart forgets nothing. In the acts dialogue only the number on file for the subscriber
code gets a code, and the answer is the same either way.

"A minute passes" is written into the database (the last code's ``resend_after``), not waited.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.runtime import http_server, make_services
from chat.context import BotApplication
from conversations import acts as acts_dialogue
from conversations import connection_request as cr
from conversations import phone_check, quote_text
from domain.acts import BAKU
from emulator import BotApiEmulator, SentMessage
from i18n import translate, use_locale
from observability import REGISTRY
from storage import acts, phone_verifications
from storage.db import create_engine, make_session_factory
from storage.models import OutboxMessage, PhoneVerification
from storage.phone_verifications import Cap, Capped, Issued, SmsCaps
from tests.harness import Citizen, bot_on_emulator, settings_for
from tests.test_act_dialogue import ASK_CODE, ASK_PHONE
from tests.test_connection_request import answer, choose_language, head, press, question
from tests.test_crash_recovery import free_port
from tests.test_dispatcher import dispatcher_for

Sessions = async_sessionmaker[AsyncSession]

SUBSCRIBER = "100200300400500"
ON_FILE = "+994501234567"
TOO_SOON = "A code was sent less than a minute ago. You can ask for a new one in {seconds} seconds."


def az(msgid: str) -> str:
    return head(msgid, "az")


def reason(cap: Cap) -> str:
    return az(phone_check.CAP_REASONS[cap])


async def sms_to(engine: AsyncEngine, phone: str | None = None) -> int:
    """Verification SMS queued (to ``phone``, or to anyone)."""
    query = select(func.count()).where(OutboxMessage.idempotency_key.startswith("phone-verif"))
    if phone is not None:
        query = query.where(OutboxMessage.recipient == phone)
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def a_minute_passes(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(PhoneVerification).values(resend_after=datetime.now(UTC) - timedelta(seconds=1))
        )


async def on_file(engine: AsyncEngine, code: str, phone: str) -> None:
    async with make_session_factory(engine).begin() as session:
        await acts.upsert_subscriber(session, code, phone=phone)


async def replies_until(person: Citizen, substring: str) -> list[SentMessage]:
    """Every message the bot sends up to (and with) the first one containing ``substring``."""
    seen: list[SentMessage] = []
    while True:
        try:
            message = await person.reply()
        except TimeoutError:
            raise AssertionError(f"never said {substring!r}; said: {texts(seen)!r}") from None
        seen.append(message)
        if substring in (message.text or ""):
            return seen


def texts(messages: list[SentMessage]) -> str:
    return "\n".join(message.text or "" for message in messages)


def tomorrow_at(moment: datetime) -> str:
    """The Baku time "sabah, saat HH:MM" of ``moment`` + 24 h, rounded up to the minute."""
    local = (moment + timedelta(hours=24)).astimezone(BAKU)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return f"sabah, saat {local:%H:%M}"


async def first_code_at(engine: AsyncEngine, user_id: int) -> datetime:
    async with make_session_factory(engine)() as session:
        found = await session.scalar(
            select(func.min(PhoneVerification.created_at)).where(
                PhoneVerification.telegram_user_id == user_id
            )
        )
    assert found is not None
    return found


# --------------------------------------------------------------------------- the two dialogues


async def to_phone_question(person: Citizen) -> None:
    """A connection request in Azerbaijani, answered up to the phone question."""
    await person.says(translate("Connection request", "az"))
    await person.sees(question(cr.FIRST_NAME, "az"))
    await answer(person, "aysel", question(cr.LAST_NAME, "az"))
    await answer(person, "məmmədova", question(cr.PATRONYMIC, "az"))
    await answer(person, "elçin qızı", question(cr.FIN, "az"))
    await answer(person, "5abc7d8", question(cr.ID_CARD, "az"))
    await answer(person, "aa 1234567", az(cr.PHASE_QUESTION))
    await press(person, "cr:phase:1", az(cr.POWER_QUESTION))
    await answer(person, "7,5", translate("Calculate", "az"))
    await press(person, "cr:calculate", "7,5")
    await press(person, "cr:continue", az(cr.OBJECT_QUESTION))
    await press(person, "cr:object:house", az(cr.DISTRICT_QUESTION))
    await answer(person, "Bakı", question(cr.REGISTRY_NUMBER, "az"))
    await answer(person, "12-345/2020", question(cr.REGISTRATION_NUMBER, "az"))
    await answer(person, "7 B", az(cr.LOCATION_QUESTION))
    await person.says(translate(cr.USE_DISTRICT_CENTRE, "az"))  # on the reply keyboard
    phone = await person.sees(az(cr.PHONE_QUESTION))
    assert az(quote_text.NEAREST_CENTRE) in (phone.text or "")  # the distance opens it


async def to_acts_phone_question(person: Citizen, code: str = SUBSCRIBER) -> None:
    await choose_language(person, "az")
    await person.says("Aktlar və ödənişlər")
    await person.sees(az(ASK_CODE))
    await person.says(code)
    await person.sees(az(ASK_PHONE))


@pytest.fixture
async def bot_with_acts(
    engine: AsyncEngine, emulator: BotApiEmulator
) -> AsyncIterator[BotApplication]:
    await on_file(engine, SUBSCRIBER, ON_FILE)
    async with bot_on_emulator(engine, emulator) as application:
        yield application


# --------------------------------------------------------------------------- per account


async def test_one_account_gets_codes_for_three_numbers_a_day_even_after_a_restart(
    engine: AsyncEngine, emulator: BotApiEmulator
) -> None:
    aysel = Citizen(emulator, 5101)
    async with bot_on_emulator(engine, emulator):
        await choose_language(aysel, "az")
        await to_phone_question(aysel)
        for phone in ("070 100 00 01", "070 100 00 02", "070 100 00 03"):
            await answer(aysel, phone, az(cr.CODE_QUESTION))
            await press(aysel, "cr:rephone", az(cr.PHONE_QUESTION))
        assert await sms_to(engine) == 3
    # A restart forgets nothing: the counts are rows in the database.
    async with bot_on_emulator(engine, emulator):
        await aysel.says("070 100 00 04")
        refusal = await aysel.sees(reason(Cap.ACCOUNT_NUMBERS).split("{")[0])
        assert refusal.text is not None
        assert "3" in refusal.text and "Yenidən cəhd edə bilərsiniz" in refusal.text
        assert tomorrow_at(await first_code_at(engine, 5101)) in refusal.text
        assert az(cr.PHONE_QUESTION) in refusal.text  # the same question, on the same message
        assert await sms_to(engine) == 3
        assert await sms_to(engine, "+994701000004") == 0
        # A number already texted today is not a new one; sharing the contact costs nothing.
        await a_minute_passes(engine)
        await answer(aysel, "070 100 00 02", az(cr.CODE_QUESTION))
        await press(aysel, "cr:rephone", az(cr.PHONE_QUESTION))
        await aysel.shares_contact("994701000004", owner_id=aysel.user_id)
        await aysel.sees(question(cr.EMAIL, "az"))
        assert await sms_to(engine) == 4


async def test_one_account_gets_five_codes_a_day(
    engine: AsyncEngine, emulator: BotApiEmulator, bot: BotApplication
) -> None:
    oleg = Citizen(emulator, 5102)
    await choose_language(oleg, "az")
    await to_phone_question(oleg)
    await answer(oleg, "055 200 00 01", az(cr.CODE_QUESTION))
    for _ in range(2):
        await a_minute_passes(engine)
        await press(oleg, "cr:resend", az(cr.CODE_QUESTION))
    await press(oleg, "cr:rephone", az(cr.PHONE_QUESTION))
    await answer(oleg, "055 200 00 02", az(cr.CODE_QUESTION))
    await a_minute_passes(engine)
    await press(oleg, "cr:resend", az(cr.CODE_QUESTION))
    assert await sms_to(engine) == 5

    await a_minute_passes(engine)
    await oleg.presses("cr:resend")
    seen = await replies_until(oleg, az(phone_check.EARLIER_CODE_QUESTION))
    assert len(seen) == 1, texts(seen)  # the reason and the question: one message
    assert reason(Cap.ACCOUNT_CODES).split("{")[0] in texts(seen)
    assert tomorrow_at(await first_code_at(engine, 5102)) in texts(seen)
    assert az(cr.CODE_QUESTION) not in texts(seen)  # no claim of a new code
    # and a third number does not help
    await press(oleg, "cr:rephone", az(cr.PHONE_QUESTION))
    await oleg.says("055 200 00 03")
    refused = await oleg.sees(reason(Cap.ACCOUNT_CODES).split("{")[0])
    assert az(cr.PHONE_QUESTION) in (refused.text or "")
    assert await sms_to(engine) == 5


# --------------------------------------------------------------------------- per phone


async def test_one_phone_gets_five_codes_a_day_whichever_accounts_ask(
    engine: AsyncEngine, emulator: BotApiEmulator, bot_with_acts: BotApplication
) -> None:
    first, second, third = Citizen(emulator, 5201), Citizen(emulator, 5202), Citizen(emulator, 5203)
    on_its_way = az(acts_dialogue.CODE_ON_ITS_WAY)
    for person, codes in ((first, 3), (second, 2)):
        await to_acts_phone_question(person)
        await answer(person, "050 123 45 67", on_its_way)
        for _ in range(codes - 1):
            await a_minute_passes(engine)
            await press(person, "ak:resend", on_its_way)
    assert await sms_to(engine, ON_FILE) == 5

    await a_minute_passes(engine)
    await second.presses("ak:resend")
    seen = await replies_until(second, az(phone_check.EARLIER_CODE_QUESTION))
    assert len(seen) == 1, texts(seen)
    assert reason(Cap.PHONE_CODES).split("{")[0] in texts(seen)
    assert "Yenidən cəhd edə bilərsiniz: sabah, saat" in texts(seen)
    assert on_its_way not in texts(seen)
    # A fresh account changes nothing either.
    await to_acts_phone_question(third)
    await third.says("+994501234567")
    refused = await third.sees(reason(Cap.PHONE_CODES).split("{")[0])
    assert az(ASK_PHONE) in (refused.text or "")
    assert await sms_to(engine, ON_FILE) == 5


# --------------------------------------------------------------------------- the whole bot


async def scrape(engine: AsyncEngine, **overrides: object) -> str:
    port = free_port()
    settings = settings_for(engine.url.render_as_string(hide_password=False), http_port=port)
    settings = settings.model_copy(update=overrides)
    async with (
        http_server(settings, make_services(settings, engine), None),
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as reply,
    ):
        assert reply.status == 200
        return await reply.text()


async def test_the_daily_budget_stops_codes_alarms_in_the_log_and_shows_on_metrics(
    engine: AsyncEngine, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    budget = {"sms_codes_daily_budget": 5, "sms_codes_budget_alarm_percent": 80}
    for n in range(1, 7):
        await on_file(engine, f"10020030040050{n}", f"+99450123450{n}")
    refused_before = REGISTRY.get_sample_value(
        "azerishiq_sms_codes_total", {"result": "daily_budget"}
    )
    on_its_way = az(acts_dialogue.CODE_ON_ITS_WAY)
    with caplog.at_level(logging.WARNING, logger="conversations.phone_check"):
        async with bot_on_emulator(engine, emulator, settings_overrides=budget):
            for n in range(1, 6):  # five accounts, five numbers: no cap of theirs is near
                person = Citizen(emulator, 5300 + n)
                await to_acts_phone_question(person, f"10020030040050{n}")
                await answer(person, f"+99450123450{n}", on_its_way)
            assert await sms_to(engine) == 5
            alarms = [r.getMessage() for r in caplog.records if "budget" in r.getMessage()]
            assert alarms == [
                "SMS verification budget: 4 of 5 codes sent today (80 %)",
                "SMS verification budget: 5 of 5 codes sent today (100 %); no more codes "
                "until 00:00 Baku time",
            ]
            assert all(r.levelno == logging.WARNING for r in caplog.records if "budget" in r.msg)

            sixth = Citizen(emulator, 5306)
            await to_acts_phone_question(sixth, "100200300400506")
            await sixth.says("+994501234506")
            refusal = await sixth.sees(az(phone_check.CAP_REASONS[Cap.DAILY_BUDGET]))
            # The budget is back at 00:00 in Baku: "tomorrow", or in its last hour "in N min".
            baku = datetime.now(BAKU)
            midnight = (baku + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            when = "sabah." if midnight - baku > timedelta(hours=1) else "dəqiqədən sonra."
            assert refusal.text is not None and f"{when}\n\n" in refusal.text
            assert az(ASK_PHONE) in refusal.text
            assert await sms_to(engine) == 5
            text = await scrape(engine, **budget)
    assert "azerishiq_sms_codes_sent_today 5.0" in text
    assert "azerishiq_sms_codes_daily_budget 5.0" in text
    refused_after = REGISTRY.get_sample_value(
        "azerishiq_sms_codes_total", {"result": "daily_budget"}
    )
    assert (refused_after or 0) - (refused_before or 0) == 1
    # the alarm is said once: nothing more at the refusal
    assert len([r for r in caplog.records if "budget" in r.getMessage()]) == 2


async def test_two_processes_cannot_both_take_the_last_codes(
    database_url: str, engine: AsyncEngine
) -> None:
    """Two engines (as two processes would have) ask at once: the cap holds exactly."""
    caps = SmsCaps(codes_per_phone=5)
    engines = [create_engine(database_url), create_engine(database_url)]
    now = datetime.now(UTC)

    async def ask(n: int) -> object:
        async with make_session_factory(engines[n % 2]).begin() as session:
            return await phone_verifications.issue_code(
                session, telegram_user_id=6000 + n, phone=ON_FILE, now=now, caps=caps
            )

    try:
        outcomes = await asyncio.gather(*(ask(n) for n in range(12)))
    finally:
        for each in engines:
            await each.dispose()
    assert sum(isinstance(o, Issued) for o in outcomes) == 5
    assert all(
        isinstance(o, Capped) and o.cap == Cap.PHONE_CODES
        for o in outcomes
        if not isinstance(o, Issued)
    )


# --------------------------------------------------------------------------- acts: same answer


async def test_acts_texts_only_the_number_on_file_and_answers_the_same_either_way(
    engine: AsyncEngine, emulator: BotApiEmulator, bot_with_acts: BotApplication
) -> None:
    owner, stranger, guesser = (
        Citizen(emulator, 5401),
        Citizen(emulator, 5402),
        Citizen(emulator, 5403),
    )
    on_its_way = az(acts_dialogue.CODE_ON_ITS_WAY)

    await to_acts_phone_question(owner)
    mine = await answer(owner, "050 123 45 67", on_its_way)
    [sms] = await outbox_texts(engine, ON_FILE)
    match = re.search(r"\b(\d{6})\b", sms)
    assert match is not None
    code = match.group(1)
    await to_acts_phone_question(stranger)
    theirs = await answer(stranger, "055 765 43 21", on_its_way)
    await to_acts_phone_question(guesser, "999999999999999")  # no phone on file at all
    unknown = await answer(guesser, "055 765 43 22", on_its_way)

    def shape(message: SentMessage, phone: str) -> tuple[str, object]:
        return (message.text or "").replace(phone, "<phone>"), message.reply_markup

    assert shape(mine, ON_FILE) == shape(theirs, "+994557654321") == shape(unknown, "+994557654322")
    assert await sms_to(engine, ON_FILE) == 1
    assert await sms_to(engine, "+994557654321") == 0
    assert await sms_to(engine, "+994557654322") == 0
    # A typed code gets the same answer too ...
    wrong = "The code is not right. Tries left: {left}."
    for person in (owner, stranger):
        await person.says("000000" if code != "000000" else "111111")
    owner_wrong = await owner.sees(az(wrong).split("{")[0])
    stranger_wrong = await stranger.sees(az(wrong).split("{")[0])
    assert shape(owner_wrong, ON_FILE) == shape(stranger_wrong, "+994557654321")
    # ... and so do "send again" and its minute.
    for person in (owner, stranger):
        await person.presses("ak:resend")
    owner_again = await replies_until(owner, az(phone_check.EARLIER_CODE_QUESTION))
    stranger_again = await replies_until(stranger, az(phone_check.EARLIER_CODE_QUESTION))

    def same(messages: list[SentMessage], phone: str) -> list[str]:
        return [re.sub(r"\d+", "N", (m.text or "").replace(phone, "<phone>")) for m in messages]

    assert same(owner_again, ON_FILE) == same(stranger_again, "+994557654321")
    assert len(owner_again) == 1
    assert await sms_to(engine) == 1
    # The owner's real code still links the account.
    await owner.says(code)
    await owner.sees(
        az("The subscriber code {code} is added. We will tell you here about its acts.")
    )


async def outbox_texts(engine: AsyncEngine, phone: str) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(OutboxMessage.payload).where(OutboxMessage.recipient == phone)
        )
        return [str(payload["text"]) for payload in rows.scalars()]


# --------------------------------------------------------------------------- demo SMS, 9b


async def test_demo_sms_sender_does_not_log_the_code(
    engine: AsyncEngine,
    emulator: BotApiEmulator,
    bot_with_acts: BotApplication,
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = Citizen(emulator, 5501)
    await to_acts_phone_question(owner)
    await answer(owner, "050 123 45 67", az(acts_dialogue.CODE_ON_ITS_WAY))
    [sms] = await outbox_texts(engine, ON_FILE)
    code = re.search(r"\b(\d{6})\b", sms)
    assert code is not None
    with caplog.at_level(logging.INFO, logger="delivery.providers"):
        dispatcher = dispatcher_for(make_session_factory(engine), bot_with_acts.bot)
        assert await dispatcher.run_once() == 1
    logged = [r.getMessage() for r in caplog.records if "SMS stored" in r.getMessage()]
    assert len(logged) == 1
    assert code.group(1) not in logged[0] and "******" in logged[0]


async def test_a_code_asked_again_within_a_minute_is_not_said_to_be_sent(
    engine: AsyncEngine, emulator: BotApiEmulator, bot_with_acts: BotApplication
) -> None:
    too_soon = az(TOO_SOON)
    earlier = az(phone_check.EARLIER_CODE_QUESTION)
    # acts: "send again" at once
    owner = Citizen(emulator, 5601)
    await to_acts_phone_question(owner)
    await answer(owner, "050 123 45 67", az(acts_dialogue.CODE_ON_ITS_WAY))
    await owner.presses("ak:resend")
    said = await replies_until(owner, earlier)
    assert len(said) == 1, texts(said)  # too soon: the reason on the question's message
    seen = texts(said)
    assert too_soon.split("{")[0] in seen and re.search(r"\b\d{2} saniyədən sonra", seen)
    assert az(acts_dialogue.CODE_ON_ITS_WAY) not in seen
    assert await sms_to(engine) == 1

    # connection request: "send again" at once, then the same number typed again at once
    aysel = Citizen(emulator, 5602)
    await choose_language(aysel, "az")
    await to_phone_question(aysel)
    await answer(aysel, "070 100 00 01", az(cr.CODE_QUESTION))
    await aysel.presses("cr:resend")
    said = await replies_until(aysel, earlier)
    assert len(said) == 1, texts(said)
    seen = texts(said)
    assert too_soon.split("{")[0] in seen and az(cr.CODE_QUESTION) not in seen
    await press(aysel, "cr:rephone", az(cr.PHONE_QUESTION))
    await aysel.says("070 100 00 01")
    said = await replies_until(aysel, earlier)
    assert len(said) == 1, texts(said)
    seen = texts(said)
    assert too_soon.split("{")[0] in seen and az(cr.CODE_QUESTION) not in seen
    assert await sms_to(engine) == 2
    # the earlier code still proves the number
    [sms] = await outbox_texts(engine, "+994701000001")
    match = re.search(r"\b(\d{6})\b", sms)
    assert match is not None
    await answer(aysel, match.group(1), question(cr.EMAIL, "az"))


def test_retry_times_read_in_minutes_today_or_tomorrow_in_baku_time() -> None:
    now = datetime(2026, 12, 9, 8, 0, 20, tzinfo=UTC)  # 12:00:20 in Baku
    with use_locale("en"):
        check_retry_times(now)
    with use_locale("az"):
        assert phone_check.retry_when(now + timedelta(hours=3), now) == "bu gün, saat 15:01"


def check_retry_times(now: datetime) -> None:
    assert phone_check.retry_when(now + timedelta(minutes=25), now) == "in 25 min"
    assert phone_check.retry_when(now + timedelta(seconds=5), now) == "in 1 min"
    assert phone_check.retry_when(now + timedelta(hours=3), now) == "today at 15:01"
    assert phone_check.retry_when(now + timedelta(hours=23), now) == "tomorrow at 11:01"
    midnight = phone_verifications.next_day_start(now)
    assert phone_check.retry_when(midnight, now) == "tomorrow"
