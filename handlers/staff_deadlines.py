"""What /staff shows about deadlines: objections close to their answer date, overdue acts.

The bot never disconnects anyone: an act unpaid past its due date is listed here (and by
``GET /api/acts?overdue=true``) for staff to decide.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from delivery.objection_notices import answer_due
from domain.acts import BAKU
from domain.objections import REMIND_DAYS_BEFORE
from handlers.api_models import LIMIT_MAX
from i18n import _, format_date, format_money
from storage import acts, objections
from storage.db import utcnow
from storage.types import AsyncSession

SHOWN: Final = 10


def more(count: int) -> list[str]:
    return [_("+{count} more").format(count=count)] if count > 0 else []


async def lines(session: AsyncSession) -> list[str]:
    today = utcnow().astimezone(BAKU).date()
    due = await objections.unanswered_due_by(session, today + timedelta(days=REMIND_DAYS_BEFORE))
    overdue_acts = await acts.owed_acts(session, today, overdue=True, limit=LIMIT_MAX)
    shown: list[str] = []
    if due:
        shown += ["", _("Objections close to their answer date: {count}").format(count=len(due))]
        for found in due[:SHOWN]:
            day = answer_due(found.objection)
            template = (
                _("• {receipt} (act {number}): overdue since {due}")
                if day < today
                else _("• {receipt} (act {number}): answer by {due}")
            )
            shown.append(
                template.format(
                    receipt=found.objection.receipt_number,
                    number=found.act.number,
                    due=format_date(day),
                )
            )
        shown += more(len(due) - SHOWN)
    if overdue_acts:
        shown += ["", _("Acts unpaid past their due date (staff decide what follows):")]
        for act in overdue_acts[:SHOWN]:
            shown.append(
                _("• {number}: {amount}, due {due}").format(
                    number=act.number,
                    amount=format_money(acts.outstanding(act)),
                    due=format_date(act.due_on),
                )
            )
        shown += more(len(overdue_acts) - SHOWN)
    return shown
