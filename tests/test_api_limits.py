"""The acts API at and past its limits: dates, amounts and kWh that make no act are refused.

Every value here was accepted (or answered 500) before the bounds: a payment dated year 1, a
payment before the act, an act billed for more kWh than it recalculates (0,00 AZN, and an SMS
saying "pay 0,00 AZN"), an act registered after its 10 days had passed (due "yesterday").
Refusals of a value are 400 naming the field; refusals of a whole act or payment are 422,
naming the field at fault too.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from delivery import act_notices
from handlers import act_models, acts_api
from storage.models import ActPayment, ViolationAct
from tests.test_acts_api import (
    BODY,
    CODE,
    NUMBER,
    api,
    baku_today,
    call,
    count,
    get_act,
    pay,
    payment,
    register,
    stored_act,
)
from tests.test_staff_api import Api, outbox_rows

__all__ = ["api"]  # the fixture


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert bad == [], [r.getMessage() for r in bad]


async def refused_act(api: Api, change: dict[str, Any]) -> tuple[int, Any]:
    status, answer = await call(api, "POST", "/api/acts", {**BODY, **change})
    assert await count(api.services, ViolationAct) == 0, answer
    assert await outbox_rows(api.services) == []
    return status, answer


def days_ago(days: int) -> str:
    return (baku_today() - timedelta(days=days)).isoformat()


# --------------------------------------------------------------------------- payments


@pytest.mark.parametrize(
    "paid_at",
    [
        "0001-01-01T00:00:00+14:00",  # was an OverflowError: 500 with a traceback
        "0001-01-01T00:00:00-14:00",
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59:59+12:00",
        "1999-12-31T23:59:59Z",
        "2999-01-01T00:00:00Z",
    ],
)
async def test_a_payment_date_out_of_range_is_400(
    api: Api, caplog: pytest.LogCaptureFixture, paid_at: str
) -> None:
    await register(api)
    status, answer = await pay(api, payment("10", "P-1", paid_at=paid_at))
    assert (status, answer["error"], answer["field"]) == (400, "invalid_field", "paid_at"), answer
    assert await count(api.services, ActPayment) == 0
    no_tracebacks(caplog)


async def test_no_payment_before_the_act_was_issued(api: Api) -> None:
    await register(api)  # issued on 10 March 2025
    status, answer = await pay(api, payment("10", "P-1", paid_at="2025-03-09T23:59:00+04:00"))
    assert (status, answer["error"], answer["field"]) == (422, "before_act", "paid_at"), answer
    assert "2025-03-10" in answer["message"]
    assert await count(api.services, ActPayment) == 0
    # 20:30 UTC on the 9th is already the 10th in Baku: the day of issue counts
    status, answer = await pay(api, payment("10", "P-1", paid_at="2025-03-09T20:30:00Z"))
    assert (status, answer["paid_amount"]) == (201, "10.00"), answer


async def test_a_clock_a_little_ahead_is_not_the_future(api: Api) -> None:
    await register(api)
    ahead = datetime.now(UTC) + timedelta(minutes=2)
    status, answer = await pay(api, payment("10", "P-1", paid_at=ahead.isoformat()))
    assert status == 201, answer
    too_far = datetime.now(UTC) + acts_api.CLOCK_SKEW + timedelta(minutes=1)
    status, answer = await pay(api, payment("10", "P-2", paid_at=too_far.isoformat()))
    assert (status, answer["field"]) == (400, "paid_at"), answer


async def test_one_payment_and_all_payments_have_a_ceiling(api: Api) -> None:
    await register(api)
    top = str(act_models.AMOUNT_MAX)
    status, answer = await pay(api, payment("10000000.01", "P-0"))
    assert (status, answer["error"], answer["field"]) == (400, "invalid_field", "amount"), answer
    status, answer = await pay(api, payment(top, "P-1"))
    assert (status, answer["paid_amount"]) == (201, top), answer
    status, answer = await pay(api, payment("0.01", "P-2"))
    assert (status, answer["error"], answer["field"]) == (422, "too_much_paid", "amount"), answer
    assert await count(api.services, ActPayment) == 1
    # the billing system sending the recorded payment again is still harmless
    status, answer = await pay(api, payment(top, "P-1"))
    assert (status, answer["payment_recorded"], answer["paid_amount"]) == (200, False, top)


# --------------------------------------------------------------------------- registration


async def test_an_act_billed_in_full_is_refused_not_registered_at_0_azn(api: Api) -> None:
    # 4320 kWh recalculated (test_acts_api's first test); 5000 kWh already billed
    status, answer = await refused_act(api, {"already_billed_kwh": "5000"})
    assert (status, answer["error"], answer["field"]) == (422, "zero_amount", "already_billed_kwh")
    assert "already billed" in answer["message"]
    status, answer = await refused_act(api, {"already_billed_kwh": "999999999.999"})
    assert (status, answer["error"], answer["field"]) == (
        400, "invalid_field", "already_billed_kwh"
    )  # fmt: skip
    assert str(act_models.KWH_MAX) in answer["message"]
    assert await count(api.services, ActPayment) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"last_inspection_on": "2025-03-10"}, "last_inspection_on"),  # no day to count
        ({"loads": [{"kind": "appliance", "power_w": "0.001"}]}, "loads"),  # 0.00 kWh
        # issued more than the 3-year limitation after the detection: nothing left to claim
        ({"detected_on": "2021-01-10", "last_inspection_on": "2020-12-01",
          "issued_on": days_ago(0)}, "issued_on"),
        ({"violation_type": "hidden_line", "account_opened_on": "2025-03-10"},
         "account_opened_on"),
    ],
)  # fmt: skip
async def test_an_act_that_comes_to_0_azn_is_422_naming_the_cause(
    api: Api, change: dict[str, Any], field: str
) -> None:
    status, answer = await refused_act(api, change)
    assert (status, answer["error"], answer["field"]) == (422, "zero_amount", field), answer


async def test_an_act_above_the_largest_amount_is_422(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(acts_api, "AMOUNT_MAX", Decimal("100.00"))  # BODY comes to 558.28
    status, answer = await refused_act(api, {})
    assert (status, answer["error"], answer["field"]) == (422, "amount_too_large", "loads")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"detected_on": "0001-01-01"}, "detected_on"),
        ({"detected_on": "1999-12-31"}, "detected_on"),
        ({"detected_on": "9999-12-31"}, "detected_on"),
        ({"detected_on": days_ago(-2)}, "detected_on"),  # was refused as issued_on
        ({"issued_on": "1999-12-31"}, "issued_on"),
        ({"last_inspection_on": "1949-12-31"}, "last_inspection_on"),
        ({"last_inspection_on": "0001-01-01"}, "last_inspection_on"),
        ({"last_inspection_on": days_ago(-2)}, "last_inspection_on"),
        ({"account_opened_on": "1949-12-31"}, "account_opened_on"),
        ({"account_opened_on": days_ago(-2)}, "account_opened_on"),
        ({"loads": [{"kind": "appliance", "power_w": "1000000"}] * 2}, "loads"),
    ],
)
async def test_act_days_and_loads_out_of_range_are_400(
    api: Api, change: dict[str, Any], field: str
) -> None:
    status, answer = await refused_act(api, change)
    assert (status, answer["error"], answer["field"]) == (400, "invalid_field", field), answer


async def test_old_history_days_are_fine(api: Api) -> None:
    act = await register(
        api,
        violation_type="hidden_line",
        last_inspection_on="1950-01-01",
        account_opened_on="1985-06-01",
    )
    assert act["calculation"]["capped_by"] == ["limitation", "max_months"]


async def test_an_act_registered_late_is_due_10_days_after_registration(api: Api) -> None:
    # detected and issued 30 days ago: its 10 days to pay would have run out 20 days ago
    act = await register(api, detected_on=days_ago(30), last_inspection_on=days_ago(90))
    due_on = baku_today() + timedelta(days=10)
    assert (act["issued_on"], act["due_on"], act["days_left"]) == (
        days_ago(30), due_on.isoformat(), 10
    )  # fmt: skip
    assert act["calculation"]["due_on"] == due_on.isoformat()
    [sms] = await outbox_rows(api.services)
    stored = await stored_act(api.services)
    assert stored.due_on == due_on
    assert sms.payload == {
        "text": act_notices.fill(act_notices.REGISTERED_SMS, stored, "az", sms=True)
    }
    status, answer = await call(
        api, "POST", f"/api/acts/{NUMBER}/status", {"status": "disconnected", "actor": "lawyer"}
    )
    assert (status, answer["error"]) == (422, "before_due_date")
    assert (await get_act(api))["subscriber_code"] == CODE
