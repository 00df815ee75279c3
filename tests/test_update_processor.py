"""Different chats run side by side; one chat's updates run in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.update_processor import PerChatUpdateProcessor


def update_in(chat_id: int, update_id: int) -> Update:
    chat = Chat(id=chat_id, type=Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, datetime.now(UTC), chat))


async def test_one_chat_in_order_other_chats_concurrently() -> None:
    processor = PerChatUpdateProcessor(max_concurrent_updates=16)
    log: list[str] = []
    release_first = asyncio.Event()

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        log.append(f"start {name}")
        if wait is not None:
            await wait.wait()
        log.append(f"end {name}")

    async with asyncio.TaskGroup() as group:
        group.create_task(processor.process_update(update_in(1, 1), handle("a1", release_first)))
        group.create_task(processor.process_update(update_in(1, 2), handle("a2")))
        group.create_task(processor.process_update(update_in(2, 3), handle("b1")))
        await asyncio.sleep(0.05)
        # Chat 2 finished while chat 1's first update is still running; a2 has not started.
        assert log == ["start a1", "start b1", "end b1"]
        release_first.set()

    assert log == ["start a1", "start b1", "end b1", "end a1", "start a2", "end a2"]
    assert processor._locks == {}  # no lock left behind for idle chats


async def test_updates_without_a_chat_are_processed() -> None:
    processor = PerChatUpdateProcessor(max_concurrent_updates=4)
    done = asyncio.Event()

    async def handle() -> None:
        done.set()

    await processor.process_update(object(), handle())
    assert done.is_set()
