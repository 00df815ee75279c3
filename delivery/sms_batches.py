"""Answer text messages in batches: one transaction, and one commit, for every message waiting.

A gateway posts many messages at once. Answered one transaction each, they queue behind one
another on the database's commit (SQLite has a single writer); answered together, the commit is
shared. Each caller still gets its own answer, and only once the batch holding its message
(the message, its reply in the outbox) is committed: an acknowledged message is never lost.

If a batch fails, each of its messages is tried again alone, so one message that cannot be
answered does not fail the others.
"""

from __future__ import annotations

import asyncio
import logging

from delivery.sms_queries import Answered, IncomingSms, answer
from storage.db import utcnow
from storage.types import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

MAX_BATCH = 64

_Waiting = tuple[IncomingSms, asyncio.Future[Answered]]


class SmsBatches:
    """Answers each message handed to :meth:`answer`, committing those that wait together."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        per_hour: int,
        transliterate: bool,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._sessions = sessions
        self._per_hour = per_hour
        self._transliterate = transliterate
        self._max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._worker: asyncio.Task[None] | None = None

    async def answer(self, sms: IncomingSms) -> Answered:
        """Record ``sms`` and queue its reply; returns once both are committed."""
        done: asyncio.Future[Answered] = asyncio.get_running_loop().create_future()
        self._waiting.append((sms, done))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="sms-batches")
        return await asyncio.shield(done)  # the batch is committed even if the caller goes

    async def _work(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._answer_batch(batch)
        except BaseException as exc:  # cancelled at shutdown: nobody may wait for ever
            for _, done in self._waiting:
                _settle(done, exc=exc)
            self._waiting.clear()
            raise

    async def _answer_batch(self, batch: list[_Waiting]) -> None:
        try:
            answers = await self._in_one_transaction([sms for sms, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc=exc)
                return
            # the type only: the error's text may quote the messages (phones, what people wrote)
            log.warning(
                "an SMS batch of %d failed (%s); answering each alone",
                len(batch),
                type(exc).__name__,
            )
            for waiting in batch:
                await self._answer_batch([waiting])
            return
        except BaseException as exc:
            for _, done in batch:
                _settle(done, exc=exc)
            raise
        for (_, done), answered in zip(batch, answers, strict=True):
            _settle(done, result=answered)

    async def _in_one_transaction(self, messages: list[IncomingSms]) -> list[Answered]:
        now = utcnow()
        async with self._sessions.begin() as session:
            return await answer(
                session,
                messages,
                now=now,
                per_hour=self._per_hour,
                transliterate=self._transliterate,
            )


def _settle(
    done: asyncio.Future[Answered],
    *,
    result: Answered | None = None,
    exc: BaseException | None = None,
) -> None:
    if done.done():
        return
    if exc is not None:
        done.set_exception(exc)
        done.exception()  # retrieved: a caller that left is not an "exception never retrieved"
    else:
        assert result is not None
        done.set_result(result)
