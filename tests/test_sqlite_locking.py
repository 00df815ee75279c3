"""Fault drill: another process writes to the bot's SQLite file while citizens talk to the bot.

SQLite has one writer. A second process on the same file (a ``worker``, a staff script) holds
the write lock half of the time; the bot must wait for it (``BEGIN IMMEDIATE`` and the busy
timeout, see :mod:`storage.db`) and never show a citizen "database is locked". Checked to fail
with the busy timeout at 0: the citizen gets the apology.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from chat.context import BotApplication
from emulator import BotApiEmulator
from i18n import translate
from tests.harness import Citizen
from tests.test_connection_request import choose_language, walk_to_review

CITIZENS = 4
APOLOGY = translate("Sorry, something went wrong on our side. Please try again in a moment.", "az")


class OtherWriter:
    """A second connection, in its own thread, that takes the write lock again and again."""

    def __init__(self, path: str, hold_seconds: float, pause_seconds: float) -> None:
        self._path = path
        self._hold = hold_seconds
        self._pause = pause_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.commits = 0

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, timeout=30)
        try:
            while not self._stop.is_set():
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("UPDATE citizens SET updated_at = updated_at")
                time.sleep(self._hold)
                connection.execute("COMMIT")
                self.commits += 1
                time.sleep(self._pause)
        finally:
            connection.close()

    def __enter__(self) -> OtherWriter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.mark.timeout(120)
async def test_a_second_writer_on_the_file_is_waited_for_never_shown(
    dialect_name: str, engine: AsyncEngine, emulator: BotApiEmulator, bot: BotApplication
) -> None:
    if dialect_name != "sqlite":
        pytest.skip("SQLite's single writer")
    path = engine.url.database
    assert path

    async def talk(person: Citizen) -> None:
        await choose_language(person, "az")
        await walk_to_review(person, "az", district="Sumqayıt", phone_by_code=False, engine=engine)
        await person.presses("cr:submit")
        await person.sees("QM-", timeout=30)

    people = [Citizen(emulator, 7300 + n) for n in range(CITIZENS)]
    with OtherWriter(path, hold_seconds=0.15, pause_seconds=0.15) as other:
        await asyncio.wait_for(asyncio.gather(*(talk(p) for p in people)), timeout=100)
    assert other.commits >= 5, "the other writer hardly wrote: the drill tested nothing"
    for person in people:
        texts = [m.text or "" for m in emulator.messages(person.user_id)]
        assert not any(APOLOGY in text for text in texts), texts
