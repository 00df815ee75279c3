"""The connection request, end to end through the Bot API emulator, in az and ru."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from chat.context import BotApplication
from conversations import connection_request as cr
from conversations import phone_check, quote_text, texts
from conversations.connection_draft import DRAFT_KEY
from emulator import BotApiEmulator, SentMessage
from i18n import LANGUAGE_NAMES, resolve_locale, translate
from storage.models import (
    Application,
    ApplicationStatusChange,
    OutboxMessage,
    PtbConversation,
    PtbUserData,
)
from tests.harness import Citizen, ServeProcess, bot_on_emulator
from tests.test_crash_recovery import free_port, wait_healthy

SUMQAYIT_HOME = (40.5897, 49.6686)


def head(msgid: str, locale: str) -> str:
    """The longest piece of the translation between placeholders: enough to recognise it."""
    text = max(re.split(r"\{[^}]*\}", translate(msgid, locale)), key=len).strip()
    assert len(text) >= 5, (msgid, locale)
    return text


def question(state: int, locale: str) -> str:
    return translate(cr.TEXT_FIELDS[state].question, locale)


WELCOME = {"az": "Xoş gəlmisiniz", "ru": "Добро пожаловать", "en": "Welcome"}


async def choose_language(person: Citizen, locale: str) -> None:
    """/start, then the language's button on the welcome (the row above the menu)."""
    await person.says("/start")
    await person.sees(WELCOME[resolve_locale(None, person.language_code)])
    await person.says(LANGUAGE_NAMES[locale])
    answer = (await person.reply()).text or ""
    confirmations = (LANGUAGE_NAMES[locale] + " ✓", translate("Language changed.", locale))
    assert answer.startswith(WELCOME[locale]) or answer in confirmations, answer


async def answer(person: Citizen, text: str, then: str) -> SentMessage:
    await person.says(text)
    return await person.sees(then)


async def press(person: Citizen, data: str, then: str) -> SentMessage:
    await person.presses(data)
    return await person.sees(then)


async def walk_to_review(
    person: Citizen, locale: str, *, district: str, phone_by_code: bool, engine: AsyncEngine
) -> SentMessage:
    """Answer every question with good values; returns the review message."""

    def t(msgid: str) -> str:
        return translate(msgid, locale)

    await person.says(t("Connection request"))
    await person.sees(question(cr.FIRST_NAME, locale))
    await answer(person, "aysel", question(cr.LAST_NAME, locale))
    await answer(person, "məmmədova", question(cr.PATRONYMIC, locale))
    await answer(person, "elçin qızı", question(cr.FIN, locale))
    await answer(person, "5abc7d8", question(cr.ID_CARD, locale))
    await person.says("aa 1234567")
    await person.sees(head(cr.PHASE_QUESTION, locale))
    await press(person, "cr:phase:1", head(cr.POWER_QUESTION, locale))
    await answer(person, "7,5 kVt", head(cr.QUOTE_PROMPT, locale))
    quote = await press(person, "cr:calculate", "7,5")
    assert "300,00" in (quote.text or "")
    await press(person, "cr:continue", head(cr.OBJECT_QUESTION, locale))
    await press(person, "cr:object:house", head(cr.DISTRICT_QUESTION, locale))
    await answer(person, district, question(cr.REGISTRY_NUMBER, locale))
    await answer(person, "12-345/2020", question(cr.REGISTRATION_NUMBER, locale))
    await answer(person, "7 B", head(cr.LOCATION_QUESTION, locale))
    if district.casefold().startswith("sumq"):
        await person.shares_location(*SUMQAYIT_HOME)
    else:
        await person.says(t(cr.USE_DISTRICT_CENTRE))  # a button of the reply keyboard
    # The distance, then the phone question, on one message.
    phone_question = await person.sees(head(cr.PHONE_QUESTION, locale))
    distance = (phone_question.text or "").split("\n\n")[0]
    assert head(quote_text.NEAREST_CENTRE, locale) in distance and re.search(r"\d", distance)
    if phone_by_code:
        await person.says("050 123 45 67")
        await person.sees(head(cr.CODE_QUESTION, locale))
        code = await sent_code(engine, "+994501234567")
        await person.says(code)
    else:
        await person.shares_contact("994501234567")
    await person.sees("+994501234567")
    await person.sees(head(cr.TEXT_FIELDS[cr.EMAIL].question, locale))
    await person.says("Aysel.Mammadova@Mail.az")
    return await person.sees(head(quote_text.REVIEW_HEADER, locale))


