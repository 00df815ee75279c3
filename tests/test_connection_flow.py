"""The connection request's flow (issue 17): cancelling, the code, one message per question."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from chat.context import BotApplication
from conversations import connection_request as cr
from conversations import phone_check, quote_text
from conversations.connection_draft import DRAFT_KEY
from conversations.quote_text import REVIEW_HEADER
from emulator import BotApiEmulator, SentMessage
from i18n import translate
from tests.harness import Citizen
from tests.test_connection_request import (
    SUMQAYIT_HOME,
    answer,
    choose_language,
    head,
    press,
    question,
    sent_code,
    walk_to_review,
)


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


# --------------------------------------------------------------------------- one message each

Act = Callable[[Citizen], Awaitable[None]]


def typed(text: str) -> Act:
    async def act(person: Citizen) -> None:
        await person.says(text)

    return act


def pressed(data: str) -> Act:
    async def act(person: Citizen) -> None:
        await person.presses(data)

    return act


async def replies_until(person: Citizen, wanted: str) -> list[SentMessage]:
    got = [await person.reply()]
    while wanted not in (got[-1].text or ""):
        got.append(await person.reply())
    return got


def carries_reply_keyboard(message: SentMessage) -> bool:
    return "keyboard" in (message.reply_markup or {})


async def test_every_question_is_one_message_and_a_wrong_answer_one_more(
    emulator: BotApiEmulator, bot: BotApplication, engine: AsyncEngine
) -> None:
    """The whole dialogue, a wrong answer at every question first.

    A question is one message: what the answer before gave (the distance, a chosen period) is on
    it; only after a step with a reply keyboard may one message come first, carrying the menu
    back. A wrong answer gets one message: the reason and the question again.
    """
    aysel = Citizen(emulator, user_id=2702)
    await choose_language(aysel, "az")
    code: list[str] = []

    async def right_code(person: Citizen) -> None:
        code.append(await sent_code(engine, "+994501234567"))
        await person.says(code[-1])

    async def wrong_code(person: Citizen) -> None:
        real = await sent_code(engine, "+994501234567")
        await person.says("111111" if real != "111111" else "222222")

    async def shared_home(person: Citizen) -> None:
        await person.shares_location(*SUMQAYIT_HOME)

    text_question = {state: question(state, "az") for state in cr.TEXT_FIELDS}
    journey: list[tuple[str, Act | None, Act, str]] = [
        # (the question, a wrong answer, the right one, the next question)
        ("", None, typed(az("Connection request")), text_question[cr.FIRST_NAME]),
        (text_question[cr.FIRST_NAME], typed("🙂"), typed("Aysel"), text_question[cr.LAST_NAME]),
        (
            text_question[cr.LAST_NAME],
            typed("1234"),
            typed("Məmmədova"),
            text_question[cr.PATRONYMIC],
        ),
        (text_question[cr.PATRONYMIC], typed("🙂"), pressed(cr.SKIP), text_question[cr.FIN]),
        (text_question[cr.FIN], typed("5ABC7D"), typed("5abc7d8"), text_question[cr.ID_CARD]),
        (
            text_question[cr.ID_CARD],
            typed("AB1234567"),
            typed("aa 1234567"),
            head(cr.PHASE_QUESTION, "az"),
        ),
        (head(cr.PHASE_QUESTION, "az"), typed("bir"), pressed("cr:phase:1"), "kVt"),
        ("kVt", typed("abc"), typed("7,5"), az("Calculate")),
        (az("Calculate"), typed("hesabla"), pressed("cr:calculate"), "300,00"),
        ("300,00", None, pressed("cr:continue"), head(cr.OBJECT_QUESTION, "az")),
        (
            head(cr.OBJECT_QUESTION, "az"),
            typed("ev"),
            pressed("cr:object:house"),
            head(cr.DISTRICT_QUESTION, "az"),
        ),
        (
            head(cr.DISTRICT_QUESTION, "az"),
            typed("qqqqqq"),
            typed("Sumqayıt"),
            text_question[cr.REGISTRY_NUMBER],
        ),
        (
            text_question[cr.REGISTRY_NUMBER],
            typed("🙂"),
            typed("12-345/2020"),
            text_question[cr.REGISTRATION_NUMBER],
        ),
        (
            text_question[cr.REGISTRATION_NUMBER],
            typed("🙂"),
            typed("7 B"),
            head(cr.LOCATION_QUESTION, "az"),
        ),
        (
            head(cr.LOCATION_QUESTION, "az"),
            typed("Nizami küçəsi 5"),
            shared_home,
            head(cr.PHONE_QUESTION, "az"),
        ),
        (
            head(cr.PHONE_QUESTION, "az"),
            typed("12345"),
            typed("050 123 45 67"),
            head(cr.CODE_QUESTION, "az"),
        ),
        (
            head(phone_check.CODE_AGAIN_QUESTION, "az"),
            wrong_code,
            right_code,
            text_question[cr.EMAIL],
        ),
        (text_question[cr.EMAIL], typed("a@b"), pressed(cr.SKIP), head(REVIEW_HEADER, "az")),
    ]
    for asked, wrong, right, following in journey:
        if wrong is not None:
            await wrong(aysel)
            refusal = await aysel.reply()
            text = refusal.text or ""
            assert text.startswith("⚠️") and asked in text, (asked, text)
        await right(aysel)
        got = await replies_until(aysel, following)
        assert len(got) <= 2, (following, [m.text for m in got])
        if len(got) == 2:  # only to give the menu back after a reply keyboard
            assert carries_reply_keyboard(got[0]) and not (got[0].text or "").startswith("⚠️")
            assert asked in (
                head(cr.CODE_QUESTION, "az"),
                head(phone_check.CODE_AGAIN_QUESTION, "az"),
            )
    shown = [m.text or "" for m in emulator.messages(aysel.user_id)]
    assert head(quote_text.NEAREST_CENTRE, "az") in next(
        t for t in shown if head(cr.PHONE_QUESTION, "az") in t
    )


async def test_questions_say_their_section_and_the_review_has_the_portal_s_four(
    emulator: BotApiEmulator, bot: BotApplication, engine: AsyncEngine
) -> None:
    aysel = Citizen(emulator, user_id=2703)
    await choose_language(aysel, "az")
    review = await walk_to_review(
        aysel, "az", district="Sumqayıt", phone_by_code=False, engine=engine
    )
    shown = [m.text or "" for m in emulator.messages(aysel.user_id)]

    def asking(piece: str) -> str:
        return next(text for text in shown if piece in text)

    for piece, section in [
        (question(cr.FIRST_NAME, "az"), "Əsas məlumatlar · 1/4"),
        (question(cr.ID_CARD, "az"), "Əsas məlumatlar · 1/4"),
        (head(cr.PHASE_QUESTION, "az"), "Müraciət məlumatları · 2/4"),
        (az("Calculate"), "Müraciət məlumatları · 2/4"),
        (head(cr.DISTRICT_QUESTION, "az"), "Obyekt məlumatları · 3/4"),
        (head(cr.LOCATION_QUESTION, "az"), "Obyekt məlumatları · 3/4"),
        (head(cr.PHONE_QUESTION, "az"), "Əlaqə məlumatları · 4/4"),
        (question(cr.EMAIL, "az"), "Əlaqə məlumatları · 4/4"),
    ]:
        assert section + "\n" in asking(piece), (section, asking(piece))
    text = review.text or ""
    sections = [
        "Əsas məlumatlar",
        "Müraciət məlumatları",
        "Obyekt məlumatları",
        "Əlaqə məlumatları",
    ]
    at = [text.index("\n" + name + "\n") for name in sections]
    assert at == sorted(at), text
    assert text.index("Ad: Aysel") < at[1] < text.index("İşin icra müddəti: ") < at[2]
    assert at[2] < text.index("Rayon: Sumqayıt") < at[3] < text.index("+994501234567")


async def test_a_district_known_at_calculate_gives_its_discount_there(
    emulator: BotApiEmulator, bot: BotApplication, engine: AsyncEngine
) -> None:
    """Changing the power after the district (Şuşa: 1 phase is free) showed the full fee."""
    aysel = Citizen(emulator, user_id=2704)
    await choose_language(aysel, "az")
    await walk_to_review(aysel, "az", district="Şuşa", phone_by_code=False, engine=engine)
    await press(aysel, "cr:edit", az("What would you like to change?"))
    await press(aysel, f"cr:editfield:{cr.POWER}", "kVt")
    await answer(aysel, "7,5", az("Calculate"))
    quote = (await press(aysel, "cr:calculate", "7,5")).text or ""
    assert quote.split("\n")[0].endswith(": 0,00\xa0₼"), quote  # the district's discount
    assert az("Discounts that depend on the district are applied at the review.") not in quote


async def to_location(person: Citizen, district: str) -> None:
    await person.says(az("Connection request"))
    await person.sees(question(cr.FIRST_NAME, "az"))
    await answer(person, "Aysel", question(cr.LAST_NAME, "az"))
    await answer(person, "Məmmədova", question(cr.PATRONYMIC, "az"))
    await press(person, cr.SKIP, question(cr.FIN, "az"))
    await answer(person, "5abc7d8", question(cr.ID_CARD, "az"))
    await answer(person, "aa1234567", head(cr.PHASE_QUESTION, "az"))
    await press(person, "cr:phase:1", "kVt")
    await answer(person, "7,5", az("Calculate"))
    await press(person, "cr:calculate", "300,00")
    await press(person, "cr:continue", head(cr.OBJECT_QUESTION, "az"))
    await press(person, "cr:object:house", head(cr.DISTRICT_QUESTION, "az"))
    await answer(person, district, question(cr.REGISTRY_NUMBER, "az"))
    await answer(person, "12-345/2020", question(cr.REGISTRATION_NUMBER, "az"))
    await answer(person, "7 B", head(cr.LOCATION_QUESTION, "az"))


BAKU_POINT = (40.3739, 49.8482)


async def test_a_location_far_from_the_district_is_questioned_once(
    emulator: BotApiEmulator, bot: BotApplication, engine: AsyncEngine
) -> None:
    """A point in Bakı with Şuşa chosen was taken as it came (and the fee had Şuşa's discount)."""
    aysel = Citizen(emulator, user_id=2705)
    await choose_language(aysel, "az")
    await to_location(aysel, "Şuşa")
    await aysel.shares_location(*BAKU_POINT)
    doubt = await aysel.sees(head(cr.FAR_LOCATION_QUESTION, "az"))
    assert "Seçilmiş rayon: Şuşa" in (doubt.text or "")
    assert doubt.callback_data() == ["cr:far:keep", "cr:far:district", "cr:far:again"]
    await press(aysel, "cr:far:district", head(cr.DISTRICT_QUESTION, "az"))
    await answer(aysel, "Bakı", head(cr.PHONE_QUESTION, "az"))  # the location taken with it
    draft = bot.user_data[aysel.user_id][DRAFT_KEY]
    assert draft["district"] == "Bakı" and draft["location_shared"]
    assert (draft["latitude"], draft["longitude"]) == BAKU_POINT

    kamran = Citizen(emulator, user_id=2706, first_name="Kamran")
    await choose_language(kamran, "az")
    await to_location(kamran, "Şuşa")
    await kamran.shares_location(*BAKU_POINT)
    await kamran.sees(head(cr.FAR_LOCATION_QUESTION, "az"))
    await kamran.shares_location(*BAKU_POINT)  # the same place again: once is enough
    await kamran.sees(head(cr.PHONE_QUESTION, "az"))
    draft = bot.user_data[kamran.user_id][DRAFT_KEY]
    assert draft["district"] == "Şuşa" and draft["latitude"] == BAKU_POINT[0]
