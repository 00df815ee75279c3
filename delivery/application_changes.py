"""A status change of an application together with its notices, in one transaction.

``storage.status_changes.record_change`` writes the status and the history row; the notices to
the citizen are queued here in the same session, so the caller's commit keeps both or neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from delivery import notices
from storage import status_changes
from storage.models import Application, ApplicationStatusChange
from storage.types import AsyncSession


@dataclass(frozen=True, slots=True)
class Change:
    application: Application
    change: ApplicationStatusChange
    queued: int  # notices queued (one per channel of the citizen)


async def change_status(
    session: AsyncSession,
    number: str,
    target: str,
    *,
    actor: str,
    comment: str | None = None,
    now: datetime | None = None,
    notify_telegram: bool = True,
) -> Change:
    """Apply a status change and queue its notices in the caller's transaction (it commits).

    Raises ``status_changes.ApplicationNotFound``, or domain TransitionError for a change the
    lifecycle refuses. ``notify_telegram=False`` when the citizen made the change in the chat
    and saw the answer.
    """
    done = await status_changes.record_change(
        session, number, target, actor=actor, comment=comment, now=now
    )
    queued = await notices.queue_status_changed(
        session, done.application, done.citizen, done.change, telegram=notify_telegram
    )
    return Change(done.application, done.change, queued)