async def sent_code(engine: AsyncEngine, phone: str) -> str:
    async with engine.connect() as connection:
        texts = (
            (
                await connection.execute(
                    select(OutboxMessage.payload)
                    .where(OutboxMessage.recipient == phone)
                    .order_by(OutboxMessage.id.desc())
                )
            )
            .scalars()
            .all()
        )
    match = re.search(r"\b(\d{6})\b", texts[0]["text"])
    assert match is not None
    return match.group(1)


async def test_full_flow_in_azerbaijani(
    emulator: BotApiEmulator, bot: BotApplication, engine: AsyncEngine
) -> None:
    aysel = Citizen(emulator, user_id=2001)
    await choose_language(aysel, "az")
    review = await walk_to_review(
        aysel, "az", district="sumqayit", phone_by_code=False, engine=engine
    )
    text = review.text or ""
    for expected in [
        "Aysel",
        "Məmmədova",
        "Elçin qızı",
        "5ABC7D8",
        "AA1234567",
        "Sumqayıt",
        "12-345/2020",
        "+994501234567",
        "Aysel.Mammadova@mail.az",
        "300,00",
    ]:
        assert expected in text, expected
    assert review.callback_data()[:2] == ["cr:submit", "cr:edit"]

    await aysel.presses("cr:submit")
    await aysel.presses("cr:submit")  # a double tap
    done = await aysel.sees("QM-2026-")
    number = re.search(r"QM-\d{4}-\d{6}", done.text or "")
    assert number is not None

    async with engine.connect() as connection:
        count = await connection.scalar(select(func.count()).select_from(Application))
        application = (await connection.execute(select(Application))).one()
        outbox = (await connection.execute(select(OutboxMessage))).all()
        history = (await connection.execute(select(ApplicationStatusChange))).all()
    assert count == 1
    assert application.number == number.group(0)
    assert application.status == "registered"
    assert (application.first_name, application.last_name) == ("Aysel", "Məmmədova")
    assert application.fin == "5ABC7D8" and application.id_card == "AA1234567"
    assert application.phase == 1 and application.requested_power_kw == Decimal("7.5")
    assert application.district == "Sumqayıt" and application.regional_unit == "Abşeron-Xızı"
    assert application.fee_amount == Decimal("300.00")
    assert application.fee_rule_set == "tariff-council-4-2024"
    assert application.quote["amount"] == "300.00"
    assert application.distance_m is not None and application.distance_m >= 0
    assert application.power_centre
    assert application.phone_e164 == "+994501234567"
    assert len(history) == 1
    channels = {row.channel: row for row in outbox}
    assert set(channels) == {"sms", "email"}
    sms = channels["sms"].payload["text"]
    assert number.group(0) in sms and "ş" not in sms and "ə" not in sms  # transliterated
    assert channels["sms"].recipient == "+994501234567"
    assert channels["email"].recipient == "Aysel.Mammadova@mail.az"
    assert number.group(0) in channels["email"].payload["subject"]


async def test_full_flow_in_russian_with_a_typed_phone_and_a_discount(
    emulator: BotApiEmulator, bot: BotApplication, engine: AsyncEngine
) -> None:
    oleg = Citizen(emulator, user_id=2002, first_name="Олег", language_code="ru")
    await choose_language(oleg, "ru")
    review = await walk_to_review(oleg, "ru", district="Шуша", phone_by_code=True, engine=engine)
    text = review.text or ""
    assert "Şuşa" in text and "0,00" in text  # 1-phase in the liberated territories is free
    assert "65" not in text or "100" in text
    await oleg.presses("cr:submit")
    done = await oleg.sees("QM-")
    assert "Ваша заявка зарегистрирована" in (done.text or "")

    async with engine.connect() as connection:
        application = (await connection.execute(select(Application))).one()
        sms = (
            await connection.execute(
                select(OutboxMessage.payload).where(
                    OutboxMessage.channel == "sms", OutboxMessage.citizen_id.is_not(None)
                )
            )
        ).scalar_one()
    assert application.fee_amount == Decimal("0.00")
    assert application.fee_rule_set == "tariff-council-4-2024+liberated-territories-2026"
    assert application.regional_unit == "Qarabağ"
    assert application.latitude is not None  # the district centre, as the citizen skipped
    assert application.number in sms["text"]


