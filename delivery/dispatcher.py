"""The outbox dispatcher: claim due rows, send them under the rate caps, record the outcome.

One round (:meth:`Dispatcher.run_once`):

1. **Claim** up to ``batch_size`` due rows in one short transaction (replies before notices
   before bulk, then oldest first); see :func:`storage.outbox.claim_due`. Each claim gets a
   fresh token and a lease (``claimed_until``); rows of a claimer that died come back once the
   lease has run out.
2. **Send** the batch concurrently. SMS and e-mail first take a token from their channel's
   bucket, in claim order. Telegram messages are paced by the bot's one governor
   (:mod:`delivery.governor`), with everything else the bot sends: each carries its row's
   priority, a deadline before its lease runs out and the dispatcher's stop signal, and waits
   for its turn inside its send slot (so at most ``concurrency`` wait there at once). A message
   whose lease would run out before it could be sent, or that is still waiting when the
   dispatcher is asked to stop, is released unsent.
3. **Record** each outcome in its own transaction, conditioned on still holding the claim (run
   once more if its connection died: see :mod:`storage.retry`):
   sent; retry later with exponential backoff and jitter (never sooner than the provider's
   ``retry_after``); or failed (a permanent error, or the last allowed attempt). A Telegram
   "blocked by the user" also marks the citizen blocked.

Exactly once? A row is claimed by one dispatcher at a time, and a late outcome from a claimer
that lost its claim changes nothing. What no queue can rule out is a crash after the provider
accepted a message and before the row was marked sent: that row is sent again once its lease
runs out. SMS and e-mail carry the row's idempotency key so the provider can drop the copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot

from delivery.governor import Pace
from delivery.providers import (
    EmailSender,
    NotSent,
    PermanentError,
    RecipientBlocked,
    RetryableError,
    SmsProvider,
)
from delivery.rate_limit import Clock, TokenBucket
from delivery.telegram_sender import TelegramSender
from domain.privacy import mask_personal_data
from observability import DELIVERIES
from storage import outbox
from storage.db import utcnow
from storage.models import Channel, OutboxMessage
from storage.outbox import failed_counts
from storage.retry import is_connection_lost, retry_on_disconnect
from storage.types import AsyncSession, async_sessionmaker

__all__ = ["DispatchConfig", "Dispatcher", "backoff_seconds", "failed_counts"]

log = logging.getLogger(__name__)

#: How much of an error message is kept in ``outbox.last_error``.
MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    """The dispatcher's knobs (the composition root fills them from the settings)."""

    batch_size: int = 100
    poll_seconds: float = 0.5
    max_attempts: int = 8
    retry_base_seconds: float = 5.0
    retry_cap_seconds: float = 900.0
    retry_jitter: float = 0.2
    #: A claim's lease. Must exceed the longest a batch can take to send (rate waits included)
    #: or rows are released and claimed again later, which is safe but slower.
    lease_seconds: float = 120.0
    #: Do not start a send with less lease left than this (a send's own worst-case time).
    send_margin_seconds: float = 30.0
    #: Sends in flight at once (also the size of the worker's HTTP connection pool).
    concurrency: int = 32
    sms_rate: float = 10.0
    email_rate: float = 5.0


def backoff_seconds(
    failures: int, config: DispatchConfig, *, jitter: float = 0.0, retry_after: float | None = None
) -> float:
    """Delay before the next attempt after ``failures`` failed ones (1 → the base delay).

    ``min(cap, base · 2^(failures-1)) · (1 + jitter)``, and never less than ``retry_after``.
    """
    delay = min(config.retry_cap_seconds, config.retry_base_seconds * 2.0 ** max(0, failures - 1))
    delay *= 1.0 + jitter
    return max(delay, retry_after or 0.0)


@dataclass(frozen=True, slots=True)
class _Job:
    """What a send needs of a claimed row (plain values: no ORM object crosses a session)."""

    id: int
    channel: str
    recipient: str
    payload: dict[str, Any]
    idempotency_key: str
    citizen_id: int | None
    attempts: int
    claimed_until: datetime
    priority: int

    @classmethod
    def of(cls, row: OutboxMessage) -> _Job:
        assert row.claimed_until is not None
        return cls(
            row.id,
            row.channel,
            row.recipient,
            dict(row.payload),
            row.idempotency_key,
            row.citizen_id,
            row.attempts,
            row.claimed_until,
            row.priority,
        )


