"""Violation acts around the recalculation: findings → engine input, lifecycle, reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.acts import (
    BAKU,
    ActStatus,
    Load,
    LoadKind,
    Reminder,
    ViolationType,
    act_facts,
    calculation_record,
    check_act_transition,
    days_left,
    objection_answer_due,
    reminder_days,
    reminder_on,
    sms_allowed_from,
)
from domain.identifiers import IdentifierError, parse_subscriber_code
from domain.recalculation import ActFacts, recalculate
from domain.transitions import TransitionError

LOADS = (
    Load(LoadKind.LIGHTING, Decimal(300)),
    Load(LoadKind.SOCKETS, Decimal(600)),
    Load(LoadKind.APPLIANCE, Decimal(2000), "heater"),
    Load(LoadKind.APPLIANCE, Decimal(500), "fridge"),
)


def facts(violation: ViolationType = ViolationType.METER_BYPASS, **changes: object) -> ActFacts:
    values: dict[str, object] = {
        "violation": violation,
        "loads": LOADS,
        "detected_on": date(2026, 3, 10),
        "last_inspection_on": date(2026, 1, 10),
        "issued_on": date(2026, 3, 10),
        "latitude": 40.4,
        "account_opened_on": date(2019, 5, 1),
    }
    values.update(changes)
    return act_facts(**values)  # type: ignore[arg-type]


def test_findings_become_the_engine_input() -> None:
    act = facts()
    assert act.lighting_load_w == Decimal(300)
    assert act.sockets_found is True
    assert act.appliances_w == (Decimal(2000), Decimal(500))
    # item 8.17 counts every receiver found: 300 + 600 + 2000 + 500
    assert act.connected_receivers_w == Decimal(3400)
    assert act.hidden_line is False
    assert facts(ViolationType.HIDDEN_LINE).hidden_line is True


def test_item_8_17_from_findings_and_its_stored_record() -> None:
    # 3,400 W × 24 h = 81.6 kWh a day; 10 Jan → 10 Mar = 59 days (Jan 22, Feb 28, Mar 9).
    calc = recalculate(facts())
    assert calc.rule_set_id == "eeiq-8-17-current"
    assert [m.kwh for m in calc.months] == [
        Decimal("1795.20"),
        Decimal("2284.80"),
        Decimal("734.40"),
    ]
    record = calculation_record(calc, latitude=40.4)
    assert record["rule_set"] == "eeiq-8-17-current"
    assert record["days"] == 59
    assert record["months"][0]["month"] == "2026-01"
    assert record["total"] == str(calc.total)
    assert record["due_on"] == "2026-03-20"


def test_hidden_line_under_item_5_11_counts_from_the_account_opening() -> None:
    calc = recalculate(facts(ViolationType.HIDDEN_LINE), rule_set="eeiq-5-11-legacy")
    # opened 2019-05-01, but the limitation period allows 3 years back from 10 Mar 2026
    assert calc.period_start == date(2023, 3, 10)
    assert calc.capped_by == ("limitation",)


@pytest.mark.parametrize(
    ("current", "target", "today", "expected"),
    [
        (ActStatus.OPEN, "paid", date(2026, 3, 12), ActStatus.PAID),
        (ActStatus.OPEN, "CANCELLED ", date(2026, 3, 12), ActStatus.CANCELLED),
        (ActStatus.OPEN, "disconnected", date(2026, 3, 21), ActStatus.DISCONNECTED),
        (ActStatus.DISCONNECTED, "court", date(2026, 4, 1), ActStatus.COURT),
        (ActStatus.COURT, "paid", date(2026, 5, 1), ActStatus.PAID),
    ],
)
def test_allowed_changes(current: ActStatus, target: str, today: date, expected: ActStatus) -> None:
    assert check_act_transition(current, target, today=today, due_on=date(2026, 3, 20)) == expected


@pytest.mark.parametrize(
    ("current", "target", "today", "reason"),
    [
        (ActStatus.OPEN, "disconnected", date(2026, 3, 20), "before_due_date"),  # the due day
        (ActStatus.OPEN, "court", date(2026, 3, 12), "before_due_date"),
        (ActStatus.PAID, "open", date(2026, 3, 12), "final"),
        (ActStatus.CANCELLED, "paid", date(2026, 3, 12), "final"),
        (ActStatus.COURT, "disconnected", date(2026, 4, 1), "illegal"),
        (ActStatus.OPEN, "open", date(2026, 3, 12), "same_status"),
        (ActStatus.OPEN, "forgiven", date(2026, 3, 12), "unknown_status"),
    ],
)
def test_refused_changes(current: ActStatus, target: str, today: date, reason: str) -> None:
    with pytest.raises(TransitionError) as refused:
        check_act_transition(current, target, today=today, due_on=date(2026, 3, 20))
    assert refused.value.reason == reason


def test_reminders_three_days_one_day_and_on_the_day() -> None:
    due = date(2026, 3, 20)
    assert reminder_on(due, date(2026, 3, 17)) == Reminder.DUE_IN_3_DAYS
    assert reminder_on(due, date(2026, 3, 18)) is None
    assert reminder_on(due, date(2026, 3, 19)) == Reminder.DUE_IN_1_DAY
    assert reminder_on(due, date(2026, 3, 20)) == Reminder.DUE_TODAY
    assert reminder_on(due, date(2026, 3, 21)) is None
    assert reminder_days(date(2026, 3, 17))[due] == Reminder.DUE_IN_3_DAYS
    assert days_left(due, date(2026, 3, 21)) == -1


@pytest.mark.parametrize(
    ("utc", "expected_utc"),
    [
        # Baku is UTC+4: 21:59 Baku → now; 22:00 Baku → next day 09:00 Baku (05:00 UTC)
        (datetime(2026, 3, 17, 17, 59, tzinfo=UTC), datetime(2026, 3, 17, 17, 59, tzinfo=UTC)),
        (datetime(2026, 3, 17, 18, 0, tzinfo=UTC), datetime(2026, 3, 18, 5, 0, tzinfo=UTC)),
        # 02:00 Baku → 09:00 the same day
        (datetime(2026, 3, 17, 22, 0, tzinfo=UTC), datetime(2026, 3, 18, 5, 0, tzinfo=UTC)),
        (datetime(2026, 3, 18, 4, 59, tzinfo=UTC), datetime(2026, 3, 18, 5, 0, tzinfo=UTC)),
        (datetime(2026, 3, 18, 5, 0, tzinfo=UTC), datetime(2026, 3, 18, 5, 0, tzinfo=UTC)),
    ],
)
def test_no_sms_between_22_and_9_baku_time(utc: datetime, expected_utc: datetime) -> None:
    assert sms_allowed_from(utc) == expected_utc


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)))
def test_sms_time_is_never_in_the_quiet_hours_nor_earlier(naive: datetime) -> None:
    moment = naive.replace(tzinfo=UTC)
    allowed = sms_allowed_from(moment)
    assert allowed >= moment
    local = allowed.astimezone(BAKU).time()
    assert 9 <= local.hour < 22
    assert (allowed - moment).total_seconds() <= 11 * 3600


def test_objection_is_answered_within_10_days() -> None:
    assert objection_answer_due(date(2026, 3, 25)) == date(2026, 4, 4)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("123456789012345", "123456789012345"), (" 12345 67890 12345 ", "123456789012345"),
     ("12345-67890-12345", "123456789012345")],
)  # fmt: skip
def test_subscriber_code(typed: str, code: str) -> None:
    assert parse_subscriber_code(typed) == code


@pytest.mark.parametrize(
    ("typed", "reason"),
    [("", "empty"), ("12345678901234", "length"), ("1234567890123456", "length"),
     ("12345678901234X", "characters"), ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥", "characters")],
)  # fmt: skip
def test_bad_subscriber_codes(typed: str, reason: str) -> None:
    with pytest.raises(IdentifierError) as refused:
        parse_subscriber_code(typed)
    assert refused.value.reason == reason


@pytest.mark.parametrize("locale", ["az", "en"])
def test_every_act_sms_is_one_gsm_segment_with_the_longest_values(locale: str) -> None:
    from delivery import act_notices
    from domain.sms import sms_size
    from storage.models import ViolationAct

    act = ViolationAct(
        number="AKT-2026-000000042",  # staff numbering: 18 characters is a generous length
        subscriber_code="100200300400500",
        address="",
        amount=Decimal("99999.99"),
        paid_amount=None,
        due_on=date(2026, 9, 30),  # "30 sentyabr 2026": the longest date in az
    )
    templates = [
        act_notices.REGISTERED_SMS,
        act_notices.REMINDER_SMS,
        *act_notices.STATUS_SMS.values(),
    ]
    for template in templates:
        text = act_notices.fill(template, act, locale, sms=True)
        size = sms_size(text)
        assert size.encoding == "gsm7" and size.segments == 1, (template, text, size)
    assert "99.999,99 AZN" in act_notices.fill(act_notices.REMINDER_SMS, act, "az", sms=True)
