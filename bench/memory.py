"""Memory and start-up: `serve` on a database of 1,000,000 citizens, 1 % of them mid-dialogue.

Each round starts ``azerishiq-bot serve`` as a child process, polling the Bot API emulator that
runs in this process, and measures from the process start to its first getUpdates (the bot
is then ready to receive): the elapsed time, and the child's RSS at that moment and one second
later (its peak, ``VmHWM``). The baseline is the same command on an empty, migrated database
of the same engine; full and empty start in turns, so the machine's noise hits both alike. The
median start-up and the highest RSS of the rounds are reported.

The database is filled in bulk, not through the ORM: SQLite by ``executemany`` on the standard
library driver, PostgreSQL by ``COPY``. The citizens mid-dialogue have what a connection
request leaves: a draft in ``ptb_user_data`` and the dialogue's state in ``ptb_conversations``;
the others only their ``citizens`` row (with a language). After the last round, one of the
citizens mid-dialogue answers and must get the next question: the loaded state is real.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conversations import connection_request as cr
from conversations.connection_draft import DRAFT_KEY, Draft
from emulator import BotApiEmulator
from i18n import translate
from storage.migrate import upgrade_to_head
from tests.harness import Citizen

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3
CHUNK = 50_000
LOCALES = ("az", "ru", "en")
#: What the issue asks of the bot at 1,000,000 citizens, 1 % mid-dialogue.
STARTUP_LIMIT_S = 10.0
RSS_LIMIT_MB = 200.0


@dataclass(frozen=True)
class Start:
    seconds: float  # process start → first getUpdates
    rss_mb: float  # RSS at the first getUpdates
    peak_mb: float  # VmHWM one second later


def live_draft(now: datetime) -> dict[str, Any]:
    """A connection request at the last-name question, as the bot stores it."""
    draft = Draft(state=cr.LAST_NAME, history=[cr.FIRST_NAME], first_name="Aysel")
    draft.touch(now)
    draft.locale = "az"
    return {DRAFT_KEY: draft.to_json()}


def is_live(user_id: int, every: int) -> bool:
    return user_id % every == 0


def citizen_rows(count: int) -> Iterator[tuple[int, int, str]]:
    for user_id in range(1, count + 1):
        yield user_id, user_id, LOCALES[user_id % 3]


def chunks(rows: Iterator[Any]) -> Iterator[list[Any]]:
    while batch := list(itertools.islice(rows, CHUNK)):
        yield batch


def seed_sqlite(path: str, count: int, every: int) -> None:
    now = datetime.now(UTC)
    data = json.dumps(live_draft(now), ensure_ascii=False)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    live = [user_id for user_id in range(every, count + 1, every)]
    connection = sqlite3.connect(path)
    try:
        with connection:
            for batch in chunks(citizen_rows(count)):
                connection.executemany(
                    "INSERT INTO citizens (telegram_user_id, telegram_chat_id, locale) "
                    "VALUES (?, ?, ?)",
                    batch,
                )
            connection.executemany(
                "INSERT INTO ptb_user_data (user_id, data, updated_at) VALUES (?, ?, ?)",
                [(user_id, data, stamp) for user_id in live],
            )
            connection.executemany(
                "INSERT INTO ptb_conversations (name, key, state, updated_at) VALUES (?, ?, ?, ?)",
                [
                    ("connection_request", f"[{user_id},{user_id}]", str(cr.LAST_NAME), stamp)
                    for user_id in live
                ],
            )
    finally:
        connection.close()


async def seed_postgres(url: str, count: int, every: int) -> None:
    import asyncpg  # the production driver; only needed here

    now = datetime.now(UTC)
    data = json.dumps(live_draft(now), ensure_ascii=False)
    live = [user_id for user_id in range(every, count + 1, every)]
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with connection.transaction():
            for batch in chunks(citizen_rows(count)):
                await connection.copy_records_to_table(
                    "citizens",
                    records=batch,
                    columns=["telegram_user_id", "telegram_chat_id", "locale"],
                )
            await connection.copy_records_to_table(
                "ptb_user_data",
                records=[(user_id, data, now) for user_id in live],
                columns=["user_id", "data", "updated_at"],
            )
            await connection.copy_records_to_table(
                "ptb_conversations",
                records=[
                    ("connection_request", f"[{user_id},{user_id}]", str(cr.LAST_NAME), now)
                    for user_id in live
                ],
                columns=["name", "key", "state", "updated_at"],
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serving(emulator: BotApiEmulator, database_url: str) -> AsyncIterator[Serve]:
    """`azerishiq-bot serve` on ``database_url``, polling ``emulator``; stopped on exit."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": emulator.token,
        "TELEGRAM_API_BASE_URL": emulator.base_url,
        "DATABASE_URL": database_url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("WEBHOOK_URL", None)
    polls = emulator.stats.calls["getUpdates"]
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,  # its own process group, stopped as a whole
        )
        try:
            async with asyncio.timeout(120):
                while emulator.stats.calls["getUpdates"] == polls:
                    if process.returncode is not None:
                        log.seek(0)
                        raise RuntimeError("serve exited:\n" + log.read().decode(errors="replace"))
                    await asyncio.sleep(0.002)
            yield Serve(process.pid, time.perf_counter() - started)
        finally:
            if process.returncode is None:
                os.killpg(process.pid, signal.SIGTERM)
            async with asyncio.timeout(30):
                await process.wait()


