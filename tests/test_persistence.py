"""SqlPersistence: every method, write-through, the skip-identical-write cache, PTB wiring."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Update
from telegram.ext import (
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PersistenceInput,
    filters,
)
from telegram.request import BaseRequest, RequestData

from storage.models import PtbChatData, PtbConversation, PtbUserData
from storage.persistence import (
    SqlPersistence,
    decode_conversation_key,
    encode_conversation_key,
)


@pytest.fixture
def persistence(session_factory: async_sessionmaker[AsyncSession]) -> SqlPersistence:
    return SqlPersistence(session_factory)


@pytest.fixture
def other_process(engine: AsyncEngine) -> SqlPersistence:
    """A second persistence on the same database, as a restarted bot would have."""
    return SqlPersistence(engine)


class WriteCounter:
    """Counts INSERT/UPDATE/DELETE statements sent to the database."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            self.count += 1


@pytest.fixture
def writes(engine: AsyncEngine) -> Iterator[WriteCounter]:
    counter = WriteCounter()
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine.sync_engine, "before_cursor_execute", counter)


# --------------------------------------------------------------------------- basics


def test_constructor_and_store_data(session_factory: async_sessionmaker[AsyncSession]) -> None:
    default = SqlPersistence(session_factory)
    assert default.store_data == PersistenceInput()
    assert default.update_interval == 60
    custom = SqlPersistence(
        session_factory, store_data=PersistenceInput(callback_data=False), update_interval=1.5
    )
    assert custom.store_data.callback_data is False
    assert custom.update_interval == 1.5


def test_conversation_key_encoding() -> None:
    assert encode_conversation_key((123, -100456)) == "[123,-100456]"
    assert encode_conversation_key((1, "inline:ə")) == '[1,"inline:ə"]'
    for key in [(1,), (123, 456), (-1001234567890, 42, "abc"), ()]:
        assert decode_conversation_key(encode_conversation_key(key)) == key


async def test_empty_database(persistence: SqlPersistence) -> None:
    assert await persistence.get_user_data() == {}
    assert await persistence.get_chat_data() == {}
    assert await persistence.get_bot_data() == {}
    assert await persistence.get_callback_data() is None
    assert await persistence.get_conversations("anything") == {}


# --------------------------------------------------------------------------- user/chat/bot data


