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

__all__ = ["is_connection_lost", "retry_on_disconnect"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: SQLSTATEs of a session the server ended: an administrator or a failover terminated the
#: backend, the server crashed, or it is shutting down (class 08, connection exceptions, too).
_SESSION_ENDED = frozenset({"57P01", "57P02", "57P03"})


def is_connection_lost(error: object) -> bool:
    """Did this error come from a database connection that died, not from the statement?

    SQLAlchemy marks ``connection_invalidated`` when the driver has already seen the socket
    close; asyncpg may raise the server's "terminating connection" (57P01,
    ``AdminShutdownError``) a moment before it sees that, so the SQLSTATE counts too.
    """
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", None)
    return isinstance(state, str) and (state.startswith("08") or state in _SESSION_ENDED)


async def retry_on_disconnect(work: Callable[[], Awaitable[T]], *, retries: int = 1) -> T:
    """``await work()``; again (up to ``retries`` times) if it failed on a dead connection.

    Other errors, and a disconnect on the last attempt, propagate unchanged.
    """
    for _ in range(retries):
        try:
            return await work()
        except DBAPIError as error:
            if not is_connection_lost(error):
                raise
            log.warning("database connection lost (%s); trying once more", type(error).__name__)
    return await work()
