"""Which Baku days a daily job has run for: the catch-up of days missed while nothing ran."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import JobRun


async def last_day(session: AsyncSession, job: str) -> date | None:
    result = await session.execute(select(func.max(JobRun.day)).where(JobRun.job == job))
    return result.scalar_one_or_none()


async def claim(session: AsyncSession, job: str, day: date, now: datetime) -> bool:
    """Record that ``job`` runs for ``day``; False if it ran for it before (or another did)."""
    insert = dialect_insert(session.get_bind().dialect.name)
    done = await session.execute(
        insert(JobRun)
        .values(job=job, day=day, ran_at=now)
        .on_conflict_do_nothing(index_elements=["job", "day"])
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]
