"""An objection's lifecycle: received → answered (upheld, partly upheld, rejected); overdue when
its answer date (10 days, REFERENCE.md §5) has passed unanswered.

Pure: the state is computed from what is stored (the filing day, the answer), never stored
itself, so it cannot go stale.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Final

from domain.acts import objection_answer_due

#: Staff are reminded of an unanswered objection this many days before its answer date.
REMIND_DAYS_BEFORE: Final = 2
ANSWER_MIN: Final = 10
ANSWER_MAX: Final = 2000


class Outcome(StrEnum):
    UPHELD = "upheld"  # Təmin edildi
    PARTLY_UPHELD = "partly_upheld"  # Qismən təmin edildi
    REJECTED = "rejected"  # Rədd edildi


class ObjectionState(StrEnum):
    RECEIVED = "received"
    OVERDUE = "overdue"
    ANSWERED = "answered"


class ActAction(StrEnum):
    """What an upheld objection may do to its act in the same step."""

    CANCEL = "cancel"
    RECOMPUTE = "recompute"  # a new, lower amount


#: Which outcomes allow which act actions: a rejected objection leaves the act as it is.
ACTIONS_ALLOWED: Final[dict[Outcome, frozenset[ActAction]]] = {
    Outcome.UPHELD: frozenset({ActAction.CANCEL, ActAction.RECOMPUTE}),
    Outcome.PARTLY_UPHELD: frozenset({ActAction.RECOMPUTE}),
    Outcome.REJECTED: frozenset(),
}


def objection_state(filed_on: date, answered: bool, today: date) -> ObjectionState:
    if answered:
        return ObjectionState.ANSWERED
    if today > objection_answer_due(filed_on):
        return ObjectionState.OVERDUE
    return ObjectionState.RECEIVED


def reminder_due(filed_on: date, today: date) -> bool:
    """Unanswered and within :data:`REMIND_DAYS_BEFORE` of the answer date (or past it)."""
    return (objection_answer_due(filed_on) - today).days <= REMIND_DAYS_BEFORE
