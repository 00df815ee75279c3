"""Stopping within a deadline, whatever does not answer.

SIGTERM or SIGINT starts one deadline for the whole stop (``STOP_TIMEOUT_SECONDS``, 8 s by
default). Each step of the stop (stop receiving and finish the updates in hand, release the
lease, stop the dispatcher, close the HTTP server, close the database) gets a share of it and
is *abandoned* (cancelled and not waited for) when its share is used up: a Bot API server or a
database that does not answer cannot hold the process, and the steps after it still run.
Should anything still hold the process at the deadline (a cleanup that ignores cancellation, a
thread the interpreter waits for), a watchdog thread logs it and ends the process (exit code 1).
A second signal ends the process at once.

A signal during start-up (waiting for the lease, or for a Bot API server that does not answer)
cancels the step in progress: :meth:`GracefulStop.race` raises :class:`StopRequested`, and the
steps already started are stopped as above.

These are process entry points' tools: the watchdog ends the whole process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any, TypeVar

__all__ = ["GracefulStop", "StopRequested", "bounded_step"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Kept free at the end of the deadline for the event loop and the interpreter to close.
RESERVE_SHARE = 0.1
RESERVE_MAX_SECONDS = 1.0
#: Exit code when the watchdog (or a failed step-down) ends the process.
EXIT_STUCK = 1


class StopRequested(Exception):
    """A stop signal came while starting (or waiting for the lease)."""


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Done callback of an abandoned task: its end is nobody's business any more (and must not
    be logged by asyncio as "exception was never retrieved")."""
    if not task.cancelled():
        task.exception()


async def bounded_step(name: str, step: Awaitable[object], seconds: float) -> bool:
    """Run ``step`` for at most ``seconds``; False if it was abandoned (cancelled, not waited
    for). Its errors are logged: a step of a stop must not stop the steps after it."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=max(0.0, seconds))
    if not done:
        task.cancel()
        task.add_done_callback(_retrieve)
        log.warning("stop: %s did not finish within %.1f s; left behind", name, seconds)
        return False
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("stop: %s failed: %r", name, error)
    return True


class GracefulStop:
    """The stop signal, its deadline, and steps bounded by it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.requested = asyncio.Event()
        self.abandoned: list[str] = []
        self._deadline: float | None = None
        self._on_request: list[Callable[[], object]] = []

    # ----------------------------------------------------------------- the signal

    @contextmanager
    def signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM request the stop while inside the block."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request, signum)
        try:
            yield
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    def request(self, signum: int | None = None) -> None:
        """Start the stop: the deadline begins, the watchdog is armed, callbacks run."""
        name = signal.Signals(signum).name if signum is not None else "a stop request"
        if self.requested.is_set():
            self.exit_now(f"{name} again while stopping")
        self._deadline = time.monotonic() + self.timeout
        self.requested.set()
        log.info("%s: stopping (at most %.0f s)", name, self.timeout)
        watchdog = threading.Timer(self.timeout, self._stuck)
        watchdog.daemon = True
        watchdog.start()
        for callback in self._on_request:
            callback()

    def on_request(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` as soon as the stop is requested (or now, if it was)."""
        self._on_request.append(callback)
        if self.requested.is_set():
            callback()

    async def wait(self) -> None:
        await self.requested.wait()

    def remaining(self) -> float:
        """Seconds left for the stop's steps (the reserve kept back); infinite before a stop."""
        if self._deadline is None:
            return float("inf")
        reserve = min(RESERVE_MAX_SECONDS, RESERVE_SHARE * self.timeout)
        return max(0.0, self._deadline - reserve - time.monotonic())

    def _stuck(self) -> None:
        pending = ", ".join(self.abandoned) or "the interpreter's exit"
        self.exit_now(f"did not stop within {self.timeout:.0f} s (left behind: {pending})")

    @staticmethod
    def exit_now(reason: str) -> None:
        """Log why and end the process at once (no cleanup: it is what did not finish)."""
        log.error("%s; exiting now", reason)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        os._exit(EXIT_STUCK)

    # ----------------------------------------------------------------- bounded steps

    def bound(self, share: float, unhurried: float | None = None) -> float:
        """How long a step with this share of the deadline may take now; ``unhurried``: how
        long it may take when no stop was requested (a step-down, say), if not its share."""
        if self._deadline is None and unhurried is not None:
            return unhurried
        return min(share * self.timeout, self.remaining())

    async def race(self, step: Awaitable[T], name: str = "starting") -> T:
        """``await step``, unless the stop is requested first: then cancel it (waiting for it
        a bounded time) and raise :class:`StopRequested`."""
        task = asyncio.ensure_future(step)
        if not self.requested.is_set():
            stopping = asyncio.ensure_future(self.requested.wait())
            try:
                await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                task.cancel()
                raise
            finally:
                stopping.cancel()
        if task.done():
            return task.result()
        task.cancel()
        await self.within(name, task, self.bound(0.1))  # its clean-up, for a bounded time
        raise StopRequested(name)

    async def within(self, name: str, step: Awaitable[object], seconds: float) -> bool:
        """:func:`bounded_step`, remembering what was left behind (the watchdog names it)."""
        if await bounded_step(name, step, seconds):
            return True
        self.abandoned.append(name)
        return False

    @asynccontextmanager
    async def bounded(
        self,
        name: str,
        resource: AbstractAsyncContextManager[T],
        share: float,
        unhurried: float | None = None,
    ) -> AsyncIterator[T]:
        """Enter ``resource`` (unless the stop comes first); leave it within :meth:`bound`."""
        value = await self.race(resource.__aenter__(), name)
        try:
            yield value
        finally:
            # The resource is left as on a normal exit: what ended the block is ours to raise.
            exit_ = resource.__aexit__(None, None, None)
            await self.within(name, exit_, self.bound(share, unhurried))
