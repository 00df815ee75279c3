"""Random text at every step of the connection request: never an exception, always a question.

A few citizens reach the review, then each, for each step of its share, jumps there through
*Düzəliş et* (or the step before it), feeds 300 random strings drawn by hypothesis, and after
each one waits for the bot to ask a question again (every question carries the *Ləğv et*
button). A valid string moves the dialogue on; the test then walks back to the review with good
answers and returns. The citizens talk at once (the bot serves chats side by side): some 5,400
strings one after another took minutes on PostgreSQL, waiting on one round trip at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from chat.context import BotApplication
from conversations import connection_request as cr
from emulator import BotApiEmulator
from i18n import translate
from tests.harness import Citizen
from tests.test_connection_request import choose_language, walk_to_review

EXAMPLES_PER_STEP = 300
FIRST_USER_ID = 2501
CITIZENS = 6  # each takes every sixth step


class Driver:
    """Moves one citizen between the steps of the dialogue."""

    def __init__(self, citizen: Citizen, application: BotApplication) -> None:
        self.citizen = citizen
        self.application = application

    @property
    def state(self) -> int | None:
        draft = self.application.user_data.get(self.citizen.user_id, {}).get("connection_draft")
        return draft.get("state") if isinstance(draft, dict) else None

    async def asked(self) -> None:
        """Wait until the bot has asked a question (a message with the cancel button)."""
        cancel = translate(cr.CANCEL_LABEL, "az")
        while True:
            question = await self.citizen.reply()
            on_keyboard = [button.get("text") for button in question.buttons()]
            if cr.CANCEL in question.callback_data() or cancel in on_keyboard:
                return

    async def text(self, text: str) -> None:
        await self.citizen.says(text)
        await self.asked()

    async def press(self, data: str) -> None:
        await self.citizen.presses(data)
        await self.asked()

    async def good_answer(self) -> None:
        state = self.state
        answers: dict[int, Callable[[], Awaitable[None]]] = {
            cr.FIRST_NAME: lambda: self.text("Aysel"),
            cr.LAST_NAME: lambda: self.text("Məmmədova"),
            cr.PATRONYMIC: lambda: self.press(cr.SKIP),
            cr.FIN: lambda: self.text("5ABC7D8"),
            cr.ID_CARD: lambda: self.text("AA1234567"),
            cr.PHASE: lambda: self.press("cr:phase:1"),
            cr.POWER: lambda: self.text("10"),
            cr.QUOTE: lambda: self.press("cr:continue"),
            cr.OBJECT_TYPE: lambda: self.press("cr:object:house"),
            cr.GENERAL_CONDITIONS: lambda: self.press("cr:general:no"),
            cr.DISTRICT: lambda: self.text("Bakı"),
            cr.REGISTRY_NUMBER: lambda: self.text("1"),
            cr.REGISTRATION_NUMBER: lambda: self.text("2"),
            cr.LOCATION: lambda: self.text(translate(cr.USE_DISTRICT_CENTRE, "az")),
            cr.PHONE: self.own_contact,
            cr.PHONE_CODE: lambda: self.press("cr:rephone"),
            cr.EMAIL: lambda: self.press(cr.SKIP),
        }
        assert state in answers, state
        await answers[state]()

    async def own_contact(self) -> None:
        await self.citizen.shares_contact("994501234567")
        await self.asked()

    async def to_review(self) -> None:
        for _ in range(40):
            if self.state == cr.REVIEW:
                return
            await self.good_answer()
        raise AssertionError(f"stuck at state {self.state}")

    async def edit(self, state: int) -> None:
        await self.to_review()
        await self.press("cr:edit")
        await self.press(f"cr:editfield:{state}")

    async def to_step(self, step: int) -> None:
        """Bring the dialogue to ``step`` (from wherever the last string left it)."""
        if self.state == step:
            return
        if step == cr.REVIEW:
            await self.to_review()
        elif step == cr.QUOTE:
            await self.edit(cr.POWER)
            await self.text("10")
        elif step == cr.GENERAL_CONDITIONS:
            await self.edit(cr.OBJECT_TYPE)
            await self.press("cr:object:apartment")
        elif step == cr.PHONE_CODE:
            await self.edit(cr.PHONE)
            await self.text("0551234567")
        else:
            await self.edit(step)
        assert self.state == step, (step, self.state)


STEPS = [
    cr.FIRST_NAME, cr.LAST_NAME, cr.PATRONYMIC, cr.FIN, cr.ID_CARD, cr.PHASE, cr.POWER,
    cr.QUOTE, cr.OBJECT_TYPE, cr.GENERAL_CONDITIONS, cr.DISTRICT, cr.REGISTRY_NUMBER,
    cr.REGISTRATION_NUMBER, cr.LOCATION, cr.PHONE, cr.PHONE_CODE, cr.EMAIL, cr.REVIEW,
]  # fmt: skip

# Commands are another kind of input (tested elsewhere); everything else goes.
random_text = st.text(max_size=200).filter(lambda text: not text.startswith("/"))


@settings(
    max_examples=1,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_random_text_at_every_step_gets_a_question_back(
    data: st.DataObject,
    emulator: BotApiEmulator,
    bot: BotApplication,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Drawn before anyone talks, in one order: the citizens' interleaving is not hypothesis's.
    strings = {
        step: data.draw(
            st.lists(random_text, min_size=EXAMPLES_PER_STEP, max_size=EXAMPLES_PER_STEP),
            label=f"step {step}",
        )
        for step in STEPS
    }

    async def fuzz(n: int) -> None:
        citizen = Citizen(emulator, user_id=FIRST_USER_ID + n)
        driver = Driver(citizen, bot)
        await choose_language(citizen, "az")
        await walk_to_review(citizen, "az", district="Bakı", phone_by_code=False, engine=engine)
        for step in STEPS[n::CITIZENS]:
            for text in strings[step]:
                await driver.to_step(step)
                await driver.text(text)

    with caplog.at_level(logging.ERROR):
        async with asyncio.TaskGroup() as group:  # one failing cancels the others
            for n in range(CITIZENS):
                group.create_task(fuzz(n))
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