# --------------------------------------------------------------------------- bad input

GARBAGE = [" ", "🙂🙂🙂", "x" * 5000, "'; DROP TABLE applications; --", "<b>qalın</b><script>"]


async def refused(person: Citizen, bad: str, reason: str, again: str) -> SentMessage:
    """A bad answer gets the reason and the same question, on one message."""
    await person.says(bad)
    warning = await person.reply()
    text = warning.text or ""
    assert text.startswith("⚠️") and reason in text and again in text, (bad[:40], text)
    return warning


async def test_every_step_refuses_bad_input_with_the_reason_and_asks_again(
    emulator: BotApiEmulator, bot: BotApplication, engine: AsyncEngine
) -> None:

    def t(msgid: str) -> str:
        return translate(msgid, "az")

    def reason(key: str) -> str:
        return t(texts.REASONS[key])

    use_buttons = translate(cr.ANSWER_BELOW, "az")
    aysel = Citizen(emulator, user_id=2003)
    await choose_language(aysel, "az")
    await aysel.says("Qoşulma müraciəti")
    await aysel.sees(question(cr.FIRST_NAME, "az"))

    for bad in GARBAGE:
        await refused(aysel, bad, "", question(cr.FIRST_NAME, "az"))
    await refused(aysel, "🙂", reason("characters"), question(cr.FIRST_NAME, "az"))
    await refused(aysel, "x" * 5000, reason("too_long"), question(cr.FIRST_NAME, "az"))
    await refused(aysel, "1234", reason("characters"), question(cr.FIRST_NAME, "az"))
    await answer(aysel, "Aysel", question(cr.LAST_NAME, "az"))
    await refused(aysel, "<b>x</b>", reason("characters"), question(cr.LAST_NAME, "az"))
    await answer(aysel, "Məmmədova", question(cr.PATRONYMIC, "az"))
    await press(aysel, cr.SKIP, question(cr.FIN, "az"))  # the patronymic may be skipped

    for bad in GARBAGE:
        await refused(aysel, bad, "", question(cr.FIN, "az"))
    await refused(aysel, "5ABC7D", reason("length"), question(cr.FIN, "az"))
    await refused(aysel, "5ABO7D8", reason("forbidden_letters"), question(cr.FIN, "az"))
    await answer(aysel, "5abc7d8", question(cr.ID_CARD, "az"))
    for bad in [*GARBAGE, "AB1234567", "AA123456", "AZE1234567"]:
        await refused(aysel, bad, "", question(cr.ID_CARD, "az"))
    await aysel.says("AA1234567")
    phase_question = head(cr.PHASE_QUESTION, "az")
    await aysel.sees(phase_question)

    for bad in GARBAGE[1:]:
        await refused(aysel, bad, use_buttons, phase_question)
    await aysel.shares_location(40.4, 49.8)  # not text at all
    again = (await aysel.reply()).text or ""
    assert again.startswith("⚠️") and use_buttons in again and phase_question in again
    power_question = head(cr.POWER_QUESTION, "az")
    await press(aysel, "cr:phase:1", power_question)
    for bad, why in [
        ("abc", "not_a_number"),
        ("0", "not_positive"),
        ("-1", "not_positive"),
        ("7.55", "precision"),
        ("🙂", "not_a_number"),
        ("x" * 5000, ""),
    ]:
        await refused(aysel, bad, reason(why) if why else "", power_question)
    await refused(aysel, "25", "20", power_question)  # above the 1-phase limit
    await answer(aysel, "10", t("Calculate"))
    await refused(aysel, "hesabla", use_buttons, t("Calculate"))
    await press(aysel, "cr:calculate", "400,00")
    await press(aysel, "cr:continue", head(cr.OBJECT_QUESTION, "az"))
    await refused(aysel, "ev", use_buttons, head(cr.OBJECT_QUESTION, "az"))
    await press(aysel, "cr:object:apartment", head(cr.GENERAL_CONDITIONS_QUESTION, "az"))
    await refused(aysel, "bəli", use_buttons, head(cr.GENERAL_CONDITIONS_QUESTION, "az"))
    district_question = head(cr.DISTRICT_QUESTION, "az")
    await press(aysel, "cr:general:yes", district_question)

    not_found = t("I could not find such a city or district.")
    for bad in [*GARBAGE, "Paris"]:
        await refused(aysel, bad, "", district_question)
    await refused(aysel, "qqqqqq", not_found, district_question)
    await refused(aysel, "Şərur", "Naxçıvan", district_question)  # another supplier
    await answer(aysel, "Bakı", question(cr.REGISTRY_NUMBER, "az"))
    for bad in GARBAGE:
        await refused(aysel, bad, "", question(cr.REGISTRY_NUMBER, "az"))
    await answer(aysel, "123/45", question(cr.REGISTRATION_NUMBER, "az"))
    await refused(aysel, "🙂", reason("characters"), question(cr.REGISTRATION_NUMBER, "az"))
    location_question = head(cr.LOCATION_QUESTION, "az")
    await answer(aysel, "A-1", location_question)
    await refused(aysel, "Bakı, Nizami küçəsi 5", use_buttons, location_question)
    await aysel.shares_location(40.3739, 49.8482)
    phone_question = head(cr.PHONE_QUESTION, "az")
    await aysel.sees(phone_question)

    for bad, why in [
        ("12345", "format"),
        ("+7 912 345 67 89", "not_azerbaijani"),
        ("012 498 12 34", "not_mobile"),
        ("x" * 5000, ""),
        ("🙂", ""),
    ]:
        await refused(aysel, bad, reason(why) if why else "", phone_question)
    await aysel.shares_contact("994551234567", owner_id=999)  # someone else's contact
    again = (await aysel.reply()).text or ""
    assert again.startswith("⚠️") and phone_question in again
    code_question = head(cr.CODE_QUESTION, "az")
    await answer(aysel, "0551234567", code_question)
    code = await sent_code(engine, "+994551234567")
    wrong = "111111" if code != "111111" else "222222"
    code_again = head(phone_check.CODE_AGAIN_QUESTION, "az")
    await refused(aysel, "12345", t("The code has 6 digits."), code_again)
    tries_left = t("The code is not right. Tries left: {left}.").format(left=2)
    wrong_code = await refused(aysel, wrong, tries_left, code_again)
    assert code_question not in (wrong_code.text or "")  # no code was sent: not said again
    await answer(aysel, code, head(cr.TEXT_FIELDS[cr.EMAIL].question, "az"))
    for bad in ["not-an-email", "a@b", *GARBAGE]:
        await refused(aysel, bad, "", head(cr.TEXT_FIELDS[cr.EMAIL].question, "az"))
    await press(aysel, cr.SKIP, head(quote_text.REVIEW_HEADER, "az"))
    await refused(aysel, "göndər", use_buttons, head(quote_text.REVIEW_HEADER, "az"))

    await aysel.presses("cr:submit")
    await aysel.sees("QM-")
    async with engine.connect() as connection:
        application = (await connection.execute(select(Application))).one()
    assert application.object_type == "apartment" and application.has_general_conditions is True
    assert application.email is None and application.patronymic is None
    assert application.fee_amount == Decimal("0.00")  # the building's conditions cover it


