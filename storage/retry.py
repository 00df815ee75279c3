"""Run a database write again when its connection died under it.

The pool's pre-ping replaces a connection that died while idle (PostgreSQL restarted, a
failover, an administrator terminating backends), but one that dies in the middle of a
transaction still fails that transaction. Running it once more on a fresh connection is right
only when running it twice is harmless:

* it is idempotent: an upsert of the same values, an insert guarded by a unique key. A COMMIT
  cut off may have committed, so the second run may find the first one's rows;
* nothing outside the database happened in it (no message sent, no HTTP call made).

So this wraps one transaction, never a whole handler that also talks to the citizen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

__all__ = ["retry_on_disconnect"]

log = logging.getLogger(__name__)

T = TypeVar("T")


async def retry_on_disconnect(work: Callable[[], Awaitable[T]], *, retries: int = 1) -> T:
    """``await work()``; again (up to ``retries`` times) if it failed on a dead connection.

    Other errors, and a disconnect on the last attempt, propagate unchanged.
    """
    for _ in range(retries):
        try:
            return await work()
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            log.warning("database connection lost (%s); trying once more", type(error).__name__)
    return await work()
