"""Launch burst: new citizens press /start within one second under Telegram's limits.

The drill of tests/test_launch_burst.py as a measure: the emulator enforces 30 messages a
second overall and one a second per chat, and the bot runs with its production pacing. The
baseline is the floor: at 30 a second the last of N first answers cannot come sooner than
N / 30 seconds after the first /start.
"""

from __future__ import annotations

import asyncio
from typing import Any

from emulator import BotApiEmulator
from storage.db import create_engine
from storage.migrate import upgrade_to_head
from tests.test_launch_burst import run_burst

TELEGRAM_RATE = 30.0


async def measure(database_url: str, citizens: int) -> dict[str, Any]:
    await upgrade_to_head(database_url)  # a no-op when already there
    engine = create_engine(database_url)
    try:
        async with BotApiEmulator() as emulator:
            figures = await run_burst(engine, emulator, "/start", citizens)
    finally:
        await engine.dispose()
    return {
        "citizens": citizens,
        "p50": figures.quantile(0.5),
        "p99": figures.quantile(0.99),
        "share_429": figures.share_429,
        "sends": figures.sends,
        "messages": max(figures.per_citizen),
        "floor": citizens / TELEGRAM_RATE,
    }


def run(database_url: str, citizens: int) -> dict[str, Any]:
    return asyncio.run(measure(database_url, citizens))
