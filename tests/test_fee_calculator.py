"""The fee calculator (*Haqqı hesabla*), end to end through the Bot API emulator.

Phase → power → district (optional) → the quote with its breakdown and rules; bad answers get
the reason and the same question; *Apply with these values* hands phase, power and district to
the connection request, which then skips those questions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.emulator import BotApiEmulator, SentMessage
from chat.context import BotApplication
from chat.keyboards import MENU_LABELS, MenuItem
from conversations import connection_request as cr
from conversations import fee_calculator as fc
from conversations import quote_text, texts
from conversations.connection_draft import DRAFT_KEY
from domain.connection_fees import ConnectionRequest, Phase, quote_fee
from i18n import format_money, translate
from tests.harness import Citizen
from tests.test_connection_request import answer, choose_language, head, press, question

# The calculator's own messages (msgids written inline in conversations/fee_calculator.py).
PHASE_QUESTION = "Let us calculate the connection fee. How many phases? Most homes use 1 phase."
DISTRICT_QUESTION = (
    "Some districts have discounts. Type the city or district of the object (e.g. Şuşa), "
    "or press «Skip»:"
)
NAKHCHIVAN = (
    "The Nakhchivan Autonomous Republic is supplied by its own energy service "
    "(Naxçıvan Enerji), not by Azərişıq."
)
NOT_FOUND = "I could not find such a city or district."
WHICH_ONE = "Which one do you mean?"
DISTRICT_LINE = "District: {district}."
DISCOUNT_LINE = "discount {percent} %: {amount}"
CLOSED = "Calculation closed."
ANSWER_BELOW = "Please answer the question below."
MOVED_INTO_DRAFT = "Your unfinished application now uses these values. Let us go on."


async def refused(person: Citizen, bad: str, reason: str, again: str) -> None:
    """A bad answer gets one message: the reason and the same question (one message per
    question; a second message would be read as the next refusal and fail it)."""
    await person.says(bad)
    warning = await person.reply()
    text = warning.text or ""
    assert text.startswith("⚠️") and reason in text and again in text, (bad[:40], text)
    assert warning.reply_markup, "the question's buttons are on the same message"


def az(msgid: str) -> str:
    return translate(msgid, "az")


def power_question(phase: int, locale: str = "az") -> str:
    """The power question in full: it names the phase and its limit."""
    limit = "20" if phase == 1 else "200"
    return translate(quote_text.POWER_QUESTIONS[Phase(phase)], locale).format(limit=limit)


def sources(phase: int, power: str, district: str | None = None, locale: str = "az") -> str:
    """The legal acts a quote cites, as the domain names them in ``locale``."""
    request = ConnectionRequest(phase=Phase(phase), power_kw=Decimal(power), district=district)
    return "; ".join(quote_fee(request, on=datetime.now(UTC).date()).sources_in(locale))


def draft_of(application: BotApplication, user_id: int) -> dict[str, Any]:
    draft = application.user_data[user_id][DRAFT_KEY]
    assert isinstance(draft, dict)
    return draft


async def open_calculator(person: Citizen, locale: str = "az") -> SentMessage:
    await person.says(translate(MENU_LABELS[MenuItem.FEE_CALCULATOR], locale))
    return await person.sees(translate(PHASE_QUESTION, locale))


async def to_district(person: Citizen, phase: int, power: str, locale: str = "az") -> SentMessage:
    """From the phase question to the district question."""
    await press(person, f"fc:phase:{phase}", power_question(phase, locale))
    return await answer(person, power, translate(DISTRICT_QUESTION, locale))


async def quote_for(person: Citizen, phase: int, power: str, district: str | None) -> SentMessage:
    """Phase, power, then a district typed (or skipped): the quote message."""
    await to_district(person, phase, power)
    if district is None:
        await person.presses("fc:nodistrict")
    else:
        await person.says(district)
    return await person.sees(head("Connection fee for {phase}, {power}: {amount}", "az"))


async def messages_until(person: Citizen, then: str) -> list[str]:
    """Every bot message up to and including the first containing ``then``."""
    seen: list[str] = []
    while not seen or then not in seen[-1]:
        seen.append((await person.reply()).text or "")
    return seen


async def rest_of_main_info(person: Citizen) -> list[str]:
    """From the last name to the ID card; returns what the bot said after the ID card."""
    await answer(person, "Məmmədova", question(cr.PATRONYMIC, "az"))
    await press(person, cr.SKIP, question(cr.FIN, "az"))
    await answer(person, "5ABC7D8", question(cr.ID_CARD, "az"))
    await person.says("AA1234567")
    return await messages_until(person, head(cr.OBJECT_QUESTION, "az"))


async def rest_of_main_info_to_phase(person: Citizen) -> None:
    """From the last name to the ID card, in an application started without the calculator."""
    await answer(person, "Məmmədova", question(cr.PATRONYMIC, "az"))
    await press(person, cr.SKIP, question(cr.FIN, "az"))
    await answer(person, "5ABC7D8", question(cr.ID_CARD, "az"))
    await answer(person, "AA1234567", head(cr.PHASE_QUESTION, "az"))


def skipped_questions(said: list[str]) -> None:
    for text in said:
        for asked in (cr.PHASE_QUESTION, cr.POWER_QUESTION, cr.QUOTE_PROMPT):
            assert head(asked, "az") not in text, text


# --------------------------------------------------------------------------- the quote


async def test_quote_without_a_district_then_calculate_again(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=3001)
    await choose_language(aysel, "az")
    asked = await open_calculator(aysel)
    assert asked.callback_data() == ["fc:phase:1", "fc:phase:3", fc.CANCEL]

    district = await to_district(aysel, 1, "7,5")
    assert district.callback_data() == ["fc:nodistrict", fc.BACK, fc.CANCEL]
    await aysel.presses("fc:nodistrict")
    quote = await aysel.sees(format_money(Decimal("300.00"), "az"))
    text = quote.text or ""
    assert "1 faza" in text and "7,5 kVt" in text
    assert "7,5 kVt × 40,00\xa0₼ = 300,00\xa0₼" in text  # the breakdown line
    assert az("Rules: {sources}.").format(sources=sources(1, "7.5")) in text
    assert head(DISCOUNT_LINE, "az") not in text
    assert head(DISTRICT_LINE, "az") not in text
    assert quote.callback_data() == [fc.APPLY_CALLBACK, "fc:again", fc.BACK]

    await press(aysel, "fc:again", az(PHASE_QUESTION))
    await press(aysel, "fc:phase:3", power_question(3))
    await answer(aysel, "30", az(DISTRICT_QUESTION))
    await aysel.presses("fc:nodistrict")
    again = await aysel.sees(format_money(Decimal("8790.00"), "az"))
    assert "3 faza" in (again.text or "")


async def test_districts_give_discounts_and_nakhchivan_is_not_ours(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=3002)
    await choose_language(aysel, "az")
    await open_calculator(aysel)

    free = await quote_for(aysel, 1, "7,5", "şuşa")
    text = free.text or ""
    assert format_money(Decimal("0.00"), "az") in text
    assert "300,00" in text  # the base line before the discount
    discount = az(DISCOUNT_LINE).format(
        percent="100", amount=format_money(Decimal("-300.00"), "az")
    )
    assert discount in text
    assert az(DISTRICT_LINE).format(district="Şuşa") in text
    assert az("Rules: {sources}.").format(sources=sources(1, "7.5", "Şuşa")) in text

    await press(aysel, "fc:again", az(PHASE_QUESTION))
    big = await quote_for(aysel, 3, "30", "Şuşa")
    text = big.text or ""
    assert format_money(Decimal("3076.50"), "az") in text  # 8 790,00 less 65 %
    assert (
        az(DISCOUNT_LINE).format(percent="65", amount=format_money(Decimal("-5713.50"), "az"))
        in text
    )

    await press(aysel, "fc:again", az(PHASE_QUESTION))
    await to_district(aysel, 1, "7,5")
    for nakhchivan in ["Naxçıvan", "Şərur"]:
        await refused(aysel, nakhchivan, az(NAKHCHIVAN), az(DISTRICT_QUESTION))
    await refused(aysel, "qqqqqq", az(NOT_FOUND), az(DISTRICT_QUESTION))

    await aysel.says("Sab")
    choice = await aysel.sees(az(WHICH_ONE))
    options = choice.callback_data()
    assert "fc:district:Sabirabad" in options and "fc:district:Sabunçu (Bakı)" in options
    assert options[-1] == fc.CANCEL
    await aysel.presses("fc:district:Sabirabad")
    chosen = await aysel.sees(az(DISTRICT_LINE).format(district="Sabirabad"))
    assert "300,00" in (chosen.text or "")


async def test_a_quote_in_russian(emulator: BotApiEmulator, bot: BotApplication) -> None:
    oleg = Citizen(emulator, user_id=3003, first_name="Олег", language_code="ru")
    await choose_language(oleg, "ru")
    await open_calculator(oleg, "ru")
    await to_district(oleg, 3, "30", "ru")
    await oleg.says("Шуша")
    quote = await oleg.sees(format_money(Decimal("3076.50"), "ru"))
    text = quote.text or ""
    assert translate(DISTRICT_LINE, "ru").format(district="Şuşa") in text
    rules = sources(3, "30", "Şuşa", "ru")
    assert translate("Rules: {sources}.", "ru").format(sources=rules) in text


# --------------------------------------------------------------------------- bad input


async def test_bad_answers_get_the_reason_and_the_question_again(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    def reason(key: str) -> str:
        return az(texts.REASONS[key])

    aysel = Citizen(emulator, user_id=3004)
    await choose_language(aysel, "az")
    await open_calculator(aysel)
    await refused(aysel, "1", az(ANSWER_BELOW), az(PHASE_QUESTION))
    await refused(aysel, "üç faza", az(ANSWER_BELOW), az(PHASE_QUESTION))

    await press(aysel, "fc:phase:1", power_question(1))
    for bad, why in [
        (" ", "empty"),
        ("🙂🙂", "not_a_number"),
        ("abc", "not_a_number"),
        ("0", "not_positive"),
        ("7.55", "precision"),
        ("x" * 5000, "too_long"),
    ]:
        await refused(aysel, bad, reason(why), power_question(1))
    above = az("The most you can ask for {phase} is {limit} kW.").format(
        phase=az("1 phase"), limit="20"
    )
    await refused(aysel, "25", above, power_question(1))
    await answer(aysel, "20", az(DISTRICT_QUESTION))  # the limit itself is fine

    await aysel.says("/cancel")
    closed = await aysel.sees(az(CLOSED))
    assert az(MENU_LABELS[MenuItem.FEE_CALCULATOR]) in aysel.keyboard()
    assert (closed.reply_markup or {}).get("keyboard")
    await aysel.says("5")  # the calculator is over: the number is not taken as power
    assert head(DISTRICT_QUESTION, "az") not in ((await aysel.reply()).text or "")

    await open_calculator(aysel)
    await press(aysel, "fc:phase:3", power_question(3))
    await aysel.presses(fc.CANCEL)
    closed = await aysel.sees(az(CLOSED))
    assert (closed.reply_markup or {}).get("keyboard")
    assert fc.VALUES_KEY not in bot.user_data[aysel.user_id]


# --------------------------------------------------------------------------- apply


async def test_apply_with_a_district_skips_phase_power_quote_and_district(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=3005)
    await choose_language(aysel, "az")
    await open_calculator(aysel)
    await quote_for(aysel, 1, "7,5", "Şuşa")
    await press(aysel, fc.APPLY_CALLBACK, question(cr.FIRST_NAME, "az"))

    await answer(aysel, "Aysel", question(cr.LAST_NAME, "az"))
    said = await rest_of_main_info(aysel)
    skipped_questions(said)
    assert "Hesablamanızdan: 1 faza, 7,5 kVt." in said[-1]  # said, on the next question
    draft = draft_of(bot, aysel.user_id)
    assert (draft["phase"], draft["power_kw"], draft["district"]) == (1, "7.5", "Şuşa")

    registry = await press(aysel, "cr:object:house", question(cr.REGISTRY_NUMBER, "az"))
    assert "Hesablamanızdan: Şuşa." in (registry.text or "")
    draft = draft_of(bot, aysel.user_id)
    assert draft["state"] == cr.REGISTRY_NUMBER and draft["object_type"] == "house"
    assert draft["first_name"] == "Aysel" and draft["fin"] == "5ABC7D8"


async def test_apply_without_a_district_still_asks_the_district(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=3006)
    await choose_language(aysel, "az")
    await open_calculator(aysel)
    await quote_for(aysel, 3, "30", None)
    await press(aysel, fc.APPLY_CALLBACK, question(cr.FIRST_NAME, "az"))
    await answer(aysel, "Aysel", question(cr.LAST_NAME, "az"))
    skipped_questions(await rest_of_main_info(aysel))
    draft = draft_of(bot, aysel.user_id)
    assert (draft["phase"], draft["power_kw"], draft["district"]) == (3, "30", None)
    await press(aysel, "cr:object:house", head(cr.DISTRICT_QUESTION, "az"))


async def test_apply_fills_an_unfinished_application_and_goes_on_where_it_stopped(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=3007)
    await choose_language(aysel, "az")
    await aysel.says(az(MENU_LABELS[MenuItem.CONNECTION_REQUEST]))
    await aysel.sees(question(cr.FIRST_NAME, "az"))
    await answer(aysel, "Aysel", question(cr.LAST_NAME, "az"))
    started = draft_of(bot, aysel.user_id)["id"]

    await open_calculator(aysel)
    await quote_for(aysel, 1, "10", "Ağdam")
    await aysel.presses(fc.APPLY_CALLBACK)
    moved = (await aysel.sees(az(MOVED_INTO_DRAFT))).text or ""
    assert (
        question(cr.LAST_NAME, "az") in moved
    )  # the question, on the same message  # where it stopped
    draft = draft_of(bot, aysel.user_id)
    assert draft["id"] == started and draft["first_name"] == "Aysel"
    assert (draft["phase"], draft["power_kw"], draft["district"]) == (1, "10", "Ağdam")

    skipped_questions(await rest_of_main_info(aysel))
    await press(aysel, "cr:object:house", question(cr.REGISTRY_NUMBER, "az"))
    assert draft_of(bot, aysel.user_id)["id"] == started


async def test_apply_into_an_application_past_those_questions_keeps_back_working(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=3008)
    await choose_language(aysel, "az")
    await aysel.says(az(MENU_LABELS[MenuItem.CONNECTION_REQUEST]))
    await aysel.sees(question(cr.FIRST_NAME, "az"))
    await answer(aysel, "Aysel", question(cr.LAST_NAME, "az"))
    await rest_of_main_info_to_phase(aysel)
    await press(aysel, "cr:phase:1", head(cr.POWER_QUESTION, "az"))
    await answer(aysel, "5", az("Calculate"))
    await press(aysel, "cr:calculate", "200,00")
    await press(aysel, "cr:continue", head(cr.OBJECT_QUESTION, "az"))
    await press(aysel, "cr:object:house", head(cr.DISTRICT_QUESTION, "az"))
    await answer(aysel, "Bakı", question(cr.REGISTRY_NUMBER, "az"))

    await open_calculator(aysel)
    await quote_for(aysel, 1, "7,5", "Şuşa")
    await aysel.presses(fc.APPLY_CALLBACK)
    moved = (await aysel.sees(az(MOVED_INTO_DRAFT))).text or ""
    assert question(cr.REGISTRY_NUMBER, "az") in moved  # the question, on the same message
    draft = draft_of(bot, aysel.user_id)
    assert (draft["phase"], draft["power_kw"], draft["district"]) == (1, "7.5", "Şuşa")
    assert draft["prefilled"] == []  # all answered before: nothing ahead to skip

    # «Geri» walks back through the questions answered before, none swallowed.
    await press(aysel, cr.BACK, head(cr.DISTRICT_QUESTION, "az"))
    await press(aysel, cr.BACK, head(cr.OBJECT_QUESTION, "az"))
    await press(aysel, cr.BACK, az("Calculate"))
    await press(aysel, cr.BACK, head(cr.POWER_QUESTION, "az"))