# --------------------------------------------------------------------------- crash at review


async def test_sigkill_at_the_review_then_restart_shows_it_again_and_submits_once(
    emulator: BotApiEmulator, engine: AsyncEngine, database_url: str
) -> None:
    port = free_port()
    serve = ServeProcess(emulator, database_url, port)
    aysel = Citizen(emulator, user_id=2004)
    try:
        serve.start()
        await wait_healthy(port)
        await choose_language(aysel, "az")
        await walk_to_review(aysel, "az", district="Sumqayıt", phone_by_code=False, engine=engine)

        await serve.kill()
        serve.start()
        await wait_healthy(port)

        await aysel.says("Qoşulma müraciəti")
        await aysel.sees(head(cr.RESUME_QUESTION, "az"), timeout=20)
        await aysel.presses("cr:resume")
        review = await aysel.sees(head(quote_text.REVIEW_HEADER, "az"))
        for expected in ["Aysel", "5ABC7D8", "Sumqayıt", "+994501234567", "300,00"]:
            assert expected in (review.text or ""), expected
        await aysel.presses("cr:submit")
        await aysel.sees("QM-2026-")
        again = await emulator.press_button(aysel.user_id, "cr:submit")  # the old button
        await emulator.wait_for_callback_answer(again)
    finally:
        stderr = await serve.stop()
    assert "Traceback" not in stderr, stderr
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(Application)) == 1


