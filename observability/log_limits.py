"""Log lines an outsider can cause (a bad token, a forged signature, a malformed request) at
most once per interval per kind, so that nobody can fill the disk by knocking.

The first line of a kind goes out at once; the ones after it within ``every`` seconds are held
back and counted (``azerishiq_log_lines_held_back_total{kind}``); the next line that goes out
says how many were held back since the previous one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from prometheus_client import Counter

from observability import REGISTRY

#: Default interval between two lines of one kind.
EVERY_SECONDS: Final = 60.0

HELD_BACK: Final = Counter(
    "azerishiq_log_lines_held_back",
    "Log lines an outsider could repeat at will (bad tokens, bad signatures, malformed "
    "requests) that were not written because one of the same kind was written shortly before",
    ["kind"],
    registry=REGISTRY,
)


class LogLimit:
    """At most one line per ``every`` seconds for each kind; kinds are the caller's constants,
    never request data, so the state stays as small as the code."""

    def __init__(
        self, every: float = EVERY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every = every
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()  # aiohttp logs from the loop; other threads may too

    def admit(self, kind: str) -> int | None:
        """None to hold this line back; otherwise how many were held back before it."""
        now = self.clock()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.every:
                self._held[kind] = self._held.get(kind, 0) + 1
                HELD_BACK.labels(kind).inc()
                return None
            self._last[kind] = now
            return self._held.pop(kind, 0)

    def log(
        self, logger: logging.Logger, level: int, kind: str, message: str, *args: object
    ) -> None:
        if not logger.isEnabledFor(level):
            return
        held = self.admit(kind)
        if held is None:
            return
        if held:
            message += " (%d more like it held back)"
            args = (*args, held)
        logger.log(level, message, *args)

    def warning(self, logger: logging.Logger, kind: str, message: str, *args: object) -> None:
        self.log(logger, logging.WARNING, kind, message, *args)


class MalformedRequests(logging.Filter):
    """aiohttp logs every request it cannot parse (a bad header byte, a broken request line, a
    body that does not match its Content-Encoding, even one left unread after the answer) at
    ERROR with a traceback, so anyone could grow the log at will. Such a line becomes one
    WARNING without the traceback, at most once per :class:`LogLimit` interval; errors of
    our own handlers (a 500) keep theirs."""

    KIND: Final = "malformed-http-request"

    def __init__(self) -> None:
        super().__init__()
        self.limit = LogLimit()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError | RequestPayloadError):
            return True
        held = self.limit.admit(self.KIND)
        if held is None:
            return False
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "a client"
        cause = error.__cause__ if isinstance(error, RequestPayloadError) else error
        record.msg = "Malformed HTTP request from %s (%s)"
        record.args = (remote, type(cause or error).__name__)
        if held:
            record.msg += " (%d more like it held back)"
            record.args = (*record.args, held)
        if record.levelno > logging.WARNING:  # aiohttp's own DEBUG ones (bad methods) stay
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True


MALFORMED_REQUESTS: Final = MalformedRequests()


def limit_http_server_log() -> None:
    """Install :data:`MALFORMED_REQUESTS` on aiohttp's server logger (idempotent)."""
    server = logging.getLogger("aiohttp.server")
    if MALFORMED_REQUESTS not in server.filters:
        server.addFilter(MALFORMED_REQUESTS)
