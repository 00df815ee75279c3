"""Payment reminders for violation acts: 3 days and 1 day before the due date, and on it.

A sweep looks at the Baku date, finds the open (unpaid, not cancelled) acts whose due date is
3, 1 or 0 days away and queues that reminder. The outbox's idempotency keys make a reminder
go out once however often the sweep runs and however many processes run it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final

from delivery import act_notices
from domain.acts import BAKU, reminder_days
from storage import acts
from storage.types import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

SWEEP_EVERY: Final = timedelta(minutes=10)


async def queue_due_reminders(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Queue today's reminders (Baku date of ``now``); returns how many messages were new."""
    due = reminder_days(now.astimezone(BAKU).date())
    queued = 0
    async with sessions.begin() as session:
        for act in await acts.open_acts_due_on(session, due):
            queued += await act_notices.queue_reminder(session, act, due[act.due_on], now=now)
    if queued:
        log.info("acts: %d reminder messages queued", queued)
    return queued