async def as_if_killed(engine: AsyncEngine, user_id: int, dialogue: int, **draft: Any) -> None:
    """What a kill -9 leaves between writing a draft and the dialogue's state after the update.

    A step writes the draft (its new state, ``asked`` false) before its question goes out, and
    the dialogue's state (and ``asked`` true) after the update: killed in between, the
    dialogue is behind the draft, and nobody knows whether the question reached the citizen.
    """
    async with engine.begin() as connection:
        await connection.execute(
            update(PtbConversation)
            .where(PtbConversation.name == "connection_request")
            .values(state=dialogue)
        )
        data = await connection.scalar(
            select(PtbUserData.data).where(PtbUserData.user_id == user_id)
        )
        assert data is not None
        data[DRAFT_KEY].update(asked=False, **draft)
        await connection.execute(
            update(PtbUserData).where(PtbUserData.user_id == user_id).values(data=data)
        )


async def test_after_a_kill_between_draft_and_dialogue_the_question_is_asked_again(
    emulator: BotApiEmulator, engine: AsyncEngine
) -> None:
    """Found by the SIGKILL drill (test_fault_drills): a surname typed after such a crash was
    stored as the first name, and a button of the older question did nothing at all."""
    aysel = Citizen(emulator, user_id=2006)
    async with bot_on_emulator(engine, emulator):
        await choose_language(aysel, "az")
        await aysel.says("Qoşulma müraciəti")
        await answer(aysel, "Aysel", question(cr.LAST_NAME, "az"))
    # The surname question went out; the dialogue's state after it did not.
    await as_if_killed(engine, aysel.user_id, cr.FIRST_NAME)
    async with bot_on_emulator(engine, emulator) as bot:
        await aysel.says("Məmmədova")  # meant for the question on screen
        await aysel.sees(question(cr.LAST_NAME, "az"))  # not taken as the first name
        await answer(aysel, "Məmmədova", question(cr.PATRONYMIC, "az"))
        draft = bot.user_data[aysel.user_id][DRAFT_KEY]
        assert (draft["first_name"], draft["last_name"]) == ("Aysel", "Məmmədova")
        await press(aysel, cr.SKIP, question(cr.FIN, "az"))
        await answer(aysel, "5abc7d8", question(cr.ID_CARD, "az"))
        await aysel.says("aa 1234567")
        await aysel.sees(head(cr.PHASE_QUESTION, "az"))
    # «1 faza» was handled up to the new draft, killed before the power question went out (and
    # before the state of the two steps before was written).
    await as_if_killed(engine, aysel.user_id, cr.ID_CARD, state=cr.POWER, phase=1)
    async with bot_on_emulator(engine, emulator):
        await aysel.presses("cr:phase:1")  # pressed again: nothing had come
        await aysel.sees(head(cr.POWER_QUESTION, "az"))
        await answer(aysel, "7,5", head(cr.QUOTE_PROMPT, "az"))
