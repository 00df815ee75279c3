"""Memory: the bot process's RSS with many stored conversations and citizens.

Runs in a child process so that nothing else lives in the measured heap: the RSS after building
and initialising the bot on an empty database is the baseline, the RSS after initialising it on
a database with ``size`` citizens, their user data (a language and an unfinished draft) and
their conversation states is the figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.app import build_application
from bot.runtime import make_services
from storage.db import create_engine
from storage.migrate import upgrade_to_head
from storage.models import Citizen, PtbConversation, PtbUserData
from tests.harness import settings_for

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def fill(database_url: str, size: int) -> None:
    engine = create_engine(database_url)
    draft = {"state": 5, "first_name": "Aysel", "last_name": "Məmmədova", "phase": 1}
    try:
        async with engine.begin() as connection:
            for start in range(0, size, 5000):
                ids = range(start + 1, min(size, start + 5000) + 1)
                await connection.execute(
                    insert(Citizen),
                    [{"telegram_user_id": i, "telegram_chat_id": i, "locale": "az"} for i in ids],
                )
                await connection.execute(
                    insert(PtbUserData),
                    [{"user_id": i, "data": {"locale": "az", "connection_draft": draft}}
                     for i in ids],
                )  # fmt: skip
                await connection.execute(
                    insert(PtbConversation),
                    [{"name": "connection_request", "key": json.dumps([i, i]), "state": 5}
                     for i in ids],
                )  # fmt: skip
    finally:
        await engine.dispose()


async def initialised_rss(database_url: str) -> float:
    engine = create_engine(database_url)
    settings = settings_for(database_url)
    application = build_application(
        settings,
        make_services(settings, engine),
        token="1:bench",
        base_url="http://127.0.0.1:9/bot",
    )
    try:
        # what `initialize` loads from persistence (without a Bot API to ask get_me)
        persistence = application.persistence
        assert persistence is not None
        user_data = await persistence.get_user_data()
        conversations = {
            name: await persistence.get_conversations(name)
            for name in ("connection_request", "fee_calculator", "acts", "language")
        }
        measured = rss_mb()
        assert user_data is not None and conversations
        return measured
    finally:
        await engine.dispose()


async def child(database_url: str, size: int) -> dict[str, float]:
    await upgrade_to_head(database_url)
    empty = await initialised_rss(database_url)
    await fill(database_url, size)
    full = await initialised_rss(database_url)
    return {"empty_mb": empty, "full_mb": full}


def run(size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/memory.db"
        script = (
            "import asyncio, json, sys; from bench.memory import child; "
            f"print(json.dumps(asyncio.run(child({url!r}, {size}))))"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
        )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["size"] = size
    return figures
