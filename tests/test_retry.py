"""storage.retry: a transaction cut off by a lost connection runs once more, nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from storage.retry import retry_on_disconnect


def lost(invalidated: bool) -> DBAPIError:
    return DBAPIError(
        "COMMIT", {}, ConnectionError("server closed"), connection_invalidated=invalidated
    )


async def test_a_lost_connection_is_retried_once_then_the_error_stands() -> None:
    calls: list[int] = []

    async def work() -> str:
        calls.append(1)
        if len(calls) < 2:
            raise lost(invalidated=True)
        return "stored"

    assert await retry_on_disconnect(work) == "stored"
    assert len(calls) == 2

    async def always_lost() -> str:
        calls.append(1)
        raise lost(invalidated=True)

    calls.clear()
    with pytest.raises(DBAPIError):
        await retry_on_disconnect(always_lost)
    assert len(calls) == 2


async def test_other_database_errors_are_not_retried() -> None:
    calls: list[int] = []

    async def constraint() -> None:
        calls.append(1)
        raise lost(invalidated=False)

    with pytest.raises(DBAPIError):
        await retry_on_disconnect(constraint)
    assert calls == [1]
