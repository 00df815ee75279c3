"""The application lifecycle: every legal step, every refusal, the payment deadline."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from domain.application_status import (
    ApplicationStatus as S,
)
from domain.application_status import (
    allowed_targets,
    can_withdraw,
    check_transition,
    payment_deadline,
)
from domain.transitions import TransitionError

HAPPY_PATH = [
    S.REGISTERED, S.UNDER_REVIEW, S.CONDITIONS_IN_PREPARATION, S.PAYMENT_PENDING, S.PAID,
    S.INSTALLATION, S.CONNECTED,
]  # fmt: skip


def test_the_happy_path_is_allowed_step_by_step() -> None:
    for current, target in itertools.pairwise(HAPPY_PATH):
        assert check_transition(current, target, comment=None) == target


def test_within_400_m_review_may_go_straight_to_payment() -> None:
    assert check_transition(S.UNDER_REVIEW, "payment_pending", comment=None) == S.PAYMENT_PENDING


@pytest.mark.parametrize("current", HAPPY_PATH[:-1])
def test_rejection_from_every_open_status_needs_a_reason(current: S) -> None:
    with pytest.raises(TransitionError) as refused:
        check_transition(current, "rejected", comment="  ")
    assert refused.value.reason == "reason_required"
    assert check_transition(current, "rejected", comment="Sənədlər natamamdır") == S.REJECTED


def test_withdrawal_only_before_payment() -> None:
    assert [s for s in S if can_withdraw(s)] == [
        S.REGISTERED, S.UNDER_REVIEW, S.CONDITIONS_IN_PREPARATION, S.PAYMENT_PENDING,
    ]  # fmt: skip
    assert check_transition(S.PAYMENT_PENDING, "withdrawn", comment=None) == S.WITHDRAWN
    with pytest.raises(TransitionError) as refused:
        check_transition(S.PAID, "withdrawn", comment=None)
    assert refused.value.reason == "illegal"


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        (S.REGISTERED, "connected", "illegal"),
        (S.REGISTERED, "paid", "illegal"),
        (S.PAID, "under_review", "illegal"),
        (S.REGISTERED, "registered", "same_status"),
        (S.CONNECTED, "rejected", "final"),
        (S.REJECTED, "under_review", "final"),
        (S.WITHDRAWN, "registered", "final"),
        (S.REGISTERED, "approved", "unknown_status"),
        (S.REGISTERED, "", "unknown_status"),
    ],
)
def test_illegal_changes_are_refused_with_a_reason(current: S, target: str, reason: str) -> None:
    with pytest.raises(TransitionError) as refused:
        check_transition(current, target, comment="x")
    assert refused.value.reason == reason
    assert refused.value.current == current and refused.value.target == target


def test_a_comment_has_a_limit() -> None:
    with pytest.raises(TransitionError) as refused:
        check_transition(S.REGISTERED, "under_review", comment="x" * 1001)
    assert refused.value.reason == "too_long"


def test_allowed_targets_match_check_transition() -> None:
    for current in S:
        for target in S:
            allowed = target in allowed_targets(current)
            try:
                check_transition(current, target, comment="reason")
            except TransitionError:
                assert not allowed, (current, target)
            else:
                assert allowed, (current, target)
    assert allowed_targets(S.CONNECTED) == ()


@pytest.mark.parametrize(
    ("since", "deadline"),
    [
        (date(2026, 3, 15), date(2026, 4, 15)),
        (date(2026, 1, 31), date(2026, 2, 28)),
        (date(2028, 1, 31), date(2028, 2, 29)),
        (date(2026, 12, 10), date(2027, 1, 10)),
    ],
)
def test_the_fee_is_payable_for_one_calendar_month(since: date, deadline: date) -> None:
    assert payment_deadline(since) == deadline


def test_a_free_connection_skips_payment_pending() -> None:
    """Fee 0 (1 phase in Şuşa under the 2026 rule): nobody is asked to pay 0,00."""
    for current in (S.UNDER_REVIEW, S.CONDITIONS_IN_PREPARATION):
        assert S.PAYMENT_PENDING not in allowed_targets(current, free=True)
        assert S.PAID in allowed_targets(current, free=True)
        assert check_transition(current, "payment_pending", comment=None, free=True) == S.PAID
        assert check_transition(current, "paid", comment=None, free=True) == S.PAID
        with pytest.raises(TransitionError):
            check_transition(current, "paid", comment=None)  # with a fee: pay first
    assert allowed_targets(S.REGISTERED, free=True) == allowed_targets(S.REGISTERED)
