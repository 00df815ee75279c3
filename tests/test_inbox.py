"""The durable inbox: stored before confirmed, handled once, poison set aside."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Bot, Update

from bot.inbox import Inbox
from bot.replay import ReplayAwareRequest, handling
from bot.update_processor import HANDLED_KEY
from conversations import connection_request as cr
from conversations.connection_draft import DRAFT_KEY
from emulator import BotApiEmulator
from i18n import translate
from observability import INBOX_QUARANTINED
from storage import inbox as inbox_rows
from storage.db import utcnow
from storage.models import InboxStatus, InboxUpdate, PtbConversation, PtbUserData
from tests.harness import Citizen, bot_on_emulator
from tests.test_connection_request import choose_language, question
from tests.test_http import SECRET, webhook_bot  # noqa: F401 - a fixture

HELP = "Bu botda nələr edə bilərsiniz"


def message_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A private-chat text message as Telegram sends it."""
    user = {"id": user_id, "is_bot": False, "first_name": "Aysel", "language_code": "az"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": user,
            "chat": {"id": user_id, "type": "private", "first_name": "Aysel"},
            "date": int(time.time()),
            "text": text,
            **(
                {"entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
                if text.startswith("/")
                else {}
            ),
        },
    }


async def rows(engine: AsyncEngine) -> dict[int, tuple[str, int, str | None]]:
    async with engine.connect() as connection:
        found = await connection.execute(
            select(
                InboxUpdate.update_id, InboxUpdate.status, InboxUpdate.attempts, InboxUpdate.error
            )
        )
        return {uid: (status, attempts, error) for uid, status, attempts, error in found}


async def wait_for_status(engine: AsyncEngine, update_id: int, status: str) -> None:
    async with asyncio.timeout(10):
        while (await rows(engine)).get(update_id, ("",))[0] != status:
            await asyncio.sleep(0.05)


# --------------------------------------------------------------------------- the table


async def test_an_update_id_is_stored_once(session: AsyncSession) -> None:
    assert await inbox_rows.store(
        session, [message_update(1, 7, "a"), message_update(2, 7, "b")]
    ) == [1, 2]
    assert await inbox_rows.store(
        session, [message_update(2, 7, "b"), message_update(3, 7, "c")]
    ) == [3]
    await session.commit()
    assert [p.update_id for p in await inbox_rows.pending(session, limit=10)] == [1, 2, 3]
    assert [p.update_id for p in await inbox_rows.pending(session, limit=10, after=1)] == [2, 3]


async def test_prune_removes_old_handled_rows_and_keeps_quarantined(session: AsyncSession) -> None:
    await inbox_rows.store(session, [message_update(n, 7, "x") for n in (1, 2, 3, 4)])
    long_ago = utcnow() - timedelta(days=3)
    await inbox_rows.mark_handled(session, [1], long_ago)
    await inbox_rows.mark_handled(session, [2], utcnow())
    await inbox_rows.quarantine(session, 3, "unreadable", long_ago)
    await session.commit()
    assert await inbox_rows.prune_handled(session, utcnow() - timedelta(days=2)) == 1
    await session.commit()
    assert await inbox_rows.counts(session) == {"pending": 1, "handled": 1, "quarantined": 1}


# --------------------------------------------------------------------------- the bot