class Dispatcher:
    """Sends the outbox. ``run()`` until ``stop()``; ``run_once()`` for one round (tests)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        telegram_bot: Bot,
        sms: SmsProvider,
        email: EmailSender,
        config: DispatchConfig | None = None,
        *,
        now: Callable[[], datetime] = utcnow,
        clock: Clock = time.monotonic,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        self.sessions = sessions
        self.config = config = config or DispatchConfig()
        self.telegram = TelegramSender(telegram_bot)
        self.sms = sms
        self.email = email
        self._now = now
        self._jitter = jitter or (lambda: random.uniform(0.0, config.retry_jitter))  # noqa: S311
        self._clock = clock
        # Telegram has no bucket here: the bot's governor paces it (delivery/governor.py).
        self._global: dict[str, TokenBucket] = {
            Channel.SMS: TokenBucket(config.sms_rate, clock=clock),
            Channel.EMAIL: TokenBucket(config.email_rate, clock=clock),
        }
        self._in_flight = asyncio.Semaphore(config.concurrency)
        self._stopping = asyncio.Event()
        self._claim_lock = asyncio.Lock()  # one claimer at a time in this process
        #: Outcomes since start: "sent", "retry", "failed", "released", "lost", "error".
        self.outcomes: Counter[str] = Counter()

    # ----------------------------------------------------------------- the loop

    def stop(self) -> None:
        """Ask ``run()`` to return after the sends in flight; waiting messages are released."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        """Dispatch until :meth:`stop`; sleeps ``poll_seconds`` whenever nothing was due."""
        log.info("Outbox dispatcher running")
        while not self.stopping:
            try:
                handled = await self.run_once()
            except Exception as error:
                if is_connection_lost(error):
                    # A terminated backend or a failover: the pool replaces the connection
                    # and the next round claims again (a claim it cut comes back at its lease).
                    log.warning(
                        "outbox: a dispatch round was cut by a lost database connection (%s); "
                        "it runs again",
                        type(error).__name__,
                    )
                else:  # the database is away, say: log, wait, try again
                    log.exception("outbox: a dispatch round failed")
                handled = 0
            if handled == 0:
                await self._pause(self.config.poll_seconds)
        log.info("Outbox dispatcher stopped")

    async def run_once(self) -> int:
        """Claim one batch and send it; how many rows were handled (0: nothing was due)."""
        if self.stopping:
            return 0
        token = secrets.token_hex(16)
        async with self._claim_lock, self.sessions.begin() as session:
            rows = await outbox.claim_due(
                session,
                now=self._now(),
                lease=timedelta(seconds=self.config.lease_seconds),
                limit=self.config.batch_size,
                token=token,
            )
            jobs = [_Job.of(row) for row in rows]
        if not jobs:
            return 0
        results = await asyncio.gather(
            *(self._handle(job, token) for job in jobs), return_exceptions=True
        )
        counts: Counter[str] = Counter()
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, BaseException):
                # Recording the outcome failed (the database went away, twice if it was a lost
                # connection): the row stays claimed and comes back when its lease runs out.
                if is_connection_lost(result):
                    log.warning("outbox: message %d: %s", job.id, type(result).__name__)
                else:
                    log.error("outbox: message %d: %r", job.id, result)
                result = "error"
            counts[result] += 1
            DELIVERIES.labels(job.channel, result).inc()
        self.outcomes.update(counts)
        log.info("outbox: %d handled %s", len(jobs), dict(sorted(counts.items())))
        return len(jobs)

    # ----------------------------------------------------------------- one message

    async def _handle(self, job: _Job, token: str) -> str:
        if not await self._wait_for_turn(job):
            return await self._record("released", outbox.release, job, token, at=self._now())
        try:
            async with self._in_flight:
                await self._send(job)
        except NotSent:
            return await self._record("released", outbox.release, job, token, at=self._now())
        except RecipientBlocked as error:
            return await self._fail(job, token, error, blocked=True)
        except PermanentError as error:
            return await self._fail(job, token, error)
        except RetryableError as error:
            return await self._retry(job, token, error, error.retry_after)
        except Exception as error:  # a bug or an unforeseen library error: retry, loudly
            log.exception("outbox: unexpected error sending message %d", job.id)
            return await self._retry(job, token, error, None)
        return await self._record("sent", outbox.mark_sent, job, token, now=self._now())

    async def _wait_for_turn(self, job: _Job) -> bool:
        """Take the channel's rate token; False if stopping or the lease would run out.

        Tokens are reserved when a job gets here, and jobs get here in claim order, so the
        batch is paced in priority order; waiting does not hold a connection slot.
        """
        bucket = self._global.get(job.channel)
        if bucket is not None and not await self._pause(bucket.reserve()):
            return False
        return self._lease_left(job) > 0

    def _lease_left(self, job: _Job) -> float:
        """Seconds a send may still start in: the lease left, less the send's own margin."""
        margin = timedelta(seconds=self.config.send_margin_seconds)
        return (job.claimed_until - margin - self._now()).total_seconds()

    def _pace(self, job: _Job) -> Pace:
        """The row's priority, and give up (unsent) before the lease runs out or on stop.

        The deadline is on ``clock``, which must be the governor's (both ``time.monotonic``).
        """
        deadline = self._clock() + self._lease_left(job)
        return Pace(priority=job.priority, deadline=deadline, abandon=self._stopping)

    async def _send(self, job: _Job) -> None:
        payload = job.payload
        if job.channel == Channel.TELEGRAM:
            try:
                chat_id = int(job.recipient)
            except ValueError:
                raise PermanentError(f"not a Telegram chat id: {job.recipient!r}") from None
            parse_mode = payload.get("parse_mode")
            if "photo" in payload:
                await self.telegram.send_photo(
                    chat_id,
                    _text(payload, "photo"),
                    str(payload.get("caption") or ""),
                    pace=self._pace(job),
                )
                return
            buttons = payload.get("buttons")
            await self.telegram.send(
                chat_id,
                _text(payload, "text"),
                parse_mode=parse_mode if isinstance(parse_mode, str) else None,
                pace=self._pace(job),
                **({"buttons": buttons} if isinstance(buttons, list) and buttons else {}),
            )
        elif job.channel == Channel.SMS:
            await self.sms.send(job.recipient, _text(payload, "text"), job.idempotency_key)
        elif job.channel == Channel.EMAIL:
            await self.email.send(
                job.recipient,
                _text(payload, "subject"),
                _text(payload, "text"),
                job.idempotency_key,
            )
        else:
            raise PermanentError(f"unknown channel {job.channel!r}")

    async def _retry(
        self, job: _Job, token: str, error: Exception, retry_after: float | None
    ) -> str:
        failures = job.attempts + 1
        if failures >= self.config.max_attempts:
            return await self._fail(job, token, error)
        delay = backoff_seconds(
            failures, self.config, jitter=self._jitter(), retry_after=retry_after
        )
        at = self._now() + timedelta(seconds=delay)
        return await self._record(
            "retry", outbox.retry_later, job, token, at=at, error=_describe(error)
        )

    async def _fail(self, job: _Job, token: str, error: Exception, *, blocked: bool = False) -> str:
        log.warning(
            "outbox: message %d (%s) failed after %d attempt(s): %s",
            job.id,
            job.channel,
            job.attempts + 1,
            _describe(error),
        )

        async def record() -> bool:
            async with self.sessions.begin() as session:
                held = await outbox.mark_failed(session, job.id, token, error=_describe(error))
                if held and blocked and job.channel == Channel.TELEGRAM:
                    await outbox.mark_citizen_blocked(
                        session,
                        citizen_id=job.citizen_id,
                        chat_id=int(job.recipient),
                        now=self._now(),
                    )
            return held

        held = await retry_on_disconnect(record)
        return "failed" if held else self._lost(job)

    async def _record(
        self, outcome: str, update: Callable[..., Any], job: _Job, token: str, **values: Any
    ) -> str:

        async def record() -> bool:
            async with self.sessions.begin() as session:
                return bool(await update(session, job.id, token, **values))

        # Conditioned on the claim, so running it twice is harmless (storage.retry). Had the
        # first COMMIT gone through, the second finds the claim settled: reported as lost.
        held = await retry_on_disconnect(record)
        return outcome if held else self._lost(job)

    def _lost(self, job: _Job) -> str:
        # Only possible when this batch outlived its lease and another claimer took the row.
        log.warning("outbox: lost the claim on message %d before recording its outcome", job.id)
        return "lost"

    async def _pause(self, seconds: float) -> bool:
        """Sleep, but wake up when asked to stop; False if stopping."""
        if seconds > 0 and not self.stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        return not self.stopping


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise PermanentError(f"the payload has no {key!r}")
    return value


def _describe(error: Exception) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, RetryableError | PermanentError):
        described = text
    else:
        described = f"{type(error).__name__}: {text}"
    return mask_personal_data(described)[:MAX_ERROR_CHARS]
