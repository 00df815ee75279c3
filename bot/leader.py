"""Which `serve` process receives Telegram updates: the one holding the receiving lease.

Telegram delivers a bot's updates to one consumer (one getUpdates poller, one webhook URL) and
python-telegram-bot keeps conversations in memory, so exactly one process may receive. Every
`serve` serves HTTP (staff API, SMS, metrics, health) and may dispatch the outbox; only the
holder of the lease receives. The others stand by, try again every ``LEADER_CHECK_SECONDS``
and say so in the log (once, at WARNING) and in ``/healthz``.

* **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) on a dedicated
  connection (``application_name`` "azerishiq-bot receiving lease" in ``pg_stat_activity``).
  The server frees it the moment the session ends, so a leader killed with ``kill -9`` is
  replaced within about one interval (plus the grace below and the bot's start). The leader
  checks its connection every interval (``SELECT 1``, and asyncpg's termination callback);
  when the connection dies or does not answer, the leader stops receiving at once (bounded by
  its share of ``STOP_TIMEOUT_SECONDS``; past it the process exits for its supervisor to
  restart it) and competes again. A new leader waits one interval before receiving, by when
  an old leader whose session the server ended has noticed. TCP keepalives on the lock
  connection make the server end the session of a client that vanished (a network partition)
  within about 15 s rather than hours.
* **SQLite**: an OS file lock (``flock``) on ``<database file>.lock``. The second process on
  the same file serves HTTP only, says why, and takes over when the first one stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.settings import Settings
from storage import leader_lock
from storage.types import AsyncConnection

__all__ = [
    "LOCK_KEY",
    "FileLease",
    "Lease",
    "NoLease",
    "PostgresLease",
    "ReceiverState",
    "lease_for",
]

log = logging.getLogger(__name__)

#: The advisory lock's key (bigint): "azerishq" in ASCII.
LOCK_KEY = 0x617A_6572_6973_6871
#: A check of the lock connection that takes longer than this counts as a lost connection.
CHECK_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0
#: The server probes an idle lock connection after 5 s, every 2 s, and ends it after 3 misses.
KEEPALIVES = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
}
APPLICATION_NAME = "azerishiq-bot receiving lease"


@dataclass(slots=True)
class ReceiverState:
    """What /healthz tells: ``role`` is "leader" (receiving updates) or "standby", and why."""

    role: str = "standby"
    reason: str | None = "starting"

    def receiving(self) -> None:
        self.role, self.reason = "leader", None

    def standing_by(self, reason: str) -> None:
        self.role, self.reason = "standby", reason


class Lease(ABC):
    """The right to receive updates; :meth:`acquire` waits for it, :meth:`lost` watches it."""

    #: Wait this long after taking the lease before receiving (see the module docstring).
    grace_seconds = 0.0

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.state = ReceiverState()
        self._said: str | None = None

    @abstractmethod
    async def acquire(self) -> None:
        """Return once this process holds the lease (trying every ``interval``)."""

    @abstractmethod
    async def lost(self) -> str:
        """Return (why) once this process may no longer hold the lease."""

    @abstractmethod
    async def release(self) -> None:
        """Give the lease up (at stop), so that a standby takes over at once."""

    def _standing_by(self, reason: str) -> None:
        """Say why this process does not receive: in /healthz always, in the log once."""
        self.state.standing_by(reason)
        if reason != self._said:
            log.warning("Not receiving Telegram updates: %s", reason)
            self._said = reason

    def _took(self, what: str) -> None:
        self._said = None
        self.state.standing_by("took the receiving lease; starting to receive")
        log.info("Took the receiving lease (%s)", what)


class NoLease(Lease):
    """In-memory SQLite: no other process can share the database, so no one to wait for."""

    async def acquire(self) -> None:
        return

    async def lost(self) -> str:
        await asyncio.Future()  # never
        raise AssertionError("unreachable")

    async def release(self) -> None:
        return


class FileLease(Lease):
    """SQLite: ``flock`` on a lock file beside the database; its holder's pid is written in it."""

    def __init__(self, path: Path, database: Path, interval: float) -> None:
        super().__init__(interval)
        self.path = path
        self.database = database
        self._fd: int | None = None

    async def acquire(self) -> None:
        while True:
            holder = self._try_lock()
            if holder is None:
                self._took(f"lock file {self.path}")
                return
            self._standing_by(
                f"another serve process (pid {holder}) receives the updates of the SQLite "
                f"database {self.database} (it holds {self.path}); Telegram delivers a bot's "
                "updates to one process only. This one serves HTTP and takes over when that "
                "one stops; a standby on another machine needs PostgreSQL"
            )
            await asyncio.sleep(self.interval)

    def _try_lock(self) -> str | None:
        """None if locked now, else the holder's pid as written in the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            return holder
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return None

    async def lost(self) -> str:
        await asyncio.Future()  # a file lock lasts as long as the process
        raise AssertionError("unreachable")

    async def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class PostgresLease(Lease):
    """A session-level advisory lock on a connection of its own (not from the pool)."""

    def __init__(self, database_url: str, interval: float) -> None:
        super().__init__(interval)
        self.grace_seconds = interval
        self._engine = leader_lock.lock_engine(
            database_url,
            connect_args={
                "timeout": CONNECT_TIMEOUT_SECONDS,
                "server_settings": {"application_name": APPLICATION_NAME, **KEEPALIVES},
            },
        )
        self._connection: AsyncConnection | None = None
        self._driver: Any = None  # the asyncpg connection under it
        self._ended = asyncio.Event()

    async def acquire(self) -> None:
        while True:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS + CHECK_TIMEOUT_SECONDS):
                    taken = await self._try_lock()
            except Exception as error:  # the database is away: a standby waits for it
                await self._drop()
                self._standing_by(f"cannot reach the database for the lease: {error!r}")
            else:
                if taken:
                    self._took(f"PostgreSQL advisory lock {LOCK_KEY}")
                    return
                self._standing_by(
                    "another serve process holds the receiving lease (PostgreSQL advisory "
                    f"lock {LOCK_KEY}, held by the session named '{APPLICATION_NAME}' in "
                    "pg_stat_activity); this one serves HTTP and takes over when that one stops"
                )
            await asyncio.sleep(self.interval)

    async def _try_lock(self) -> bool:
        if self._connection is None:
            connection = await self._engine.connect()
            raw = await connection.get_raw_connection()
            self._ended.clear()
            self._driver = raw.driver_connection
            self._driver.add_termination_listener(lambda _connection: self._ended.set())
            self._connection = connection
        return await leader_lock.try_advisory_lock(self._connection, LOCK_KEY)

    async def lost(self) -> str:
        assert self._connection is not None
        connection = self._connection
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._ended.wait()
            if self._ended.is_set():
                reason = "the lock connection was closed by the server"
                break
            try:
                async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                    await leader_lock.ping(connection)
            except Exception as error:
                reason = f"the lock connection failed: {error!r}"
                break
        await self._drop()
        return reason

    async def release(self) -> None:
        """Close the lock connection: the server frees the lock with the session."""
        await self._drop()
        with contextlib.suppress(Exception):
            await self._engine.dispose()

    async def _drop(self) -> None:
        connection, driver = self._connection, self._driver
        self._connection = self._driver = None
        if driver is not None:
            driver.terminate()  # at once, even if the server does not answer
        if connection is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await connection.close()


def lease_for(settings: Settings) -> Lease:
    """The lease that fits the database in the settings."""
    interval = settings.leader_check_seconds
    if not settings.is_sqlite:
        return PostgresLease(settings.database_url, interval)
    database = settings.sqlite_path()
    if database is None:
        return NoLease(interval)
    return FileLease(database.with_name(database.name + ".lock"), database, interval)
