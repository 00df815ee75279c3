"""Fault drills: the Bot API fails every 7th call with a 5xx and enforces flood limits (429
with retry_after); citizens talking to the bot at the same time lose no reply."""

from __future__ import annotations

import asyncio

from bot.emulator import BotApiEmulator
from chat.context import BotApplication
from tests.harness import Citizen
from tests.test_connection_request import choose_language

CITIZENS = 12


async def test_5xx_on_every_7th_call_and_429s_lose_no_reply(
    emulator: BotApiEmulator, bot: BotApplication
) -> None:
    emulator.fail_every(7, 502, methods=["sendMessage", "editMessageText", "answerCallbackQuery"])
    emulator.rate_limits(overall_per_second=30, per_chat_per_second=1)

    async def talk(person: Citizen) -> None:
        await choose_language(person, "az")
        await person.says("Kömək")
        await person.sees("Bu botda nələr edə bilərsiniz", timeout=30)
        await person.says("Müraciətlərim")
        await person.sees("Hələ müraciətiniz yoxdur", timeout=30)

    people = [Citizen(emulator, 6100 + n) for n in range(CITIZENS)]
    await asyncio.wait_for(asyncio.gather(*(talk(p) for p in people)), timeout=120)
    assert emulator.stats.server_errors > 0 and emulator.stats.rate_limited > 0
    for person in people:
        texts = [m.text or "" for m in emulator.messages(person.user_id)]
        assert not any("xəta baş verdi" in text for text in texts), texts
