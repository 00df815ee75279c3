"""Updates: complete connection requests by many citizens at once, against an echo bot.

Both bots poll the same kind of local Bot API emulator in this process. A citizen's latency is
the time from their action (message, button, contact, location) to the bot's answer they wait
for; throughput is actions answered per second of wall time. The baseline is a bare
python-telegram-bot echo bot with concurrent updates: the framework's own ceiling on this
machine, with the same emulator and client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.runtime import make_services, running_bot
from emulator import BotApiEmulator, SentMessage
from storage.db import create_engine
from storage.migrate import upgrade_to_head
from tests.harness import UNPACED, Citizen, settings_for
from tests.test_connection_request import choose_language, walk_to_review


@dataclass
class Timings:
    latencies: list[float] = field(default_factory=list)
    actions: int = 0

    def record(self, seconds: float) -> None:
        self.latencies.append(seconds)


@dataclass
class TimedCitizen(Citizen):
    """A citizen who notes how long each action waits for the answer it expects."""

    timings: Timings = field(default_factory=Timings)
    _since: float | None = None

    def _acted(self) -> None:
        self.timings.actions += 1
        self._since = time.perf_counter()

    async def says(self, text: str) -> None:
        self._acted()
        await super().says(text)

    async def presses(self, callback_data: str) -> None:
        self._acted()
        await super().presses(callback_data)

    async def shares_contact(self, phone: str, *, owner_id: int | None = None) -> None:
        self._acted()
        await super().shares_contact(phone, owner_id=owner_id)

    async def shares_location(self, latitude: float, longitude: float) -> None:
        self._acted()
        await super().shares_location(latitude, longitude)

    async def sees(self, substring: str, timeout: float = 60.0) -> SentMessage:  # noqa: ASYNC109
        message = await super().sees(substring, timeout)
        if self._since is not None:
            self.timings.record(time.perf_counter() - self._since)
            self._since = None
        return message


@dataclass(frozen=True)
class Result:
    updates: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def crowd(
    count: int,
    journey: Callable[[TimedCitizen], Awaitable[None]],
    emulator: BotApiEmulator,
    first: int = 0,
) -> Result:
    timings = Timings()
    people = [TimedCitizen(emulator, 700_000 + first + n, timings=timings) for n in range(count)]
    started = time.perf_counter()
    await asyncio.gather(*(journey(person) for person in people))
    return Result(timings.actions, time.perf_counter() - started, timings.latencies)


async def connection_requests(database_url: str, citizens: int, first: int = 0) -> Result:
    """``citizens`` complete connection requests at once, on the real bot (new people, from
    number ``first``, each round)."""
    await upgrade_to_head(database_url)  # a no-op when already there
    engine: AsyncEngine = create_engine(database_url)
    try:
        # The echo bot is not paced either: this row measures handling, not Telegram's limits.
        settings = settings_for(database_url, **UNPACED)
        async with BotApiEmulator() as emulator, running_bot(
            settings, make_services(settings, engine), token=emulator.token,
            base_url=emulator.base_url, poll_timeout=1,
        ):  # fmt: skip

            async def journey(person: TimedCitizen) -> None:
                await choose_language(person, "az")
                await walk_to_review(
                    person, "az", district="Sumqayıt", phone_by_code=False, engine=engine
                )
                await person.presses("cr:submit")
                await person.sees("QM-")

            return await crowd(citizens, journey, emulator, first)
    finally:
        await engine.dispose()


async def echo_baseline(citizens: int, messages_each: int) -> Result:
    """The same number of people and messages, answered by a bare echo bot."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    async with BotApiEmulator() as emulator:
        application = (
            ApplicationBuilder()
            .token(emulator.token)
            .base_url(emulator.base_url)
            .concurrent_updates(64)
            .build()
        )
        application.add_handler(MessageHandler(filters.TEXT, echo))
        async with application:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0, timeout=1)

            async def journey(person: TimedCitizen) -> None:
                for n in range(messages_each):
                    await person.says(f"echo {person.user_id} {n}")
                    await person.sees(f"echo {person.user_id} {n}")

            try:
                return await crowd(citizens, journey, emulator)
            finally:
                await application.updater.stop()
                await application.stop()


ROUNDS = 2  # each side's best round is reported


def run(database_url: str, citizens: int) -> dict[str, Any]:
    """Bot and echo bot in turns (noise hits both alike); the best round of each."""
    bots: list[Result] = []
    echoes: list[Result] = []
    for round_ in range(ROUNDS):
        bots.append(
            asyncio.run(connection_requests(database_url, citizens, first=round_ * citizens))
        )
        per_citizen = max(1, bots[-1].updates // citizens)
        echoes.append(asyncio.run(echo_baseline(citizens, per_citizen)))
    best = max(bots, key=lambda run: run.per_second)
    return {"bot": best, "echo": max(echoes, key=lambda run: run.per_second)}
