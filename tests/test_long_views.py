"""Views that outgrow one Telegram message, end to end through the emulator (issue 16, item 3).

Five staff comments of 1,000 characters made an application's history longer than 4,096
characters: Telegram refused it, the owner and staff got the apology, and could never open the
application again. A broadcast of 3,495 + 3,489 characters broke the composer's preview and
left it without buttons. Now a long view comes as several messages with the buttons under the
last one, and the emulator refuses, as Telegram does, anything longer than 4,096 UTF-16 units.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chat.telegram_text import MAX_TEXT, utf16_len
from delivery import application_changes
from domain.application_status import COMMENT_MAX, ApplicationStatus
from emulator import BotApiEmulator, SentMessage
from tests.harness import Citizen, bot_on_emulator
from tests.test_application_results import az, label, start, submitted

Sessions = async_sessionmaker[AsyncSession]
AYSEL, STAFF = 4101, 4199
APOLOGY = "Sorry, something went wrong on our side. Please try again in a moment."
S = ApplicationStatus
FIVE_STEPS = (
    S.UNDER_REVIEW,
    S.CONDITIONS_IN_PREPARATION,
    S.PAYMENT_PENDING,
    S.PAID,
    S.INSTALLATION,
)


def comment(index: int, filler: str = "ə") -> str:
    """A comment of exactly COMMENT_MAX characters that says which one it is."""
    head = f"Şərh {index}: "
    return head + filler * (COMMENT_MAX - len(head))


async def staff_commented(
    sessions: Sessions, number: str, steps: tuple[ApplicationStatus, ...], filler: str = "ə"
) -> list[str]:
    comments = [comment(index, filler) for index in range(1, len(steps) + 1)]
    for target, text in zip(steps, comments, strict=True):
        async with sessions.begin() as session:
            await application_changes.change_status(
                session, number, target, actor="api:operator", comment=text
            )
    return comments


async def view(person: Citizen) -> list[SentMessage]:
    """The bot's messages up to the one that carries a keyboard: one view."""
    messages = [await person.reply()]
    while messages[-1].reply_markup is None:
        messages.append(await person.reply())
    return messages


def whole(messages: list[SentMessage]) -> str:
    assert all(utf16_len(m.text or "") <= MAX_TEXT for m in messages)
    return "\n".join(m.text or "" for m in messages)


async def test_five_long_comments_the_owner_and_staff_see_the_whole_history(
    emulator: BotApiEmulator, engine: AsyncEngine, session_factory: Sessions
) -> None:
    async with bot_on_emulator(engine, emulator, staff_ids=[STAFF]):
        number = await submitted(session_factory, AYSEL, "long-1")
        comments = await staff_commented(session_factory, number, FIVE_STEPS)
        aysel = Citizen(emulator, AYSEL)
        await start(aysel)

        await aysel.says("Müraciətlərim")
        listing = await view(aysel)
        assert listing[-1].callback_data() == [f"my:{number}"]
        for opened in ("press", "type"):
            if opened == "press":
                await aysel.presses(f"my:{number}")
            else:
                await aysel.says(number.lower())
            messages = await view(aysel)
            assert len(messages) > 1, "five 1,000-character comments need more than one message"
            text = whole(messages)
            assert az("History:") in (messages[0].text or "")
            assert all(c in text for c in comments), "every comment in full"
            assert az(APOLOGY) not in text
            assert [b["text"] for b in messages[-1].buttons()][:1], "the main menu, under the last"
            assert all(m.reply_markup is None for m in messages[:-1])

        staff = Citizen(emulator, STAFF, first_name="Rəşad")
        await start(staff)
        await staff.says(f"/status {number}")
        messages = await view(staff)
        assert len(messages) > 1 and all(c in whole(messages) for c in comments)
        assert messages[-1].callback_data() == [f"st:{number}:connected", f"st:{number}:rejected"]
        await staff.presses(f"st:{number}:connected")
        await staff.sees(az("A comment for the citizen, or press «No comment»:"))
        await staff.presses("st:nocomment")
        await staff.sees(label(S.CONNECTED))


async def test_the_owner_withdraws_under_a_long_history_of_emoji(
    emulator: BotApiEmulator, engine: AsyncEngine, session_factory: Sessions
) -> None:
    """1,000 emoji are 2,000 UTF-16 units: three such comments are past Telegram's limit."""
    async with bot_on_emulator(engine, emulator):
        number = await submitted(session_factory, AYSEL, "long-2")
        steps = (S.UNDER_REVIEW, S.CONDITIONS_IN_PREPARATION, S.PAYMENT_PENDING)
        comments = await staff_commented(session_factory, number, steps, filler="🙂")
        aysel = Citizen(emulator, AYSEL)
        await start(aysel)
        await aysel.says(number)
        messages = await view(aysel)
        assert len(messages) > 1 and all(c in whole(messages) for c in comments)
        assert messages[-1].callback_data() == [f"my:withdraw:{number}"]
        await aysel.presses(f"my:withdraw:{number}")
        question = az("Withdraw application {number}? This cannot be undone.")
        await aysel.sees(question.format(number=number))
        await aysel.presses(f"my:withdraw!:{number}")
        await aysel.sees(az("Application {number} is withdrawn.").format(number=number))


async def test_a_long_broadcast_is_previewed_per_language_and_keeps_its_buttons(
    emulator: BotApiEmulator, engine: AsyncEngine
) -> None:
    azerbaijani = ("Sabah Sumqayıtda planlı işlər səbəbindən işıq olmayacaq. " * 62)[:3495]
    russian = ("Завтра в Сумгайыте плановые работы, света не будет. " * 70)[:3489]
    async with bot_on_emulator(engine, emulator, staff_ids=[STAFF]):
        staff = Citizen(emulator, STAFF, first_name="Rəşad")
        await start(staff)
        await staff.says("/broadcast")
        await staff.sees(az("Who should receive the broadcast?"))
        await staff.presses("bc:aud:all")
        await staff.sees(az("How should it be sent?"))
        await staff.presses("bc:ch:telegram")
        await staff.sees(az("Type the message in Azerbaijani (every citizen gets at least this):"))
        await staff.says(azerbaijani)
        first = await view(staff)
        assert azerbaijani in whole(first)
        assert "bc:add:ru" in first[-1].callback_data()

        await staff.presses("bc:add:ru")
        await staff.reply()  # "Type the message in Russian:"
        await staff.says(russian)
        preview = await view(staff)
        assert len(preview) >= 2
        assert any(azerbaijani in (m.text or "") for m in preview), "each text whole, as sent"
        assert any(russian in (m.text or "") for m in preview)
        assert az("Recipients: Telegram {telegram}, SMS {sms}.")[:10] in whole(preview)
        assert {"bc:send", "bc:later", "bc:add:en", "bc:cancel"} <= set(preview[-1].callback_data())

        await staff.presses("bc:send")
        await staff.sees(az("Broadcast #{id} is saved. {when}").split("{", 1)[0])