async def test_a_poison_update_is_quarantined_and_the_next_citizen_is_answered(
    emulator: BotApiEmulator, bot: Any, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    before = INBOX_QUARANTINED.labels("unreadable")._value.get()
    # A poll without its required fields, as an older self-hosted Bot API server may send.
    poison = await emulator.inject_update({"poll": {"id": "5", "question": "?"}})
    polls_before = emulator.stats.calls["getUpdates"]
    citizen = Citizen(emulator, 4101)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="bot.inbox"):
        await citizen.says("/help")
        await citizen.sees(HELP, timeout=5)
    assert time.monotonic() - started < 5
    assert emulator.stats.calls["getUpdates"] - polls_before <= 5
    await wait_for_status(engine, poison, InboxStatus.QUARANTINED)
    _, _, error = (await rows(engine))[poison]
    assert error is not None and error.startswith("unreadable: TypeError")
    assert INBOX_QUARANTINED.labels("unreadable")._value.get() == before + 1
    warnings = [r for r in caplog.records if str(poison) in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "(poll)" in warnings[0].getMessage() and "?" not in warnings[0].getMessage()


async def test_updates_left_pending_are_handled_first_at_start(
    emulator: BotApiEmulator, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    emulator.add_user(4201)
    emulator.add_user(4202)
    async with session_factory.begin() as session:
        # stored by a process that died before handling them; one was in flight in 3 runs
        await inbox_rows.store(session, [message_update(900, 4201, "/help")])
        await inbox_rows.store(session, [message_update(901, 4202, "/help")])
        await session.execute(
            update(InboxUpdate).where(InboxUpdate.update_id == 901).values(attempts=3)
        )
    async with bot_on_emulator(engine, emulator):
        await Citizen(emulator, 4201).sees(HELP)
        await wait_for_status(engine, 900, InboxStatus.HANDLED)
        await wait_for_status(engine, 901, InboxStatus.QUARANTINED)
    assert emulator.messages(4202) == []
    assert (await rows(engine))[900][1] == 1  # one attempt, the one that finished


async def test_failing_handling_is_tried_again_then_quarantined(
    session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """The update processor reports each failure; the sweep hands the update over again."""

    class Application:
        bot = Bot("123:ABC")
        update_queue: asyncio.Queue[object] = asyncio.Queue()

    inbox = Inbox(session_factory, max_attempts=3, sweep_seconds=0.05)
    application: Any = Application()
    await inbox.start_handling(application)
    try:
        await inbox.receive([message_update(77, 4301, "/help")])
        for attempt in range(3):
            given = await asyncio.wait_for(application.update_queue.get(), 5)
            assert isinstance(given, Update) and given.update_id == 77
            inbox.begin(given)
            await inbox.failed(given, RuntimeError(f"database away {attempt}"))
        await wait_for_status(engine, 77, InboxStatus.QUARANTINED)
        assert application.update_queue.empty()
    finally:
        await inbox.stop_handling()
    _, attempts, error = (await rows(engine))[77]
    assert attempts == 3 and error == "handling failed 3 times, last: RuntimeError: database away 2"


async def test_a_redelivered_webhook_update_is_handled_once(
    webhook_bot: tuple[BotApiEmulator, str],  # noqa: F811 - the fixture imported above
    engine: AsyncEngine,
) -> None:
    emulator, url = webhook_bot
    emulator.add_user(4401)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as http:
        for _ in range(3):  # Telegram did not see our first answers
            async with http.post(
                url, json=message_update(5000, 4401, "/help"), headers=headers
            ) as response:
                assert response.status == 200
    await Citizen(emulator, 4401).sees(HELP)
    await wait_for_status(engine, 5000, InboxStatus.HANDLED)
    await asyncio.sleep(0.5)
    assert len(emulator.messages(4401)) == 1


async def test_a_backlog_is_handed_over_a_slice_at_a_time_and_in_order(
    session_factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.inbox.MAX_IN_HAND", 2)

    class Application:
        bot = Bot("123:ABC")
        update_queue: asyncio.Queue[object] = asyncio.Queue()

    async with session_factory.begin() as session:
        await inbox_rows.store(session, [message_update(n, 4500 + n, "/help") for n in range(1, 6)])
    inbox = Inbox(session_factory, sweep_seconds=0.05)
    application: Any = Application()
    await inbox.start_handling(application)
    try:
        await inbox.receive([message_update(6, 4506, "/help")])  # new, behind the backlog
        seen: list[int] = []
        while len(seen) < 6:
            given = await asyncio.wait_for(application.update_queue.get(), 5)
            assert isinstance(given, Update)
            assert application.update_queue.qsize() < 2  # never more than 2 in hand
            seen.append(given.update_id)
            inbox.begin(given)
            await inbox.done(given)
    finally:
        await inbox.stop_handling()
    assert seen == [1, 2, 3, 4, 5, 6]


async def test_a_dialogue_step_committed_before_its_mark_is_not_applied_again(
    emulator: BotApiEmulator, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Killed between the persistence commit and the inbox mark: after the restart the same
    answer must not be taken as the answer to the next question."""
    person = Citizen(emulator, 4601)
    async with bot_on_emulator(engine, emulator):
        await choose_language(person, "az")
        await person.says(translate("Connection request", "az"))
        await person.sees(question(cr.FIRST_NAME, "az"))
        update_id = await emulator.send_text(person.user_id, "Aysel")
        await person.sees(question(cr.LAST_NAME, "az"))
        await wait_for_status(engine, update_id, InboxStatus.HANDLED)
    async with session_factory.begin() as session:  # the mark is lost, the effects are not
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == update_id)
            .values(status=InboxStatus.PENDING, handled_at=None)
        )
    seen = len(emulator.messages(person.user_id))
    async with bot_on_emulator(engine, emulator):
        await wait_for_status(engine, update_id, InboxStatus.HANDLED)
        await asyncio.sleep(0.5)
        assert len(emulator.messages(person.user_id)) == seen  # nothing answered again
        await person.says("Məmmədova")
        await person.sees(question(cr.PATRONYMIC, "az"))


async def test_an_update_answered_before_a_crash_runs_again_without_sending_again(
    emulator: BotApiEmulator, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Killed after the reply reached the citizen, before the new state was committed: the
    step runs again (the state must move on) but the citizen does not get the question twice,
    so their answer to it is not taken for the next one."""
    person = Citizen(emulator, 4701)
    async with bot_on_emulator(engine, emulator):
        await choose_language(person, "az")
        await person.says(translate("Connection request", "az"))
        await person.sees(question(cr.FIRST_NAME, "az"))
        await all_handled(engine)  # the state of the question asked is committed
        before = await dialogue_rows(engine)
        update_id = await emulator.send_text(person.user_id, "Aysel")
        await person.sees(question(cr.LAST_NAME, "az"))
        await wait_for_status(engine, update_id, InboxStatus.HANDLED)
    async with session_factory.begin() as session:  # as the dead process left it
        await restore_dialogue_rows(session, before)
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == update_id)
            .values(status=InboxStatus.PENDING, handled_at=None, attempts=1)
        )
        replies = (
            await session.execute(
                select(InboxUpdate.replies_sent).where(InboxUpdate.update_id == update_id)
            )
        ).scalar_one()
    assert replies == 1  # counted when Telegram accepted the reply
    seen = len(emulator.messages(person.user_id))
    async with bot_on_emulator(engine, emulator):
        await wait_for_status(engine, update_id, InboxStatus.HANDLED)
        await asyncio.sleep(0.5)
        assert len(emulator.messages(person.user_id)) == seen  # no second "Soyadınız?"
        await person.says("Məmmədova")
        await person.sees(question(cr.PATRONYMIC, "az"))


async def test_killed_after_the_draft_was_written_the_replay_still_asks_the_first_question(
    emulator: BotApiEmulator, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """«Qoşulma müraciəti» writes the draft, then asks the first name (the intro on the same
    message). Killed between the draft and the question: the replay finds a draft the citizen
    never saw a question of. It must not offer to resume it, and the question must go out
    (held back by a reply count, it was swallowed and the citizen waited for ever: the
    three-kill drill, seed 4125075242)."""
    person = Citizen(emulator, 4702)
    async with bot_on_emulator(engine, emulator):
        await choose_language(person, "az")
        await all_handled(engine)
        before = await dialogue_rows(engine)
        update_id = await emulator.send_text(person.user_id, translate("Connection request", "az"))
        await person.sees(question(cr.FIRST_NAME, "az"))
        await wait_for_status(engine, update_id, InboxStatus.HANDLED)
    async with session_factory.begin() as session:  # as the dead process left it
        await restore_dialogue_rows(session, before[:1])  # the dialogue's state: not begun
        data = (
            await session.execute(
                select(PtbUserData.data).where(PtbUserData.user_id == person.user_id)
            )
        ).scalar_one()
        data.pop(HANDLED_KEY, None)  # the step had not ended
        data[DRAFT_KEY]["asked"] = False  # the draft as written before its question
        await session.execute(
            update(PtbUserData).where(PtbUserData.user_id == person.user_id).values(data=data)
        )
        await session.execute(  # the question was never sent
            update(InboxUpdate)
            .where(InboxUpdate.update_id == update_id)
            .values(
                status=InboxStatus.PENDING,
                handled_at=None,
                attempts=1,
                replies_sent=0,
                reply_digests="",
            )
        )
    seen = len(emulator.messages(person.user_id))
    async with bot_on_emulator(engine, emulator):
        await wait_for_status(engine, update_id, InboxStatus.HANDLED)
        await person.sees(question(cr.FIRST_NAME, "az"))
        assert len(emulator.messages(person.user_id)) == seen + 1  # the question, once
        await person.says("Aysel")
        await person.sees(question(cr.LAST_NAME, "az"))


async def all_handled(engine: AsyncEngine) -> None:
    async with asyncio.timeout(10):
        while any(status == "pending" for status, _, _ in (await rows(engine)).values()):
            await asyncio.sleep(0.05)


async def dialogue_rows(engine: AsyncEngine) -> list[tuple[type[Any], list[dict[str, Any]]]]:
    async with engine.connect() as connection:
        return [
            (model, [dict(row._mapping) for row in await connection.execute(select(model))])
            for model in (PtbConversation, PtbUserData)
        ]


async def restore_dialogue_rows(
    session: AsyncSession, saved: list[tuple[type[Any], list[dict[str, Any]]]]
) -> None:
    for model, rows in saved:
        await session.execute(delete(model))
        if rows:
            await session.execute(insert(model), rows)


async def test_a_replay_holds_back_only_the_replies_sent_before(emulator: BotApiEmulator) -> None:
    """Two replies, the first sent by the process that died: only the second goes out."""
    emulator.add_user(4801)
    noted: list[tuple[int, tuple[str, ...]]] = []

    async def on_reply(update_id: int, digests: tuple[str, ...]) -> None:
        noted.append((update_id, digests))

    async with Bot(emulator.token, base_url=emulator.base_url, request=ReplayAwareRequest()) as bot:
        with handling(98, seen_before=(), on_reply=on_reply):  # the run that died
            await bot.send_message(4801, "Adınız?")
        ((_, first_run),) = noted
        noted.clear()
        with handling(99, seen_before=first_run, on_reply=on_reply):
            first = await bot.send_message(4801, "Adınız?")
            second = await bot.send_message(4801, "Soyadınız?")
    assert [m.text for m in emulator.messages(4801)] == ["Adınız?", "Soyadınız?"]
    assert first.message_id == 0 and second.message_id > 0
    assert [(u, len(d)) for u, d in noted] == [(99, 2)]
    assert noted[0][1][0] == first_run[0]


async def test_a_replay_that_takes_another_way_sends_what_was_not_seen(
    emulator: BotApiEmulator,
) -> None:
    """The dead process sent the intro, then committed the draft; the replay finds the draft
    and offers to resume instead. Held back by count, that offer would be swallowed and the
    citizen would wait for ever; held back by digest, it goes out."""
    emulator.add_user(4802)
    noted: list[tuple[str, ...]] = []

    async def on_reply(update_id: int, digests: tuple[str, ...]) -> None:
        noted.append(digests)

    async with Bot(emulator.token, base_url=emulator.base_url, request=ReplayAwareRequest()) as bot:
        with handling(97, seen_before=(), on_reply=on_reply):
            await bot.send_message(4802, "Gəlin, addım-addım müraciət edək.")
        intro = noted[-1]
        with handling(97, seen_before=intro, on_reply=on_reply):
            await bot.send_message(4802, "Yarımçıq müraciətiniz var. Davam edək?")
    assert [m.text for m in emulator.messages(4802)][1:] == [
        "Yarımçıq müraciətiniz var. Davam edək?"
    ]
    assert len(noted[-1]) == 2  # what the citizen has seen: both, for a replay after this one


async def test_a_menu_press_that_leaves_a_dialogue_is_handled_after_it_is_queued_again(
    emulator: BotApiEmulator, engine: AsyncEngine
) -> None:
    """chat/menu.py ends the dialogue and queues the same update again: it is no replay."""
    person = Citizen(emulator, 4901)
    async with bot_on_emulator(engine, emulator):
        await choose_language(person, "az")
        await person.says(translate("Connection request", "az"))
        await person.sees(question(cr.FIRST_NAME, "az"))
        await person.says("Aysel")
        await person.sees(question(cr.LAST_NAME, "az"))
        await person.says(translate("Help", "az"))
        await person.sees(HELP)
