"""Violation acts around the recalculation: what an act records, its lifecycle, its reminders.

Pure: no I/O. The amount itself is :mod:`domain.recalculation`; this module turns what the
inspectors found into :class:`~domain.recalculation.ActFacts`, says which status changes are
allowed (REFERENCE.md §5, items 5.12–5.13: an act stands even unsigned, an objection does not
suspend the duty to pay, unpaid after the due date → disconnection and a court claim), and
which reminder is due on a given day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from domain.recalculation import ActFacts, Recalculation
from domain.transitions import TransitionError

BAKU: Final = ZoneInfo("Asia/Baku")
#: A written complaint is answered within 10 days (EEIQ as amended in 2022; REFERENCE.md §5).
OBJECTION_ANSWER_DAYS: Final = 10
#: Reminders are sent this many days before the due date, then on the day itself.
REMINDER_DAYS_BEFORE: Final = (3, 1)
#: No SMS between these Baku times (the evening start, the morning end).
SMS_QUIET_FROM: Final = time(22, 0)
SMS_QUIET_UNTIL: Final = time(9, 0)


class ViolationType(StrEnum):
    """What the inspectors found (EEIQ item 5.11's list, REFERENCE.md §5)."""

    METER_BYPASS = "meter_bypass"  # the meter is bridged
    SCHEME_CHANGED = "scheme_changed"  # the connection scheme was altered
    METER_DAMAGED = "meter_damaged"
    SEALS_BROKEN = "seals_broken"
    METER_STOPPED = "meter_stopped"  # a stopped disc or display
    HIDDEN_LINE = "hidden_line"  # a hidden line bypassing the meter


class LoadKind(StrEnum):
    LIGHTING = "lighting"
    SOCKETS = "sockets"  # ordinary sockets: 600 W under item 5.11 whatever their number
    APPLIANCE = "appliance"  # one appliance (heater, air conditioner…) with its own power


@dataclass(frozen=True, slots=True)
class Load:
    kind: LoadKind
    power_w: Decimal
    description: str = ""


def act_facts(
    *,
    violation: ViolationType,
    loads: tuple[Load, ...],
    detected_on: date,
    last_inspection_on: date,
    issued_on: date,
    latitude: float,
    account_opened_on: date | None = None,
    already_billed_kwh: Decimal | None = None,
    registered_on: date | None = None,
) -> ActFacts:
    """The engine's input from the act's findings; each rule set takes what it counts.

    Item 5.11 counts lighting, sockets (one allowance) and appliances; item 8.17 counts every
    connected receiver, so there the powers of all loads found are added up.
    """
    lighting = sum((load.power_w for load in loads if load.kind == LoadKind.LIGHTING), Decimal(0))
    return ActFacts(
        detected_on=detected_on,
        last_inspection_on=last_inspection_on,
        issued_on=issued_on,
        latitude=latitude,
        account_opened_on=account_opened_on,
        hidden_line=violation == ViolationType.HIDDEN_LINE,
        lighting_load_w=lighting,
        sockets_found=any(load.kind == LoadKind.SOCKETS for load in loads),
        appliances_w=tuple(load.power_w for load in loads if load.kind == LoadKind.APPLIANCE),
        connected_receivers_w=sum((load.power_w for load in loads), Decimal(0)),
        already_billed_kwh=already_billed_kwh,
        registered_on=registered_on,
    )


# --------------------------------------------------------------------------- lifecycle


class ActStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    DISCONNECTED = "disconnected"
    COURT = "court"
    CANCELLED = "cancelled"


FINAL: Final = frozenset({ActStatus.PAID, ActStatus.CANCELLED})
#: Steps taken only once the payment deadline has passed (item 5.13).
AFTER_DUE_DATE: Final = frozenset({ActStatus.DISCONNECTED, ActStatus.COURT})
_TARGETS: Final[dict[ActStatus, frozenset[ActStatus]]] = {
    ActStatus.OPEN: frozenset(
        {ActStatus.PAID, ActStatus.DISCONNECTED, ActStatus.COURT, ActStatus.CANCELLED}
    ),
    ActStatus.DISCONNECTED: frozenset({ActStatus.PAID, ActStatus.COURT, ActStatus.CANCELLED}),
    ActStatus.COURT: frozenset({ActStatus.PAID, ActStatus.CANCELLED}),
    ActStatus.PAID: frozenset(),
    ActStatus.CANCELLED: frozenset(),
}


def parse_act_status(value: str) -> ActStatus | None:
    try:
        return ActStatus(value.strip().lower())
    except ValueError:
        return None


def allowed_act_targets(current: ActStatus) -> frozenset[ActStatus]:
    return _TARGETS[current]


def check_act_transition(
    current: ActStatus, target: str, *, today: date, due_on: date
) -> ActStatus:
    """The target if allowed on ``today``; otherwise :class:`TransitionError`."""
    status = parse_act_status(target)
    if status is None:
        raise TransitionError("unknown_status", current, target)
    if status == current:
        raise TransitionError("same_status", current, target)
    if current in FINAL:
        raise TransitionError("final", current, target)
    if status not in _TARGETS[current]:
        raise TransitionError("illegal", current, target)
    if status in AFTER_DUE_DATE and today <= due_on:
        raise TransitionError("before_due_date", current, target)
    return status


def days_left(due_on: date, today: date) -> int:
    """Days until the due date (0 on the day, negative once overdue)."""
    return (due_on - today).days


# --------------------------------------------------------------------------- reminders


class Reminder(StrEnum):
    REGISTERED = "registered"
    DUE_IN_3_DAYS = "due_in_3_days"
    DUE_IN_1_DAY = "due_in_1_day"
    DUE_TODAY = "due_today"


_BY_DAYS_LEFT: Final[dict[int, Reminder]] = {
    3: Reminder.DUE_IN_3_DAYS,
    1: Reminder.DUE_IN_1_DAY,
    0: Reminder.DUE_TODAY,
}


def reminder_on(due_on: date, today: date) -> Reminder | None:
    """The deadline reminder due on ``today`` (Baku date), if any."""
    return _BY_DAYS_LEFT.get(days_left(due_on, today))


def reminder_days(today: date) -> dict[date, Reminder]:
    """The due dates that get a reminder on ``today``, and which."""
    return {today + timedelta(days=days): reminder for days, reminder in _BY_DAYS_LEFT.items()}


def sms_allowed_from(moment: datetime) -> datetime:
    """``moment`` itself, or the end of the night's quiet hours (09:00 Baku) if inside them."""
    local = moment.astimezone(BAKU)
    clock = local.time()
    if SMS_QUIET_UNTIL <= clock < SMS_QUIET_FROM:
        return moment
    morning = local.date() + timedelta(days=1 if clock >= SMS_QUIET_FROM else 0)
    return datetime.combine(morning, SMS_QUIET_UNTIL, tzinfo=BAKU).astimezone(moment.tzinfo)


def objection_answer_due(filed_on: date) -> date:
    return filed_on + timedelta(days=OBJECTION_ANSWER_DAYS)


# --------------------------------------------------------------------------- stored form


def calculation_record(calc: Recalculation, *, latitude: float) -> dict[str, Any]:
    """The recalculation as plain JSON (decimals and dates as strings), kept with the act."""
    return {
        "rule_set": calc.rule_set_id,
        "references": list(calc.references),
        "latitude": latitude,
        "period_start": calc.period_start.isoformat(),
        "period_end": calc.period_end.isoformat(),
        "days": calc.days,
        "capped_by": list(calc.capped_by),
        "burning_hours": None if calc.burning_hours is None else str(calc.burning_hours),
        "lighting_kwh": str(calc.lighting_kwh),
        "sockets_kwh": str(calc.sockets_kwh),
        "appliances_kwh": str(calc.appliances_kwh),
        "receivers_kwh": str(calc.receivers_kwh),
        "kwh": str(calc.kwh),
        "already_billed_kwh": str(calc.already_billed_kwh),
        "months": [
            {
                "month": line.month.isoformat()[:7],
                "days": line.days,
                "kwh": str(line.kwh),
                "billed_kwh": str(line.billed_kwh),
                "tariff": line.tariff_id,
                "tiers": [
                    {
                        "from_kwh": str(tier.from_kwh),
                        "to_kwh": None if tier.to_kwh is None else str(tier.to_kwh),
                        "rate_qepik": str(tier.rate_qepik),
                        "kwh": str(tier.kwh),
                    }
                    for tier in line.tiers
                ],
                "amount": str(line.amount),
                "billed_amount": str(line.billed_amount),
                "due": str(line.due),
            }
            for line in calc.months
        ],
        "total": str(calc.total),
        "due_on": calc.due_on.isoformat(),
        "estimate": calc.estimate,
    }
