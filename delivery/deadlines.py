"""Deadlines that act, once a Baku day, on the leader: caught up once after a pause.

- An application left in *payment pending* past its payment deadline is closed, and the
  citizen told to apply again.
- Staff are reminded once of an objection close to its answer date.
- Act payment reminders whose day passed while no process ran go out late, once, unless the
  act is past due or gets today's reminder anyway.

One transaction claims the day in ``job_runs`` and does the day's work: a second run (another
sweep, another process, a restart) finds the day claimed; a run that fails claims nothing and
the next sweep tries again. Acts unpaid past their due date are only listed for staff
(handlers/staff_deadlines.py): the bot never disconnects anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from delivery import act_notices, application_changes, objection_notices
from delivery.notices import DEADLINE_ACTOR, DEADLINE_COMMENT, baku_day
from domain.acts import BAKU, reminder_days
from domain.application_status import ApplicationStatus, payment_deadline
from domain.transitions import TransitionError
from storage import acts, job_runs, objections, status_changes
from storage.types import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

JOB: Final = "deadlines"
SWEEP_EVERY: Final = timedelta(minutes=10)
FIRST_RUN: Final = timedelta(seconds=20)
#: Missed reminder days further back than this are not caught up (their acts are past due).
CATCH_UP_DAYS: Final = 14


@dataclass(frozen=True, slots=True)
class DayRun:
    ran: bool  # False: this day was done before
    closed: int = 0
    staff_reminders: int = 0
    late_reminders: int = 0


async def run_day(
    sessions: async_sessionmaker[AsyncSession], now: datetime, staff_ids: Iterable[int]
) -> DayRun:
    today = now.astimezone(BAKU).date()
    async with sessions.begin() as session:
        last = await job_runs.last_day(session, JOB)
        if not await job_runs.claim(session, JOB, today, now):
            return DayRun(ran=False)
        closed = await close_expired_applications(session, today, now)
        reminded = await remind_staff(session, today, now, staff_ids)
        late = await catch_up_reminders(session, last, today, now) if last else 0
    if closed or reminded or late:
        log.info("deadlines %s: %d closed, %d staff reminders, %d late", today, closed, reminded,
                 late)  # fmt: skip
    return DayRun(True, closed, reminded, late)


async def close_expired_applications(session: AsyncSession, today: date, now: datetime) -> int:
    """Close each application still waiting for payment after its last day to pay."""
    # A month is at most 31 days: anything changed since then cannot have expired yet.
    waiting = await status_changes.in_status_since_before(
        session, ApplicationStatus.PAYMENT_PENDING, now - timedelta(days=27)
    )
    closed = 0
    for number, since in waiting:
        if payment_deadline(baku_day(since)) >= today:
            continue
        try:
            async with session.begin_nested():
                await application_changes.change_status(
                    session, number, ApplicationStatus.REJECTED, actor=DEADLINE_ACTOR,
                    comment=DEADLINE_COMMENT, now=now,
                )  # fmt: skip
            closed += 1
        except TransitionError:  # changed meanwhile (paid a moment ago): leave it
            continue
    return closed


async def remind_staff(
    session: AsyncSession, today: date, now: datetime, staff_ids: Iterable[int]
) -> int:
    queued = 0
    for found in await objections.to_remind(session, today):
        if await objections.mark_reminded(session, found.objection, now):
            queued += await objection_notices.queue_staff_reminder(
                session, found.objection, found.act, staff_ids=staff_ids, today=today
            )
    return queued


async def catch_up_reminders(session: AsyncSession, last: date, today: date, now: datetime) -> int:
    """The payment reminders of the days after ``last`` and before ``today``, late and once."""
    first = max(last + timedelta(days=1), today - timedelta(days=CATCH_UP_DAYS))
    today_due = reminder_days(today)
    queued = 0
    day = first
    while day < today:
        due = reminder_days(day)
        for act in await acts.open_acts_due_on(session, due):
            if act.due_on < today or act.due_on in today_due:
                continue  # past due (staff's list), or today's own reminder covers it
            queued += await act_notices.queue_reminder(
                session, act, due[act.due_on], now=now, late=True
            )
        day += timedelta(days=1)
    return queued