async def test_user_data_round_trip_and_drop(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    await persistence.update_user_data(1, {"draft": {"step": "fin", "name": "Əli"}, "n": 1})
    await persistence.update_user_data(7_000_000_001, {"locale": "ru"})
    assert await other_process.get_user_data() == {
        1: {"draft": {"step": "fin", "name": "Əli"}, "n": 1},
        7_000_000_001: {"locale": "ru"},
    }
    await persistence.update_user_data(1, {"n": 2})
    assert (await other_process.get_user_data())[1] == {"n": 2}

    await persistence.drop_user_data(1)
    assert await other_process.get_user_data() == {7_000_000_001: {"locale": "ru"}}
    await persistence.drop_user_data(12345)  # unknown: no error


async def test_chat_data_round_trip_and_drop(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    await persistence.update_chat_data(-1001234567890, {"pinned": [1, 2]})
    await persistence.update_chat_data(5, {"n": 5})
    assert await other_process.get_chat_data() == {
        -1001234567890: {"pinned": [1, 2]},
        5: {"n": 5},
    }
    await persistence.drop_chat_data(5)
    assert await other_process.get_chat_data() == {-1001234567890: {"pinned": [1, 2]}}


async def test_bot_data_round_trip(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    await persistence.update_bot_data({"maintenance": False, "texts": {"az": "Salam"}})
    assert await other_process.get_bot_data() == {"maintenance": False, "texts": {"az": "Salam"}}
    await persistence.update_bot_data({})
    assert await other_process.get_bot_data() == {}


async def test_get_returns_fresh_objects(persistence: SqlPersistence) -> None:
    await persistence.update_user_data(1, {"list": [1]})
    await persistence.update_bot_data({"list": [1]})
    first = await persistence.get_user_data()
    first[1]["list"].append(2)
    bot_first = await persistence.get_bot_data()
    bot_first["list"].append(2)
    assert await persistence.get_user_data() == {1: {"list": [1]}}
    assert await persistence.get_bot_data() == {"list": [1]}


async def test_refresh_methods_are_no_ops(persistence: SqlPersistence) -> None:
    data = {"a": 1}
    await persistence.refresh_user_data(1, data)
    await persistence.refresh_chat_data(1, data)
    await persistence.refresh_bot_data(data)
    assert data == {"a": 1}
    await persistence.flush()


# --------------------------------------------------------------------------- callback data


async def test_callback_data_round_trip(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    data = (
        [("4f1c", 1700000000.5, {"b1": "act:42", "b2": "lang:ru"}), ("9a0e", 1700000001.0, {})],
        {"query-1": "4f1c"},
    )
    await persistence.update_callback_data(data)
    restored = await other_process.get_callback_data()
    assert restored == data
    assert restored is not None
    keyboards, _queries = restored
    assert all(isinstance(keyboard, tuple) for keyboard in keyboards)
    assert isinstance(keyboards[0][1], float)

    await persistence.update_callback_data(([], {}))
    assert await other_process.get_callback_data() == ([], {})


# --------------------------------------------------------------------------- conversations


async def test_conversation_is_written_through_without_flush(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    await persistence.update_conversation("connection_request", (100, 100), 3)
    # no flush(): a process that starts now already sees the state
    assert await other_process.get_conversations("connection_request") == {(100, 100): 3}


async def test_conversation_updates_deletes_and_names(
    persistence: SqlPersistence, other_process: SqlPersistence, engine: AsyncEngine
) -> None:
    await persistence.update_conversation("a", (1, 2), "ASK_FIN")
    await persistence.update_conversation("a", (1, 3), 0)
    await persistence.update_conversation("b", (1, 2), 5)
    await persistence.update_conversation("a", (1, 2), "ASK_PHONE")
    assert await other_process.get_conversations("a") == {(1, 2): "ASK_PHONE", (1, 3): 0}
    assert await other_process.get_conversations("b") == {(1, 2): 5}

    await persistence.update_conversation("a", (1, 2), None)
    assert await other_process.get_conversations("a") == {(1, 3): 0}
    await persistence.update_conversation("a", (9, 9), None)  # unknown key: no error

    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(PtbConversation.name, PtbConversation.key).order_by(
                    PtbConversation.name, PtbConversation.key
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [("a", "[1,3]"), ("b", "[1,2]")]


async def test_conversation_tuple_keys_with_mixed_parts(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    keys = [(-1001234567890, 7_000_000_001), (5, 6, 77), (5, "AgAAAInlineMessageId")]
    for number, key in enumerate(keys):
        await persistence.update_conversation("per_message", key, number)
    restored = await other_process.get_conversations("per_message")
    assert restored == {key: number for number, key in enumerate(keys)}
    assert all(isinstance(key, tuple) for key in restored)


async def test_ended_conversation_stays_deleted_after_re_adding(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    await persistence.update_conversation("c", (1,), 1)
    await persistence.update_conversation("c", (1,), None)
    await persistence.update_conversation("c", (1,), 1)  # same state as before the delete
    assert await other_process.get_conversations("c") == {(1,): 1}


# --------------------------------------------------------------------------- the write cache


async def test_identical_writes_are_skipped(
    persistence: SqlPersistence, writes: WriteCounter
) -> None:
    await persistence.update_user_data(1, {"a": 1, "b": [1, 2]})
    assert writes.count == 1
    await persistence.update_user_data(1, {"b": [1, 2], "a": 1})  # same JSON, other key order
    await persistence.update_bot_data({"x": 1})
    await persistence.update_bot_data({"x": 1})
    await persistence.update_conversation("c", (1, 1), 2)
    await persistence.update_conversation("c", (1, 1), 2)
    await persistence.update_callback_data(([("u", 1.0, {"k": "v"})], {}))
    await persistence.update_callback_data(([("u", 1.0, {"k": "v"})], {}))
    assert writes.count == 4
    await persistence.update_user_data(1, {"a": 2, "b": [1, 2]})
    await persistence.update_conversation("c", (1, 1), 3)
    assert writes.count == 6
    # per key: another user with the same data is still written
    await persistence.update_user_data(2, {"a": 2, "b": [1, 2]})
    assert writes.count == 7


async def test_data_read_at_start_is_not_written_back(
    persistence: SqlPersistence, other_process: SqlPersistence, writes: WriteCounter
) -> None:
    await persistence.update_user_data(1, {"a": 1})
    await persistence.update_chat_data(2, {"b": 2})
    await persistence.update_bot_data({"c": 3})
    await persistence.update_callback_data(([("u", 1.0, {"k": "v"})], {"q": "u"}))
    await persistence.update_conversation("c", (1, 1), 2)
    before = writes.count

    users = await other_process.get_user_data()
    chats = await other_process.get_chat_data()
    bot = await other_process.get_bot_data()
    callback = await other_process.get_callback_data()
    conversations = await other_process.get_conversations("c")
    assert callback is not None
    await other_process.update_user_data(1, users[1])
    await other_process.update_chat_data(2, chats[2])
    await other_process.update_bot_data(bot)
    await other_process.update_callback_data(callback)
    await other_process.update_conversation("c", (1, 1), conversations[(1, 1)])
    assert writes.count == before


async def test_drop_forgets_the_cached_value(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    await persistence.update_user_data(1, {"a": 1})
    await persistence.drop_user_data(1)
    await persistence.update_user_data(1, {"a": 1})  # must be written again
    assert await other_process.get_user_data() == {1: {"a": 1}}
    await persistence.update_chat_data(1, {"a": 1})
    await persistence.drop_chat_data(1)
    await persistence.update_chat_data(1, {"a": 1})
    assert await other_process.get_chat_data() == {1: {"a": 1}}


async def test_a_row_deleted_elsewhere_is_not_recreated_by_a_skipped_write(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    """Documented limit: one process per token. The cache trusts this process's own view."""
    await persistence.update_user_data(1, {"a": 1})
    await other_process.get_user_data()  # it deletes only rows it knows of (read at start)
    await other_process.drop_user_data(1)
    await persistence.update_user_data(1, {"a": 1})
    assert await other_process.get_user_data() == {}


# --------------------------------------------------------------------------- live state only


async def test_empty_data_has_no_row(
    persistence: SqlPersistence, other_process: SqlPersistence, writes: WriteCounter
) -> None:
    await persistence.update_user_data(1, {"draft": {"state": 5}})
    await persistence.update_chat_data(1, {"n": 1})
    await persistence.update_user_data(1, {})  # the dialogue is over: the row goes
    await persistence.update_chat_data(1, {})
    assert await other_process.get_user_data() == {}
    assert await other_process.get_chat_data() == {}
    before = writes.count
    # what python-telegram-bot hands over after each update of someone in no dialogue
    for user in range(2, 12):
        await persistence.update_user_data(user, {})
        await persistence.update_chat_data(user, {})
        await persistence.drop_user_data(user)
    await persistence.update_user_data(1, {})
    assert writes.count == before  # nothing to write: there is no row
    async with other_process._sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PtbUserData)) == 0


async def test_an_empty_row_from_before_is_not_loaded_and_goes_at_the_next_write(
    persistence: SqlPersistence, other_process: SqlPersistence, engine: AsyncEngine
) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(PtbUserData), [{"user_id": 3, "data": {}}])
    assert await persistence.get_user_data() == {}
    await persistence.update_user_data(3, {})
    async with engine.connect() as connection:
        assert (await connection.execute(select(PtbUserData.user_id))).all() == []


async def test_after_a_failed_write_an_empty_write_still_deletes(
    persistence: SqlPersistence, other_process: SqlPersistence, monkeypatch: pytest.MonkeyPatch
) -> None:
    await persistence.update_user_data(4, {"draft": 1})
    real = SqlPersistence._write_in_transaction

    async def fails_after_commit(self: SqlPersistence, batch: Any) -> None:
        await real(self, batch)
        raise OSError("connection lost after the commit")

    monkeypatch.setattr(SqlPersistence, "_write_in_transaction", fails_after_commit)
    with pytest.raises(OSError):
        await persistence.update_user_data(4, {"draft": 2})
    monkeypatch.undo()
    await persistence.update_user_data(4, {})  # the row may be there: it is deleted
    assert await other_process.get_user_data() == {}


async def test_start_up_loads_only_the_citizens_mid_dialogue(
    persistence: SqlPersistence,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """1,000 citizens who chose a language, 10 of them mid-dialogue: 10 rows are loaded."""
    from storage import citizens

    async with session_factory.begin() as session:
        for user in range(1, 1001):
            await citizens.choose_locale(
                session, telegram_user_id=user, chat_id=user, locale=("az", "ru", "en")[user % 3]
            )
    draft = {"connection_draft": {"state": 5, "first_name": "Aysel"}}
    # Everyone wrote: python-telegram-bot hands over their (empty) user and chat data.
    await asyncio.gather(
        *(persistence.update_user_data(user, {}) for user in range(1, 1001)),
        *(persistence.update_chat_data(user, {}) for user in range(1, 1001)),
    )
    for user in range(1, 16):  # 15 begin a dialogue ...
        await persistence.update_user_data(user, draft)
        await persistence.update_conversation("connection_request", (user, user), 5)
    for user in range(11, 16):  # ... and 5 of them finish it
        await persistence.update_user_data(user, {})
        await persistence.update_conversation("connection_request", (user, user), None)

    restarted = SqlPersistence(session_factory)
    loaded = await restarted.get_user_data()
    assert sorted(loaded) == list(range(1, 11))
    assert await restarted.get_chat_data() == {}
    states = await restarted.get_conversations("connection_request")
    assert sorted(states) == [(user, user) for user in range(1, 11)]
    async with session_factory() as session:  # what start-up reads: live rows only
        for table in (PtbUserData, PtbChatData, PtbConversation):
            rows = await session.scalar(select(func.count()).select_from(table))
            assert rows == (0 if table is PtbChatData else 10), table


# --------------------------------------------------------------------------- JSON only


async def test_non_json_data_is_rejected_with_a_clear_error(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    await persistence.update_user_data(1, {"ok": True})
    with pytest.raises(TypeError, match="JSON"):
        await persistence.update_user_data(1, {"when": object()})
    with pytest.raises(TypeError, match="conversation 'c'"):
        await persistence.update_conversation("c", (1,), object())
    assert await other_process.get_user_data() == {1: {"ok": True}}


async def test_json_conversions_are_the_documented_ones(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    await persistence.update_user_data(1, {5: (1, 2), "s": "ə"})
    assert await other_process.get_user_data() == {1: {"5": [1, 2], "s": "ə"}}


# --------------------------------------------------------------------------- concurrency


async def test_concurrent_writes(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    await asyncio.gather(
        *(persistence.update_user_data(user_id, {"n": user_id}) for user_id in range(1, 41)),
        *(persistence.update_conversation("c", (n, n), n) for n in range(1, 41)),
    )
    assert await other_process.get_user_data() == {n: {"n": n} for n in range(1, 41)}
    assert len(await other_process.get_conversations("c")) == 40


async def test_repeated_writes_of_one_key_keep_the_last_value(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    await asyncio.gather(*(persistence.update_user_data(1, {"n": n}) for n in range(10)))
    assert await other_process.get_user_data() == {1: {"n": 9}}


# --------------------------------------------------------------------------- with an Application


class FakeBotApi(BaseRequest):
    """Answers getMe; anything else succeeds with ``True``. No network."""

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        result: object = True
        if url.endswith("/getMe"):
            result = {"id": 1, "is_bot": True, "first_name": "Azərişıq", "username": "test_bot"}
        return 200, json.dumps({"ok": True, "result": result}).encode()


ASK_NAME = 0


def _message_update(update_id: int, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": 1_770_000_000,
        "chat": {"id": 100, "type": "private"},
        "from": {"id": 100, "is_bot": False, "first_name": "Əli"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"update_id": update_id, "message": message}


async def test_application_persists_conversations_and_user_data(
    persistence: SqlPersistence,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert context.user_data is not None
        context.user_data["draft"] = {"step": "name"}
        return ASK_NAME

    async def name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert context.user_data is not None and update.message is not None
        context.user_data["draft"] = {"step": "done", "name": update.message.text}
        return ConversationHandler.END

    application = (
        ApplicationBuilder()
        .token("1:TEST")
        .request(FakeBotApi())
        .get_updates_request(FakeBotApi())
        .updater(None)
        .persistence(persistence)
        .build()
    )
    application.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states={ASK_NAME: [MessageHandler(filters.TEXT & ~filters.COMMAND, name)]},
            fallbacks=[],
            name="connection_request",
            persistent=True,
        )
    )
    await application.initialize()
    try:
        await application.process_update(
            Update.de_json(_message_update(1, "/start"), application.bot)
        )
        await application.update_persistence()
        restarted = SqlPersistence(session_factory)
        assert await restarted.get_conversations("connection_request") == {(100, 100): ASK_NAME}
        assert (await restarted.get_user_data())[100] == {"draft": {"step": "name"}}

        await application.process_update(Update.de_json(_message_update(2, "Əli"), application.bot))
        await application.update_persistence()
        assert await restarted.get_conversations("connection_request") == {}
        assert (await restarted.get_user_data())[100]["draft"]["name"] == "Əli"
        assert await restarted.get_chat_data() == {}  # empty: no row
    finally:
        await application.shutdown()

    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(PtbUserData)) == 1


# --------------------------------------------------------------------------- group commit


@pytest.fixture
def commits(engine: AsyncEngine) -> Iterator[list[int]]:
    counted = [0]

    def count(_conn: Any) -> None:
        counted[0] += 1

    event.listen(engine.sync_engine, "commit", count)
    yield counted
    event.remove(engine.sync_engine, "commit", count)


async def test_writes_that_arrive_together_share_a_commit(
    persistence: SqlPersistence, other_process: SqlPersistence, commits: list[int]
) -> None:
    await asyncio.gather(
        *(persistence.update_user_data(user, {"n": user}) for user in range(1, 51)),
        *(persistence.update_conversation("cr", (user, user), 3) for user in range(1, 51)),
    )
    # the first write starts a commit alone; everything queued meanwhile goes in the next one
    assert commits[0] <= 2
    assert await other_process.get_user_data() == {user: {"n": user} for user in range(1, 51)}
    conversations = await other_process.get_conversations("cr")
    assert conversations == {(user, user): 3 for user in range(1, 51)}


async def test_the_last_write_of_a_key_wins_while_an_earlier_one_is_being_committed(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    await persistence.update_user_data(7, {"step": 1})
    # 2 goes into a commit; 1 (equal to what was stored before) must still be written after it
    await asyncio.gather(
        persistence.update_user_data(7, {"step": 2}),
        persistence.update_user_data(7, {"step": 1}),
    )
    assert await other_process.get_user_data() == {7: {"step": 1}}
    await asyncio.gather(
        persistence.update_conversation("cr", (7, 7), 4),
        persistence.drop_user_data(7),
        persistence.update_conversation("cr", (7, 7), None),
    )
    assert await other_process.get_user_data() == {}
    assert await other_process.get_conversations("cr") == {}


async def test_a_write_returns_only_once_it_is_stored_even_when_equal_to_one_on_its_way(
    persistence: SqlPersistence, other_process: SqlPersistence
) -> None:
    first = asyncio.ensure_future(persistence.update_user_data(8, {"step": 5}))
    await asyncio.sleep(0)  # the first write is on its way
    await persistence.update_user_data(8, {"step": 5})  # skipped as identical, yet waits
    assert await other_process.get_user_data() == {8: {"step": 5}}
    await first
