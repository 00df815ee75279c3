"""The language each citizen chose, read from ``citizens`` and kept in a small cache.

The language is not kept in python-telegram-bot's ``user_data``: that is loaded whole at
start-up and held in memory for everyone who ever wrote, while the bot needs it only for the
citizen writing now. Each update looks it up once (:mod:`handlers.locale`); a bounded LRU cache
spares the database for the citizens writing at the moment.

Why the cache stays true: a saved language changes only by the citizen's choice, handled by
the one process that receives updates, which updates the cache as it saves
(:meth:`SavedLocales.remember`). Nothing else writes it: other registrations keep the saved
language (:func:`storage.citizens.register_telegram_user`); staff and SMS, which may run in
other processes, never touch a Telegram citizen's language. Citizens with no record are not
cached (their first record may be written by any handler), and entries expire after
:data:`TTL_SECONDS` anyway, so a process that lost and regained the receiving role, or an
operator's manual fix, is picked up; call :meth:`SavedLocales.clear` when the role is regained.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from contextvars import ContextVar
from functools import partial
from typing import Final

from i18n import normalize_locale
from storage import citizens
from storage.retry import retry_on_disconnect
from storage.types import AsyncSession, async_sessionmaker

#: Citizens held in the cache: the ones writing within minutes of each other, a few MB at most.
CACHE_SIZE: Final = 20_000
TTL_SECONDS: Final = 600.0

#: The saved language of the citizen whose update is being handled (set once per update).
_update_saved_locale: ContextVar[str | None] = ContextVar("saved_locale", default=None)


class SavedLocales:
    """Telegram user id → saved language, from ``citizens``, with a bounded LRU cache."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        size: int = CACHE_SIZE,
        ttl: float = TTL_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._size = size
        self._ttl = ttl
        self._cache: OrderedDict[int, tuple[str, float]] = OrderedDict()

    async def lookup(self, user_id: int) -> str | None:
        """The saved language, or None for a citizen we have no record of."""
        found = self._cache.get(user_id)
        if found is not None and time.monotonic() - found[1] < self._ttl:
            self._cache.move_to_end(user_id)
            return found[0]
        locale = normalize_locale(await retry_on_disconnect(partial(self._read, user_id)))
        if locale is None:
            self._cache.pop(user_id, None)
        else:
            self.remember(user_id, locale)
        return locale

    async def _read(self, user_id: int) -> str | None:
        async with self._sessions() as session:
            return await citizens.locale_of(session, user_id)

    def remember(self, user_id: int, locale: str) -> None:
        """The citizen's language as just committed to ``citizens``."""
        self._cache[user_id] = (locale, time.monotonic())
        self._cache.move_to_end(user_id)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)

    def clear(self) -> None:
        self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)


def set_update_saved_locale(locale: str | None) -> None:
    """Note the saved language for the rest of the current update."""
    _update_saved_locale.set(locale)


def update_saved_locale() -> str | None:
    return _update_saved_locale.get()
