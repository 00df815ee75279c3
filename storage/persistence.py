"""python-telegram-bot persistence on our SQL database (SQLite or PostgreSQL), write-through.

:class:`SqlPersistence` stores ``user_data``, ``chat_data``, ``bot_data``, the callback-data
cache and ConversationHandler states in the ``ptb_*`` tables (see :mod:`storage.models`).

Contract and choices
--------------------
* **Write-through, group-committed.** Every ``update_*`` / ``drop_*`` call returns once its
  write is committed, so nothing is buffered and :meth:`SqlPersistence.flush` has nothing left
  to do. Writes that arrive while a commit is running are committed together in the next
  transaction (one ``INSERT ... ON CONFLICT DO UPDATE`` or ``DELETE`` each): the state and user
  data of one update, and of every chat handled meanwhile, cost one commit instead of one each.
  A single writer task commits the batches in order, so the last write of a key always wins;
  a batch cut off by a lost database connection is run once more (it only upserts the latest
  values, so running it twice is harmless).
  python-telegram-bot itself only calls ``update_*`` from ``Application.update_persistence()``,
  every ``update_interval`` seconds and at shutdown; our update processor calls it after each
  update to bound what a crash can lose.
* **Skip identical writes.** The process remembers a digest of the JSON it last wrote (or queued)
  or read for each key and skips a write whose JSON is unchanged (``bot_data`` and the callback
  cache are handed over on every run, changed or not). Likewise a delete of a key it neither
  read nor wrote is skipped: the process read every row at start. This assumes one bot process
  per token, which python-telegram-bot requires anyway (a standby builds its persistence when it
  takes over, not before).
* **JSON, not pickle.** Data must be JSON-serialisable: dict keys become strings, tuples become
  lists, and ``Decimal``/``datetime``/Telegram objects are rejected with :class:`TypeError`.
  Keep drafts as plain dicts of strings and numbers.
* **Only live state is stored.** An empty ``user_data``/``chat_data`` (what python-telegram-bot
  hands over after every update of a citizen who is in no dialogue) has no row: writing it
  deletes the row, or does nothing when there is none. So start-up loads the citizens who are
  mid-dialogue, not everyone who ever wrote; the language lives in ``citizens``.
* Conversation keys (tuples of ints/strings) are stored as their JSON list, e.g. ``"[123,456]"``;
  conversation states must be JSON values (ints or strings in practice). A state of ``None``
  (conversation ended) deletes the row.
* ``get_*`` return fresh objects built from the database on every call; ``refresh_*`` do
  nothing (the in-memory data is authoritative in the single bot process).
* The engine/session factory belongs to the caller: this class never disposes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from collections.abc import AsyncIterator, Hashable, MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeAlias

from sqlalchemy import delete, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import BasePersistence, PersistenceInput

from storage.db import dialect_insert, make_session_factory, utcnow
from storage.models import (
    Base,
    PtbBotData,
    PtbCallbackData,
    PtbChatData,
    PtbConversation,
    PtbUserData,
)
from storage.retry import retry_on_disconnect

__all__ = ["SqlPersistence", "decode_conversation_key", "encode_conversation_key"]

JSONDict: TypeAlias = dict[Any, Any]
# The same shapes as telegram.ext._utils.types (private there).
ConversationKey: TypeAlias = tuple[int | str, ...]
ConversationDict: TypeAlias = MutableMapping[ConversationKey, object]
CDCData: TypeAlias = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]
_CacheKey: TypeAlias = tuple[str, Hashable]
_SINGLE_ROW_ID = 1
#: Rows read at a time at start-up: the JSON of one chunk is freed before the next is read.
_LOAD_CHUNK = 500
#: In ``_last``: a row whose content is unknown (a write to it failed); never a real digest.
_UNKNOWN = b""


def encode_conversation_key(key: ConversationKey) -> str:
    """``(123, 456)`` → ``"[123,456]"`` (the ``ptb_conversations.key`` column)."""
    return json.dumps(list(key), separators=(",", ":"), ensure_ascii=False)


def decode_conversation_key(text: str) -> ConversationKey:
    """Inverse of :func:`encode_conversation_key`."""
    return tuple(json.loads(text))


def _serialise(value: object, what: str) -> str:
    """Canonical JSON of ``value`` (sorted keys when possible); explains failures."""
    try:
        try:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        except TypeError:
            # Mixed key types (e.g. int and str) cannot be sorted; insertion order will do.
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"SqlPersistence stores JSON only; {what} is not JSON-serialisable: {exc}"
        ) from exc


def _interned(value: Any) -> Any:
    """``value`` with its dict keys interned: the drafts loaded at start share their keys
    (their field names) instead of holding a copy each, a third of their memory."""
    if isinstance(value, dict):
        return {
            (sys.intern(key) if isinstance(key, str) else key): _interned(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_interned(item) for item in value]
    return value


def _digest(serialised: str) -> bytes:
    return hashlib.blake2b(serialised.encode(), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class _Upsert:
    model: type[Base]
    key_values: dict[str, Any]
    column: str
    value: object


@dataclass(frozen=True, slots=True)
class _Delete:
    model: type[Base]
    where: Any


_Write: TypeAlias = _Upsert | _Delete


def _fail(done: asyncio.Future[None], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc)
        done.exception()  # retrieved: a batch nobody awaits any more is not an error


class SqlPersistence(BasePersistence[JSONDict, JSONDict, JSONDict]):
    """Write-through :class:`~telegram.ext.BasePersistence` on SQLAlchemy async (see module)."""

    __slots__ = (
        "_batch_done",
        "_carriers",
        "_dialect",
        "_last",
        "_pending",
        "_sessions",
        "_upserts",
        "_writer",
    )

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | AsyncEngine,
        store_data: PersistenceInput | None = None,
        update_interval: float = 60,
    ) -> None:
        super().__init__(store_data=store_data, update_interval=update_interval)
        if isinstance(sessions, AsyncEngine):
            sessions = make_session_factory(sessions)
        self._sessions: async_sessionmaker[AsyncSession] = sessions
        self._dialect: str | None = None
        self._upserts: dict[tuple[type[Base], str], Any] = {}
        # digest of the JSON this process last wrote, queued or read, per (kind, key)
        self._last: dict[_CacheKey, bytes] = {}
        # writes waiting for the next commit (the latest per key), and that commit's outcome
        self._pending: dict[_CacheKey, _Write] = {}
        self._batch_done: asyncio.Future[None] | None = None
        # the commit that carries the latest write of a key, until it is done
        self._carriers: dict[_CacheKey, asyncio.Future[None]] = {}
        self._writer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ plumbing

    def _remember(self, cache_key: _CacheKey, value: object) -> None:
        try:
            self._last[cache_key] = _digest(_serialise(value, "stored data"))
        except TypeError:  # cannot happen for data read from JSON; be safe anyway
            self._last[cache_key] = _UNKNOWN

    async def _upsert(
        self,
        model: type[Base],
        key_values: dict[str, Any],
        column: str,
        value: object,
        cache_key: _CacheKey,
        what: str,
    ) -> None:
        """Insert or update one row unless ``value`` equals what we last wrote/read."""
        digest = _digest(_serialise(value, what))
        if self._last.get(cache_key) == digest:
            carrier = self._carriers.get(cache_key)
            if carrier is not None:  # the same value is on its way: return once it is stored
                await asyncio.shield(carrier)
            return
        self._last[cache_key] = digest
        await self._commit(cache_key, _Upsert(model, key_values, column, value))

    async def _delete(self, model: type[Base], where: Any, cache_key: _CacheKey) -> None:
        """Delete a row, unless this process knows there is none (it never read or wrote it)."""
        if cache_key not in self._last:
            carrier = self._carriers.get(cache_key)
            if carrier is not None:  # a delete of it is on its way: return once it is done
                await asyncio.shield(carrier)
            return
        del self._last[cache_key]
        await self._commit(cache_key, _Delete(model, where))

    async def _commit(self, cache_key: _CacheKey, write: _Write) -> None:
        """Queue ``write`` for the next batch and wait until that batch is committed."""
        self._pending[cache_key] = write
        if self._batch_done is None:
            self._batch_done = asyncio.get_running_loop().create_future()
        done = self._carriers[cache_key] = self._batch_done
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches(), name="persistence-writer")
        # the batch is committed even if this caller is cancelled meanwhile
        await asyncio.shield(done)

    async def _write_batches(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            done, self._batch_done = self._batch_done, None
            assert done is not None
            try:
                await retry_on_disconnect(partial(self._write_in_transaction, batch))
            except BaseException as exc:
                for cache_key in batch:
                    if cache_key not in self._pending:
                        self._last[cache_key] = _UNKNOWN  # the row may or may not be there
                _fail(done, exc)
                if not isinstance(exc, Exception):  # cancelled: fail the waiting writes too
                    if self._batch_done is not None:
                        _fail(self._batch_done, exc)
                        self._batch_done = None
                    raise
            else:
                if not done.done():
                    done.set_result(None)
            finally:
                for cache_key in batch:
                    if self._carriers.get(cache_key) is done:
                        del self._carriers[cache_key]

    async def _write_in_transaction(self, batch: dict[_CacheKey, _Write]) -> None:
        """One transaction; safe to run again (the latest value of each key, upserted)."""
        async with self._sessions.begin() as session:
            await self._write(session, list(batch.values()))

    async def _write(self, session: AsyncSession, writes: list[_Write]) -> None:
        """Deletes one by one (rare), upserts as one executemany per table."""
        rows: dict[tuple[type[Base], str], list[dict[str, Any]]] = {}
        now = utcnow()
        for write in writes:
            if isinstance(write, _Delete):
                await session.execute(delete(write.model).where(write.where))
            else:
                row = {**write.key_values, write.column: write.value, "updated_at": now}
                rows.setdefault((write.model, write.column), []).append(row)
        for (model, column), values in rows.items():
            await session.execute(self._upsert_statement(session, model, column), values)

    def _upsert_statement(self, session: AsyncSession, model: type[Base], column: str) -> Any:
        """``INSERT ... ON CONFLICT DO UPDATE`` of a ``ptb_*`` table, built once per table:
        building it (and its ``excluded`` alias) cost more than running it."""
        statement = self._upserts.get((model, column))
        if statement is None:
            table = model.__table__
            insert = dialect_insert(self._dialect_name(session))(table)
            statement = insert.on_conflict_do_update(
                index_elements=[key.name for key in inspect(model).primary_key],
                set_={
                    column: insert.excluded[column],
                    "updated_at": insert.excluded.updated_at,
                },
            )
            self._upserts[model, column] = statement
        return statement

    def _dialect_name(self, session: AsyncSession) -> str:
        if self._dialect is None:
            self._dialect = session.get_bind().dialect.name
        return self._dialect

    # ------------------------------------------------------------------ user_data

    async def _load(self, statement: Any) -> AsyncIterator[Any]:
        """The rows of ``statement``, read a chunk at a time (start-up memory stays flat)."""
        async with self._sessions() as session:
            rows = await session.stream(statement)
            async for partition in rows.partitions(_LOAD_CHUNK):
                for row in partition:
                    yield row

    async def get_user_data(self) -> dict[int, JSONDict]:
        result: dict[int, JSONDict] = {}
        async for user_id, data in self._load(select(PtbUserData.user_id, PtbUserData.data)):
            self._remember(("user", user_id), data)
            if data:  # an empty row (from older versions) is deleted by the next write
                result[user_id] = _interned(data)
        return result

    async def update_user_data(self, user_id: int, data: JSONDict) -> None:
        if not data:
            await self.drop_user_data(user_id)
            return
        await self._upsert(
            PtbUserData, {"user_id": user_id}, "data", data, ("user", user_id), "user_data"
        )

    async def drop_user_data(self, user_id: int) -> None:
        await self._delete(PtbUserData, PtbUserData.user_id == user_id, ("user", user_id))

    async def refresh_user_data(self, user_id: int, user_data: JSONDict) -> None:
        """No-op: the bot process holds the authoritative copy."""

    # ------------------------------------------------------------------ chat_data

    async def get_chat_data(self) -> dict[int, JSONDict]:
        result: dict[int, JSONDict] = {}
        async for chat_id, data in self._load(select(PtbChatData.chat_id, PtbChatData.data)):
            self._remember(("chat", chat_id), data)
            if data:
                result[chat_id] = _interned(data)
        return result

    async def update_chat_data(self, chat_id: int, data: JSONDict) -> None:
        if not data:
            await self.drop_chat_data(chat_id)
            return
        await self._upsert(
            PtbChatData, {"chat_id": chat_id}, "data", data, ("chat", chat_id), "chat_data"
        )

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._delete(PtbChatData, PtbChatData.chat_id == chat_id, ("chat", chat_id))

    async def refresh_chat_data(self, chat_id: int, chat_data: JSONDict) -> None:
        """No-op: the bot process holds the authoritative copy."""

    # ------------------------------------------------------------------ bot_data

    async def get_bot_data(self) -> JSONDict:
        async with self._sessions() as session:
            data = await session.scalar(
                select(PtbBotData.data).where(PtbBotData.id == _SINGLE_ROW_ID)
            )
        if data is None:
            return {}
        self._remember(("bot", None), data)
        result: JSONDict = data
        return result

    async def update_bot_data(self, data: JSONDict) -> None:
        await self._upsert(
            PtbBotData, {"id": _SINGLE_ROW_ID}, "data", data, ("bot", None), "bot_data"
        )

    async def refresh_bot_data(self, bot_data: JSONDict) -> None:
        """No-op: the bot process holds the authoritative copy."""

    # ------------------------------------------------------------------ callback_data

    async def get_callback_data(self) -> CDCData | None:
        async with self._sessions() as session:
            data = await session.scalar(
                select(PtbCallbackData.data).where(PtbCallbackData.id == _SINGLE_ROW_ID)
            )
        if data is None:
            return None
        self._remember(("callback", None), data)
        keyboards, queries = data
        return (
            [
                (str(uuid), float(access_time), dict(buttons))
                for uuid, access_time, buttons in keyboards
            ],
            dict(queries),
        )

    async def update_callback_data(self, data: CDCData) -> None:
        keyboards, queries = data
        value = [[list(keyboard) for keyboard in keyboards], dict(queries)]
        await self._upsert(
            PtbCallbackData,
            {"id": _SINGLE_ROW_ID},
            "data",
            value,
            ("callback", None),
            "callback_data",
        )

    # ------------------------------------------------------------------ conversations

    async def get_conversations(self, name: str) -> ConversationDict:
        result: ConversationDict = {}
        statement = select(PtbConversation.key, PtbConversation.state).where(
            PtbConversation.name == name
        )
        async for key_text, state in self._load(statement):
            self._remember(("conversation", (name, key_text)), state)
            result[decode_conversation_key(key_text)] = state
        return result

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        key_text = encode_conversation_key(key)
        cache_key: _CacheKey = ("conversation", (name, key_text))
        if new_state is None:
            await self._delete(
                PtbConversation,
                (PtbConversation.name == name) & (PtbConversation.key == key_text),
                cache_key,
            )
            return
        await self._upsert(
            PtbConversation,
            {"name": name, "key": key_text},
            "state",
            new_state,
            cache_key,
            f"the state of conversation {name!r}",
        )

    # ------------------------------------------------------------------ lifecycle

    async def flush(self) -> None:
        """Wait for the commit in progress, if any: every write returned only once stored."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
