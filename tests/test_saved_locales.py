"""The saved language: read from citizens, cached (bounded, expiring), changed only by a choice."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chat.locales import SavedLocales
from storage import citizens
from storage.models import Citizen


class Reads:
    """Counts the SELECTs of citizens.locale sent to the database."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "citizens.locale" in statement:
            self.count += 1


@pytest.fixture
def reads(engine: AsyncEngine) -> Reads:
    counter = Reads()
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    return counter


async def choose(sessions: async_sessionmaker[AsyncSession], user: int, locale: str) -> None:
    async with sessions.begin() as session:
        await citizens.choose_locale(session, telegram_user_id=user, chat_id=user, locale=locale)


async def test_read_once_then_from_the_cache(
    session_factory: async_sessionmaker[AsyncSession], reads: Reads
) -> None:
    await choose(session_factory, 1, "ru")
    reads.count = 0
    locales = SavedLocales(session_factory)
    assert await locales.lookup(1) == "ru"
    assert await locales.lookup(1) == "ru"
    assert reads.count == 1


async def test_someone_unknown_is_asked_again_next_time(
    session_factory: async_sessionmaker[AsyncSession], reads: Reads
) -> None:
    """Not cached: their first record may be written by any handler."""
    locales = SavedLocales(session_factory)
    assert await locales.lookup(2) is None
    async with session_factory.begin() as session:
        await citizens.register_telegram_user(session, telegram_user_id=2, chat_id=2, locale="en")
    reads.count = 0
    assert await locales.lookup(2) == "en"
    assert reads.count == 1


async def test_a_choice_is_remembered_and_the_cache_is_bounded(
    session_factory: async_sessionmaker[AsyncSession], reads: Reads
) -> None:
    locales = SavedLocales(session_factory, size=2)
    for user in (1, 2, 3):
        await choose(session_factory, user, "az")
        locales.remember(user, "az")
    reads.count = 0
    assert len(locales) == 2
    locales.remember(2, "en")  # as the language dialogue does after saving
    assert await locales.lookup(2) == "en"
    assert reads.count == 0
    assert await locales.lookup(1) == "az"  # the oldest went first: read again
    assert reads.count == 1


async def test_entries_expire_and_clear_empties(
    session_factory: async_sessionmaker[AsyncSession], reads: Reads
) -> None:
    await choose(session_factory, 1, "ru")
    locales = SavedLocales(session_factory, ttl=0.0)
    assert await locales.lookup(1) == "ru"
    async with session_factory.begin() as session:  # e.g. an operator's fix by hand
        await session.execute(update(Citizen).values(locale="en"))
    assert await locales.lookup(1) == "en"
    locales.clear()
    assert len(locales) == 0


async def test_other_registrations_keep_the_saved_language(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """What keeps the cache true: only a choice changes a saved language."""
    await choose(session_factory, 1, "ru")
    async with session_factory.begin() as session:
        citizen = await citizens.register_telegram_user(
            session, telegram_user_id=1, chat_id=1, locale="az"
        )
        assert citizen.locale == "ru"
    async with session_factory() as session:
        assert await citizens.locale_of(session, 1) == "ru"
