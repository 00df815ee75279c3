"""A lost database connection: a transaction runs once more (storage.retry), a job waits for
its next tick (handlers.errors); nothing else is retried or hidden."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy.exc import DBAPIError

from chat.context import BotContext
from handlers.errors import on_error
from storage.retry import is_connection_lost, retry_on_disconnect


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


async def test_a_job_cut_by_a_lost_connection_is_a_warning_other_errors_stay_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for error in (lost(invalidated=True), lost(invalidated=False), RuntimeError("a bug")):
        context = cast(BotContext, SimpleNamespace(error=error))
        with caplog.at_level(logging.WARNING, logger="handlers.errors"):
            await on_error(None, context)
    assert [record.levelname for record in caplog.records] == ["WARNING", "ERROR", "ERROR"]


class TerminatedBackend(Exception):
    sqlstate = "57P01"  # asyncpg's AdminShutdownError, as SQLAlchemy's adapter exposes it


class UniqueViolation(Exception):
    sqlstate = "23505"


async def test_a_terminated_backend_counts_as_lost_before_the_driver_saw_the_socket_close() -> None:
    """asyncpg may raise the server's FATAL 57P01 while the connection still looks open, so
    SQLAlchemy leaves ``connection_invalidated`` False: the SQLSTATE decides."""
    terminated = DBAPIError("COMMIT", {}, TerminatedBackend("terminating connection"))
    assert not terminated.connection_invalidated
    assert is_connection_lost(terminated)
    assert is_connection_lost(
        DBAPIError("SELECT", {}, ConnectionError(), connection_invalidated=True)
    )
    assert not is_connection_lost(DBAPIError("INSERT", {}, UniqueViolation("duplicate key")))
    assert not is_connection_lost(RuntimeError("a bug"))

    calls: list[int] = []

    async def work() -> str:
        calls.append(1)
        if len(calls) < 2:
            raise terminated
        return "stored"

    assert await retry_on_disconnect(work) == "stored"
