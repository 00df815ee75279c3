"""Moving an application to a new status: the status and its history row.

The notices that go with a change are queued by ``delivery.application_changes``, in the same
transaction (storage knows nothing of delivery).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.application_status import ApplicationStatus, check_transition
from domain.transitions import TransitionError
from storage.db import utcnow
from storage.models import Application, ApplicationStatusChange, Citizen


class ApplicationNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Recorded:
    application: Application
    change: ApplicationStatusChange
    citizen: Citizen


async def by_number(
    session: AsyncSession, number: str, *, for_update: bool = False
) -> Application | None:
    query = select(Application).where(Application.number == number.strip().upper())
    if for_update:
        query = query.with_for_update()  # PostgreSQL: serialise concurrent changes
    return (await session.execute(query)).scalar_one_or_none()


async def history(session: AsyncSession, application_id: int) -> Sequence[ApplicationStatusChange]:
    rows = await session.execute(
        select(ApplicationStatusChange)
        .where(ApplicationStatusChange.application_id == application_id)
        .order_by(ApplicationStatusChange.changed_at, ApplicationStatusChange.id)
    )
    return rows.scalars().all()


async def in_status_since_before(
    session: AsyncSession, status: ApplicationStatus, before: datetime
) -> list[tuple[str, datetime]]:
    """(number, status_changed_at) of the applications in ``status`` since before ``before``."""
    rows = await session.execute(
        select(Application.number, Application.status_changed_at).where(
            Application.status == status, Application.status_changed_at < before
        )
    )
    return [(number, since) for number, since in rows.all()]


async def record_change(
    session: AsyncSession,
    number: str,
    target: str,
    *,
    actor: str,
    comment: str | None = None,
    now: datetime | None = None,
) -> Recorded:
    """Apply a status change in the caller's transaction (the caller commits); no notices.

    Raises ApplicationNotFound, or domain TransitionError for a change the lifecycle refuses.
    Use ``delivery.application_changes.change_status``, which also queues the notices.
    """
    application = await by_number(session, number, for_update=True)
    if application is None:
        raise ApplicationNotFound(number)
    comment = comment.strip() if comment and comment.strip() else None
    current = ApplicationStatus(application.status)
    status = check_transition(current, target, comment=comment, free=application.free)
    moment = now or utcnow()
    # Conditional on the status read above: of two concurrent changes (SQLite has no row
    # locks) only one wins; the other is refused instead of writing a second history row.
    moved = await session.execute(
        update(Application)
        .where(Application.id == application.id, Application.status == current)
        .values(status=status, status_changed_at=moment)
    )  # the ORM applies the new values to `application` too (no second read)
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise TransitionError("changed_meanwhile", current, target)
    change = ApplicationStatusChange(
        application_id=application.id,
        from_status=current,
        to_status=status,
        actor=actor[:64],
        comment=comment,
        changed_at=moment,
    )
    session.add(change)
    await session.flush()
    citizen = await session.get(Citizen, application.citizen_id)
    assert citizen is not None
    return Recorded(application, change, citizen)