@dataclass(frozen=True)
class Serve:
    pid: int
    startup_seconds: float  # process start → first getUpdates


async def start_once(emulator: BotApiEmulator, database_url: str) -> Start:
    async with serving(emulator, database_url) as serve:
        rss = status_mb(serve.pid, "VmRSS")
        await asyncio.sleep(1.0)
        peak = status_mb(serve.pid, "VmHWM")
    return Start(serve.startup_seconds, rss, peak)


async def resumes(emulator: BotApiEmulator, database_url: str, user_id: int) -> bool:
    """A citizen mid-dialogue answers the question on screen and gets the next one."""
    async with serving(emulator, database_url):
        citizen = Citizen(emulator, user_id)
        await citizen.says("Məmmədova")
        # in the language saved in ``citizens`` for them (see citizen_rows)
        patronymic = translate(cr.TEXT_FIELDS[cr.PATRONYMIC].question, LOCALES[user_id % 3])
        try:
            await citizen.sees(patronymic, 30)
        except TimeoutError:
            return False
        return True


async def measure(urls: dict[str, str], count: int, every: int) -> dict[str, Any]:
    """Empty and full in turns, ROUNDS each, then the resume check on the full one."""
    starts: dict[str, list[Start]] = {name: [] for name in urls}
    async with BotApiEmulator() as emulator:
        for _ in range(ROUNDS):
            for name, url in urls.items():
                starts[name].append(await start_once(emulator, url))
        resumed = await resumes(emulator, urls["full"], every)
    return {
        "citizens": count,
        "live": count // every,
        "resumed": resumed,
        **{
            name: {
                "seconds": statistics.median(s.seconds for s in runs),
                "rss_mb": max(s.rss_mb for s in runs),
                "peak_mb": max(s.peak_mb for s in runs),
            }
            for name, runs in starts.items()
        },
    }


async def prepare(url: str, count: int, every: int) -> float:
    """Migrate, then fill ``url`` (nothing when ``count`` is 0); returns the seconds spent."""
    await upgrade_to_head(url)
    started = time.perf_counter()
    if count:
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[1]
            await asyncio.to_thread(seed_sqlite, path, count, every)
        else:
            await seed_postgres(url, count, every)
    return time.perf_counter() - started


def run(urls: dict[str, str], count: int, live_percent: float) -> dict[str, Any]:
    """``urls``: an ``empty`` and a ``full`` database of one engine, both new."""
    every = max(1, round(100 / live_percent))
    asyncio.run(prepare(urls["empty"], 0, every))
    seeded = asyncio.run(prepare(urls["full"], count, every))
    figures = asyncio.run(measure(urls, count, every))
    figures["seed_seconds"] = seeded
    return figures
