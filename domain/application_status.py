"""The lifecycle of a connection application: which status may follow which.

Registered → under review → technical conditions → payment pending → paid → installation →
connected. Rejection (with a reason) is possible from every open status; the citizen may
withdraw only before paying. Within 400 m of a power centre no technical conditions are
needed (REFERENCE.md §3), so *under review* may go straight to *payment pending*. A connection
whose fee is 0 (``free``: 1 phase in the liberated territories from 2026) has nothing to pay: it
skips *payment pending* and goes on as *paid*.
"""

from __future__ import annotations

import calendar
from datetime import date
from enum import StrEnum
from typing import Final

from domain.transitions import TransitionError


class ApplicationStatus(StrEnum):
    REGISTERED = "registered"  # Qeydə alındı
    UNDER_REVIEW = "under_review"  # Baxılır
    CONDITIONS_IN_PREPARATION = "conditions_in_preparation"  # Texniki şərtlər hazırlanır
    PAYMENT_PENDING = "payment_pending"  # Ödəniş gözlənilir
    PAID = "paid"  # Ödənilib
    INSTALLATION = "installation"  # Quraşdırma işləri
    CONNECTED = "connected"  # Qoşuldu
    REJECTED = "rejected"  # Rədd edildi
    WITHDRAWN = "withdrawn"  # Ləğv edildi


S = ApplicationStatus

FINAL: Final = frozenset({S.CONNECTED, S.REJECTED, S.WITHDRAWN})
WITHDRAWABLE: Final = frozenset(
    {S.REGISTERED, S.UNDER_REVIEW, S.CONDITIONS_IN_PREPARATION, S.PAYMENT_PENDING}
)
FORWARD: Final[dict[ApplicationStatus, tuple[ApplicationStatus, ...]]] = {
    S.REGISTERED: (S.UNDER_REVIEW,),
    S.UNDER_REVIEW: (S.CONDITIONS_IN_PREPARATION, S.PAYMENT_PENDING),
    S.CONDITIONS_IN_PREPARATION: (S.PAYMENT_PENDING,),
    S.PAYMENT_PENDING: (S.PAID,),
    S.PAID: (S.INSTALLATION,),
    S.INSTALLATION: (S.CONNECTED,),
}
# The fee must be paid within a month of the project (REFERENCE.md §3); then apply again.
PAYMENT_VALID_MONTHS: Final = 1
COMMENT_MAX: Final = 1000


#: Why a change is refused (:class:`~domain.transitions.TransitionError`'s ``reason``).
REFUSAL_REASONS: Final = ("unknown_status", "same_status", "final", "illegal",
                          "reason_required", "too_long", "changed_meanwhile")  # fmt: skip


def parse_status(value: str) -> ApplicationStatus | None:
    try:
        return ApplicationStatus(value)
    except ValueError:
        return None


def allowed_targets(
    current: ApplicationStatus, *, free: bool = False
) -> tuple[ApplicationStatus, ...]:
    """Every status ``current`` may change to, in the order staff see them; for a ``free``
    connection *paid* takes the place of *payment pending*."""
    if current in FINAL:
        return ()
    forward = FORWARD.get(current, ())
    if free:
        forward = tuple(dict.fromkeys(S.PAID if t == S.PAYMENT_PENDING else t for t in forward))
    targets = [*forward, S.REJECTED]
    if current in WITHDRAWABLE:
        targets.append(S.WITHDRAWN)
    return tuple(targets)


def check_transition(
    current: ApplicationStatus, target: str, *, comment: str | None, free: bool = False
) -> ApplicationStatus:
    """The target status if the change is allowed; TransitionError otherwise.

    For a ``free`` connection *payment pending* means *paid*: nobody is asked to pay 0.
    """
    status = parse_status(target)
    if status is None:
        raise TransitionError("unknown_status", current, target)
    if free and status == S.PAYMENT_PENDING:
        status = S.PAID
    if status == current:
        raise TransitionError("same_status", current, target)
    if current in FINAL:
        raise TransitionError("final", current, target)
    if status not in allowed_targets(current, free=free):
        raise TransitionError("illegal", current, target)
    if comment is not None and len(comment) > COMMENT_MAX:
        raise TransitionError("too_long", current, target)
    if status == S.REJECTED and not (comment or "").strip():
        raise TransitionError("reason_required", current, target)
    return status


def can_withdraw(current: ApplicationStatus) -> bool:
    return current in WITHDRAWABLE


def payment_deadline(payable_since: date) -> date:
    """The last day to pay: one calendar month later (31 Jan → 28/29 Feb)."""
    month = payable_since.month - 1 + PAYMENT_VALID_MONTHS
    year = payable_since.year + month // 12
    month = month % 12 + 1
    day = min(payable_since.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)
