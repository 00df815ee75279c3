"""Small things a newcomer trips over (issue 15): each answer says what it expects.

- a bad ID card number gets the forms an ID card number has, not only "the format is wrong";
- *Geri* (and *Düzəliş et*) show the answer given before, with a ✓ button that keeps it;
- the fee calculator has *Geri* too;
- money follows CLDR's currency spacing in every locale ("AZN 300.00", not "AZN300.00").
"""

from __future__ import annotations

from decimal import Decimal

from chat.context import BotApplication
from conversations import connection_request as cr
from conversations import fee_calculator as fc
from conversations.connection_draft import DRAFT_KEY
from conversations.texts import EARLIER_ANSWER, REASONS
from emulator import BotApiEmulator, SentMessage
from i18n import format_money, translate
from tests.harness import Citizen
from tests.test_connection_request import answer, head, press, question
from tests.test_fee_calculator import DISTRICT_QUESTION, PHASE_QUESTION, power_question


def az(msgid: str) -> str:
    return translate(msgid, "az")


def labels(message: SentMessage) -> list[str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def earlier(value: str) -> str:
    return az(EARLIER_ANSWER).format(value=value)


async def to_the_id_card(person: Citizen) -> None:
    await person.says("/apply")
    await person.sees(question(cr.FIRST_NAME, "az"))
    await answer(person, "Aysel", question(cr.LAST_NAME, "az"))
    await answer(person, "Məmmədova", question(cr.PATRONYMIC, "az"))
    await press(person, cr.SKIP, question(cr.FIN, "az"))
    await answer(person, "5abc7d8", question(cr.ID_CARD, "az"))


async def test_a_bad_id_card_is_told_the_forms_of_an_id_card_number(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=5101)
    await to_the_id_card(aysel)
    for bad in ("AB1234567", "AA123456", "AZE1234567", "12345"):
        await aysel.says(bad)
        warning = (await aysel.sees("⚠️")).text or ""
        assert az(REASONS["id_card_format"]) in warning, warning
        assert az(REASONS["format"]) not in warning
        assert "AA1234567" in warning and "AZE12345678" in warning and "MYİ" in warning
        assert warning.endswith(question(cr.ID_CARD, "az"))  # the question on the same message


async def test_back_shows_the_answer_given_before_and_keeps_it_with_one_press(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=5102)
    await to_the_id_card(aysel)

    await aysel.presses(cr.BACK)
    fin = await aysel.sees(question(cr.FIN, "az"))
    assert earlier("5ABC7D8") in (fin.text or "")
    assert labels(fin)[0] == "✓ 5ABC7D8" and fin.callback_data()[0] == cr.KEEP
    await press(aysel, cr.KEEP, question(cr.ID_CARD, "az"))  # kept, not typed again

    await answer(aysel, "AA1234567", head(cr.PHASE_QUESTION, "az"))
    await press(aysel, "cr:phase:1", head(cr.POWER_QUESTION, "az"))
    await answer(aysel, "7,5", az("Calculate"))
    await aysel.presses(cr.BACK)
    power = await aysel.sees(head(cr.POWER_QUESTION, "az"))
    assert earlier("7,5") in (power.text or "") and "✓ 7,5" in labels(power)
    await aysel.presses(cr.BACK)
    phase = await aysel.sees(head(cr.PHASE_QUESTION, "az"))
    assert labels(phase)[:2] == ["✓ " + az("1 phase"), az("3 phases")]
    await press(aysel, "cr:phase:1", head(cr.POWER_QUESTION, "az"))
    await press(aysel, cr.KEEP, az("Calculate"))
    draft = bot.user_data[aysel.user_id][DRAFT_KEY]
    assert (draft["fin"], draft["power_kw"]) == ("5ABC7D8", "7.5")


async def test_the_fee_calculator_goes_back_question_by_question(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    aysel = Citizen(emulator, user_id=5103)
    await aysel.says("/fee")
    first = await aysel.sees(az(PHASE_QUESTION))
    assert fc.BACK not in first.callback_data()  # nothing before the first question
    power = await press(aysel, "fc:phase:1", power_question(1))
    assert fc.BACK in power.callback_data()
    district = await answer(aysel, "7,5", az(DISTRICT_QUESTION))
    assert fc.BACK in district.callback_data()

    power = await press(aysel, fc.BACK, power_question(1))
    assert earlier("7,5") in (power.text or "") and "✓ 7,5" in labels(power)
    await press(aysel, fc.KEEP, az(DISTRICT_QUESTION))
    await aysel.says("Şuşa")
    quote = await aysel.sees(format_money(Decimal("0.00"), "az"))
    assert fc.BACK in quote.callback_data()
    district = await press(aysel, fc.BACK, az(DISTRICT_QUESTION))
    assert "✓ Şuşa" in labels(district)
    await press(aysel, fc.BACK, power_question(1))
    phase = await press(aysel, fc.BACK, az(PHASE_QUESTION))
    assert labels(phase)[:2] == ["✓ " + az("1 phase"), az("3 phases")]
    await aysel.says("hesabla")  # not an answer: the reason and the question, one message
    refusal = await aysel.sees("⚠️")
    assert az(PHASE_QUESTION) in (refusal.text or "")
    assert labels(refusal)[:2] == ["✓ " + az("1 phase"), az("3 phases")]


def test_money_has_the_currency_spacing_of_each_locale() -> None:
    assert format_money(Decimal("300"), "en") == "AZN\xa0300.00"
    assert format_money(Decimal("-1234.5"), "en") == "-AZN\xa01,234.50"
    assert format_money(Decimal("300"), "az") == "300,00\xa0₼"  # ₼ is a symbol: as babel has it
    assert format_money(Decimal("300"), "ru") == "300,00\xa0AZN"


async def test_an_english_quote_reads_azn_then_a_space(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    oliver = Citizen(emulator, user_id=5104, language_code="en")
    await oliver.says("/fee")
    await oliver.sees(translate(PHASE_QUESTION, "en"))
    await press(oliver, "fc:phase:1", power_question(1, "en"))
    await answer(oliver, "7.5", translate(DISTRICT_QUESTION, "en"))
    await oliver.presses("fc:nodistrict")
    quote = await oliver.sees("AZN\xa0300.00")
    assert "AZN300" not in (quote.text or "")
