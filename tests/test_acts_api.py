"""The staff HTTP API for violation acts, over HTTP on the real routes (``bot.runtime``'s server).

Registration and its amount (written out by hand below, from the dated rules and the household
tariff), reading, payments, status changes, the subscriber directory, the notices queued, and
every refusal. Each answer is also checked against the OpenAPI document for its route and code.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from chat.context import Services
from delivery import act_notices
from domain.acts import BAKU, ActStatus
from handlers import acts_api, http_api, openapi
from storage import acts
from storage.models import (
    ActPayment,
    ActStatusChange,
    Citizen,
    Subscriber,
    SubscriberLink,
    ViolationAct,
)
from tests.test_staff_api import AUTH, TOKEN, Api, make_application, outbox_rows, serving

CODE = "100200300400500"
PHONE = "+994501234567"
NUMBER = "AKT-2025-0001"
SUMQAYIT_LATITUDE = 40.5961  # domain/data/districts.csv

#: Detected on 10 March 2025, last inspected on 1 June 2024; 2000 W of loads in all.
BODY: dict[str, Any] = {
    "number": NUMBER,
    "subscriber_code": CODE,
    "address": "Sumqayıt, 9-cu mikrorayon, ev 12, mənzil 4",
    "district": "sumqayit",
    "consumer_phone": "050 123 45 67",
    "detected_on": "2025-03-10",
    "last_inspection_on": "2024-06-01",
    "violation_type": "meter_bypass",
    "loads": [
        {"kind": "appliance", "power_w": "1500", "description": "qızdırıcı"},
        {"kind": "lighting", "power_w": 500},
    ],
    "signed": False,
    "inspectors": ["Əliyev Ə.", "Həsənov R."],
    "actor": "inspector-7",
}


@pytest.fixture
async def api(engine: AsyncEngine) -> AsyncIterator[Api]:
    async with serving(engine, TOKEN) as server:
        yield server


def baku_today() -> date:
    return datetime.now(BAKU).date()


# --------------------------------------------------------------------------- the document


def template_of(path: str) -> str:
    path = path.partition("?")[0]
    for pattern, template in (
        (r"/api/acts", acts_api.ACTS_PATH),
        (r"/api/acts/[^/]+/payment", acts_api.PAYMENT_PATH),
        (r"/api/acts/[^/]+/status", acts_api.ACT_STATUS_PATH),
        (r"/api/acts/[^/]+", acts_api.ACT_PATH),
        (r"/api/subscribers/[^/]+", acts_api.SUBSCRIBER_PATH),
    ):
        if re.fullmatch(pattern, path):
            return template
    raise AssertionError(f"no act route for {path}")


def documented_schema(method: str, path: str, status: int) -> dict[str, Any]:
    """The schema the OpenAPI document gives for this answer (failing if it has none)."""
    document = openapi.document()
    responses = document["paths"][template_of(path)][method.lower()]["responses"]
    assert str(status) in responses, (method, path, status, "undocumented")
    answer = responses[str(status)]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    return dict(answer["content"]["application/json"]["schema"])


def schema_errors(schema: dict[str, Any], value: Any) -> list[str]:
    validator = Draft202012Validator(
        {**schema, "components": openapi.document()["components"]},
        format_checker=FormatChecker(),
    )
    return [error.message for error in validator.iter_errors(value)]


def named(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


async def call(
    api: Api,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One request; its answer must be the JSON the document describes for that code."""
    if raw is not None:
        headers = {**(AUTH if headers is None else headers), "Content-Type": "application/json"}
    status, answer, response = await api.call(
        method, path, headers=headers, json_body=body, data=raw, encoded=True
    )
    assert response.content_type == "application/json", (status, answer)
    errors = schema_errors(documented_schema(method, path, status), answer)
    assert errors == [], (method, path, status, errors, answer)
    return status, answer


async def register(api: Api, body: dict[str, Any] | None = None, **changes: Any) -> Any:
    status, answer = await call(api, "POST", "/api/acts", {**(body or BODY), **changes})
    assert status == 201, answer
    return answer


def without_notices(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in {"notices_queued", "payment_recorded"}}


async def get_act(api: Api, number: str = NUMBER) -> Any:
    status, answer = await call(api, "GET", f"/api/acts/{number}")
    assert status == 200, answer
    return answer


async def count(services: Services, model: Any) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def stored_act(services: Services, number: str = NUMBER) -> ViolationAct:
    async with services.sessions() as session:
        act = await acts.by_number(session, number)
    assert act is not None
    return act


async def phone_on_file(services: Services, code: str = CODE) -> str | None:
    async with services.sessions() as session:
        return await acts.subscriber_phone(session, code)


async def follower(
    services: Services,
    chat_id: int,
    *,
    locale: str = "az",
    notify: bool = True,
    verified: bool = True,
) -> Citizen:
    """A chat following :data:`CODE` (a link counts only while the follower's phone is verified)."""
    async with services.sessions.begin() as session:
        citizen = Citizen(
            telegram_user_id=chat_id, telegram_chat_id=chat_id, locale=locale,
            phone_e164=f"+99455{chat_id:07d}", phone_verified=verified, notify_telegram=notify,
        )  # fmt: skip
        session.add(citizen)
        await session.flush()
        session.add(SubscriberLink(citizen_id=citizen.id, subscriber_code=CODE))
    return citizen


def test_the_document_names_exactly_the_fields_each_handler_reads() -> None:
    schemas = openapi.document()["components"]["schemas"]
    for schema, fields in (
        ("ActRequest", acts_api.ACT_FIELDS),
        ("LoadRequest", acts_api.LOAD_FIELDS),
        ("PaymentRequest", acts_api.PAYMENT_FIELDS),
        ("ActStatusChangeRequest", acts_api.STATUS_FIELDS),
        ("SubscriberRequest", acts_api.SUBSCRIBER_FIELDS),
    ):
        assert set(schemas[schema]["properties"]) == fields, schema
        assert schemas[schema]["additionalProperties"] is False
    assert schemas["ActRequest"]["required"] == [
        "actor", "address", "detected_on", "district", "inspectors", "last_inspection_on",
        "loads", "number", "signed", "subscriber_code", "violation_type",
    ]  # fmt: skip
    assert schemas["ActStatus"]["enum"] == ["open", "paid", "disconnected", "court", "cancelled"]
    assert schemas["LoadKind"]["enum"] == ["lighting", "sockets", "appliance"]
    assert schemas["ViolationType"]["enum"] == [
        "meter_bypass", "scheme_changed", "meter_damaged", "seals_broken", "meter_stopped",
        "hidden_line",
    ]  # fmt: skip
    rule_sets = schemas["ActRequest"]["properties"]["rule_set"]["anyOf"][0]["enum"]
    assert rule_sets == ["eeiq-5-11-legacy", "eeiq-8-17-current"]


@pytest.mark.parametrize(
    ("change", "conforms"),
    [
        ({}, True),
        ({"rule_set": "eeiq-5-11-legacy", "issued_on": None, "consumer_phone": None}, True),
        ({"extra": 1}, False),
        ({"loads": []}, False),
        ({"loads": [{"kind": "heater", "power_w": "10"}]}, False),
        ({"loads": [{"kind": "appliance", "power_w": "1.2345"}]}, False),
        ({"loads": [{"kind": "appliance", "power_w": 0}]}, False),
        ({"detected_on": "10.03.2025"}, False),
        ({"signed": "yes"}, False),
        ({"violation_type": "theft"}, False),
        ({"rule_set": "eeiq-9-99"}, False),
        ({"inspectors": []}, False),
        ({"number": "AKT 1"}, False),
    ],
)
def test_the_request_schema_admits_what_the_handler_admits(
    change: dict[str, Any], conforms: bool
) -> None:
    errors = schema_errors(named("ActRequest"), {**BODY, **change})
    assert (errors == []) is conforms, errors


# --------------------------------------------------------------------------- registration


async def test_an_act_under_item_8_17_is_priced_month_by_month(api: Api) -> None:
    answer = await register(api)
    # The rules in force on 10 March 2025 are item 8.17's: every load found (1500 W + 500 W =
    # 2000 W) for 24 h a day → 2000 × 24 / 1000 = 48 kWh a day, over at most 3 months before
    # the detection day: from 10 December 2024 (the last inspection, 1 June 2024, is earlier)
    # until 9 March 2025 (the detection day is not counted). Due 10 days after registration
    # (today): the amount, the payment document of item 5.13, exists from then on.
    #
    # month     days  kWh                tariff       price (marginal tiers, qəpik/kWh)
    # 2024-12   22    22 × 48 = 1056     tc-14-2021   200 × 8 + 100 × 9 + 756 × 13 = 123.28
    # 2025-01   31    31 × 48 = 1488     tc-19-2024   200 × 8.4 + 100 × 10 + 1188 × 15 = 205.00
    # 2025-02   28    28 × 48 = 1344     tc-19-2024   16.80 + 10.00 + 1044 × 15 = 183.40
    # 2025-03    9     9 × 48 =  432     tc-19-2024   16.80 + 10.00 + 132 × 15 = 46.60
    #           90    4320 kWh                        123.28 + 205 + 183.40 + 46.60 = 558.28
    # (January 2025: Decision No. 19 is in force on 30 of its 31 days, so it prices the month.)
    assert answer["amount"] == "558.28"
    assert (answer["paid_amount"], answer["outstanding"]) == ("0.00", "558.28")
    assert answer["rule_set"] == "eeiq-8-17-current"
    calculation = answer["calculation"]
    assert calculation["rule_set"] == "eeiq-8-17-current"
    assert calculation["references"] == ["EEIQ item 8.17", "EEIQ item 7.6", "Civil Code art. 373"]
    assert calculation["latitude"] == SUMQAYIT_LATITUDE
    assert (calculation["period_start"], calculation["period_end"]) == ("2024-12-10", "2025-03-10")
    assert (calculation["days"], calculation["capped_by"]) == (90, ["max_months"])
    assert calculation["burning_hours"] is None
    assert (calculation["receivers_kwh"], calculation["kwh"]) == ("4320.00", "4320.00")
    assert (calculation["lighting_kwh"], calculation["appliances_kwh"]) == ("0.00", "0.00")
    assert (calculation["already_billed_kwh"], calculation["total"]) == ("0.00", "558.28")
    assert [
        (m["month"], m["days"], m["kwh"], m["tariff"], m["amount"], m["due"])
        for m in calculation["months"]
    ] == [
        ("2024-12", 22, "1056.00", "tc-14-2021", "123.28", "123.28"),
        ("2025-01", 31, "1488.00", "tc-19-2024", "205.00", "205.00"),
        ("2025-02", 28, "1344.00", "tc-19-2024", "183.40", "183.40"),
        ("2025-03", 9, "432.00", "tc-19-2024", "46.60", "46.60"),
    ]
    tiers = calculation["months"][0]["tiers"]
    assert [(t["from_kwh"], t["to_kwh"], t["rate_qepik"], t["kwh"]) for t in tiers] == [
        ("0", "200", "8", "200"), ("200", "300", "9", "100"), ("300", None, "13", "756.00")
    ]  # fmt: skip
    due_on = baku_today() + timedelta(days=10)
    assert calculation["due_on"] == due_on.isoformat()
    assert calculation["estimate"] is False

    assert {k: answer[k] for k in answer if k not in {"calculation", "history", "created_at"}} == {
        "number": NUMBER,
        "subscriber_code": CODE,
        "address": "Sumqayıt, 9-cu mikrorayon, ev 12, mənzil 4",
        "district": "Sumqayıt",
        "consumer_phone": PHONE,
        "violation_type": "meter_bypass",
        "detected_on": "2025-03-10",
        "last_inspection_on": "2024-06-01",
        "account_opened_on": None,
        "issued_on": "2025-03-10",
        "due_on": due_on.isoformat(),
        "days_left": 10,
        "signed": False,
        "inspectors": ["Əliyev Ə.", "Həsənov R."],
        "loads": [
            {"kind": "appliance", "power_w": "1500", "description": "qızdırıcı"},
            {"kind": "lighting", "power_w": "500", "description": ""},
        ],
        "rule_set": "eeiq-8-17-current",
        "amount": "558.28",
        "paid_amount": "0.00",
        "outstanding": "558.28",
        "status": "open",
        "allowed_targets": ["cancelled", "court", "disconnected", "paid"],
        "payments": [],
        "objections": [],
        "notices_queued": 1,
    }
    assert answer["history"] == [
        {
            "from_status": None,
            "to_status": "open",
            "actor": "inspector-7",
            "comment": None,
            "changed_at": answer["created_at"],
        }
    ]
    assert answer["created_at"].endswith("Z")
    # what was stored reads back the same
    assert await get_act(api) == without_notices(answer)
    assert await get_act(api, NUMBER.lower()) == without_notices(answer)
    act = await stored_act(api.services)
    assert (act.amount, act.status, act.due_on) == (Decimal("558.28"), "open", due_on)


@pytest.mark.parametrize(
    ("number", "location"),
    [(NUMBER, f"/api/acts/{NUMBER}"), ("akt/2025/17", "/api/acts/AKT%2F2025%2F17")],
)
async def test_the_location_header_names_the_act(api: Api, number: str, location: str) -> None:
    status, answer, response = await api.call(
        "POST", "/api/acts", json_body={**BODY, "number": number}
    )
    assert status == 201, answer
    assert response.headers["Location"] == location
    status, found = await call(api, "GET", location)
    assert (status, found["number"]) == (200, number.upper())
    status, paid = await call(api, "POST", f"{location}/payment", payment("1", "P-1"))
    assert (status, paid["paid_amount"]) == (201, "1.00")


async def test_kwh_and_money_are_rounded_as_the_rules_say(api: Api) -> None:
    answer = await register(
        api,
        detected_on="2025-02-04",
        last_inspection_on="2025-02-01",
        loads=[{"kind": "sockets", "power_w": "333"}],
    )
    # 333 W × 24 h × 3 days (1–3 February) = 23 976 Wh = 23.976 kWh → 23.98 kWh (0.01, half up);
    # 23.98 kWh in the first tier of tc-19-2024: 23.98 × 8.4 qəpik = 2.01432 AZN → 2.01 AZN.
    months = answer["calculation"]["months"]
    assert [(m["month"], m["days"], m["kwh"], m["amount"]) for m in months] == [
        ("2025-02", 3, "23.98", "2.01")
    ]
    assert answer["calculation"]["capped_by"] == []
    assert (answer["amount"], answer["due_on"]) == (
        "2.01", (baku_today() + timedelta(days=10)).isoformat()
    )  # fmt: skip


async def test_the_legacy_rule_set_may_be_named(api: Api) -> None:
    loads = [
        {"kind": "sockets", "power_w": "100"},
        {"kind": "appliance", "power_w": "1500", "description": "kondisioner"},
        {"kind": "appliance", "power_w": "400", "description": "soyuducu"},
    ]
    facts: dict[str, Any] = {
        "detected_on": "2025-03-10",
        "last_inspection_on": "2025-01-10",
        "violation_type": "seals_broken",
        "loads": loads,
    }
    legacy = await register(api, **facts, rule_set="eeiq-5-11-legacy")
    # Item 5.11 (legacy): sockets count 600 W whatever was found, but an appliance above 600 W
    # replaces that allowance with its own power; appliances up to 600 W are not counted. So
    # 1500 W × 24 h = 36 kWh a day from 10 January (the last inspection; no 3-month cap):
    # 2025-01  22 days  792 kWh   16.80 + 10.00 + 492 × 0.15 = 100.60
    # 2025-02  28 days 1008 kWh   16.80 + 10.00 + 708 × 0.15 = 133.00
    # 2025-03   9 days  324 kWh   16.80 + 10.00 +  24 × 0.15 =  30.40      total 264.00
    assert (legacy["rule_set"], legacy["calculation"]["rule_set"]) == ("eeiq-5-11-legacy",) * 2
    assert legacy["calculation"]["references"][0] == "EEIQ item 5.11"
    assert [m["kwh"] for m in legacy["calculation"]["months"]] == ["792.00", "1008.00", "324.00"]
    assert (legacy["calculation"]["sockets_kwh"], legacy["calculation"]["appliances_kwh"]) == (
        "0.00", "2124.00"
    )  # fmt: skip
    assert legacy["calculation"]["burning_hours"] == "0"
    assert legacy["amount"] == "264.00"

    current = await register(api, **facts, number="AKT-2025-0002")
    # The same act under item 8.17 (the default on that day): every load counts,
    # 100 + 1500 + 400 = 2000 W → 48 kWh a day:
    # 2025-01  22 days 1056 kWh   26.80 + 756 × 0.15 = 140.20
    # 2025-02  28 days 1344 kWh   26.80 + 1044 × 0.15 = 183.40
    # 2025-03   9 days  432 kWh   26.80 + 132 × 0.15 = 46.60          total 370.20
    assert current["rule_set"] == "eeiq-8-17-current"
    assert current["amount"] == "370.20"
    assert (await get_act(api, NUMBER))["amount"] == "264.00"


async def test_an_act_before_any_known_tariff_is_422_not_500(api: Api) -> None:
    status, answer = await call(
        api,
        "POST",
        "/api/acts",
        {**BODY, "detected_on": "2010-03-10", "last_inspection_on": "2010-01-10"},
    )
    assert (status, answer["error"]) == (422, "invalid_act"), answer
    assert "2010-01" in answer["message"]
    assert await count(api.services, ViolationAct) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"last_inspection_on": "2025-03-11"}, "the last inspection comes after the detection day"),
        ({"issued_on": "2025-03-09"}, "the act is issued before the violation was detected"),
        ({"account_opened_on": "2025-03-11"}, "the account is opened after the detection day"),
        ({"violation_type": "hidden_line"}, "a hidden line is recalculated from account_opened_on"),
    ],
)
async def test_dates_that_make_no_act_are_422(
    api: Api, change: dict[str, Any], message: str
) -> None:
    status, answer = await call(api, "POST", "/api/acts", {**BODY, **change})
    assert (status, answer["error"]) == (422, "invalid_act"), answer
    assert message in answer["message"]
    assert await count(api.services, ViolationAct) == 0
    assert await outbox_rows(api.services) == []


async def test_the_same_number_twice_is_409(api: Api) -> None:
    first = await register(api)
    again = {
        **BODY,
        "number": NUMBER.lower(),
        "loads": [{"kind": "appliance", "power_w": "9000"}],
        "consumer_phone": "+994552223344",
    }
    status, answer = await call(api, "POST", "/api/acts", again)
    assert (status, answer["error"]) == (409, "exists")
    assert answer["message"] == f"act {NUMBER} is already registered"
    assert await count(api.services, ViolationAct) == 1
    assert await get_act(api) == without_notices(first)
    assert [row.recipient for row in await outbox_rows(api.services)] == [PHONE]
    assert await phone_on_file(api.services) == PHONE


GOOD_LOAD = {"kind": "appliance", "power_w": "1500"}


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ({"extra": 1}, "unknown_field", "extra"),
        ({"Number": "X"}, "unknown_field", "Number"),
        ({"subscriber_code": "12345"}, "invalid_field", "subscriber_code"),
        ({"subscriber_code": "1002003004005OO"}, "invalid_field", "subscriber_code"),
        ({"subscriber_code": 100200300400500}, "wrong_type", "subscriber_code"),
        ({"consumer_phone": "+994124923456"}, "invalid_field", "consumer_phone"),  # landline
        ({"consumer_phone": "+79161234567"}, "invalid_field", "consumer_phone"),
        ({"consumer_phone": "050 123"}, "invalid_field", "consumer_phone"),
        ({"district": "Atlantis"}, "invalid_field", "district"),
        ({"district": "Naxçıvan"}, "invalid_field", "district"),
        ({"district": "Şərur"}, "invalid_field", "district"),
        ({"loads": []}, "invalid_field", "loads"),
        ({"loads": None}, "invalid_field", "loads"),
        ({"loads": [GOOD_LOAD] * 51}, "invalid_field", "loads"),
        ({"loads": [{"kind": "heater", "power_w": "100"}]}, "invalid_field", "loads[0]"),
        ({"loads": [GOOD_LOAD, {"kind": "Appliance", "power_w": "1"}]}, "invalid_field",
         "loads[1]"),
        ({"loads": [{"kind": "lighting"}]}, "missing_field", "loads[0].power_w"),
        ({"loads": [{"kind": "lighting", "power_w": "0"}]}, "invalid_field", "loads[0].power_w"),
        ({"loads": [{"kind": "lighting", "power_w": "-5"}]}, "invalid_field", "loads[0].power_w"),
        ({"loads": [{"kind": "lighting", "power_w": "1000001"}]}, "invalid_field",
         "loads[0].power_w"),
        ({"loads": [{"kind": "lighting", "power_w": True}]}, "invalid_field", "loads[0].power_w"),
        ({"detected_on": "20250310"}, "invalid_field", "detected_on"),
        ({"detected_on": "2025-W10-1"}, "invalid_field", "detected_on"),
        ({"loads": [{**GOOD_LOAD, "count": 2}]}, "invalid_field", "loads[0]"),
        ({"loads": ["appliance"]}, "invalid_field", "loads[0]"),
        ({"detected_on": "10.03.2025"}, "invalid_field", "detected_on"),
        ({"detected_on": "2025-02-30"}, "invalid_field", "detected_on"),
        ({"detected_on": 20250310}, "wrong_type", "detected_on"),
        ({"last_inspection_on": "yesterday"}, "invalid_field", "last_inspection_on"),
        ({"issued_on": "2025/03/10"}, "invalid_field", "issued_on"),
        ({"issued_on": "2999-01-01"}, "invalid_field", "issued_on"),
        ({"account_opened_on": "2020-13-01"}, "invalid_field", "account_opened_on"),
        ({"signed": "yes"}, "invalid_field", "signed"),
        ({"signed": None}, "invalid_field", "signed"),
        ({"violation_type": "theft"}, "invalid_field", "violation_type"),
        ({"rule_set": "eeiq-9-99"}, "invalid_field", "rule_set"),
        ({"inspectors": []}, "invalid_field", "inspectors"),
        ({"inspectors": [7]}, "invalid_field", "inspectors"),
        ({"inspectors": ["a\x00b"]}, "invalid_field", "inspectors"),
        ({"number": "AKT 1"}, "invalid_field", "number"),
        ({"number": "-AKT"}, "invalid_field", "number"),
        ({"number": "A" * 33}, "invalid_field", "number"),
        ({"address": "   "}, "invalid_field", "address"),
        ({"already_billed_kwh": "-1"}, "invalid_field", "already_billed_kwh"),
        ({"actor": ""}, "invalid_field", "actor"),
    ],
)  # fmt: skip
async def test_bad_acts_are_400_and_store_nothing(
    api: Api, change: dict[str, Any], error: str, field: str
) -> None:
    status, answer = await call(api, "POST", "/api/acts", {**BODY, **change})
    assert (status, answer["error"], answer["field"]) == (400, error, field), answer
    assert await count(api.services, ViolationAct) == 0
    assert await count(api.services, Subscriber) == 0
    assert await outbox_rows(api.services) == []


@pytest.mark.parametrize(
    ("missing", "error"),
    [("number", "missing_field"), ("subscriber_code", "missing_field"),
     ("address", "missing_field"), ("district", "missing_field"),
     ("detected_on", "missing_field"), ("last_inspection_on", "missing_field"),
     ("violation_type", "missing_field"), ("actor", "missing_field"),
     ("loads", "invalid_field"), ("signed", "invalid_field"), ("inspectors", "invalid_field")],
)  # fmt: skip
async def test_required_fields_are_required(api: Api, missing: str, error: str) -> None:
    body = {k: v for k, v in BODY.items() if k != missing}
    status, answer = await call(api, "POST", "/api/acts", body)
    assert (status, answer["error"], answer["field"]) == (400, error, missing), answer
    assert await count(api.services, ViolationAct) == 0


@pytest.mark.parametrize(
    ("raw", "error"),
    [(b"", "bad_json"), (b"{", "bad_json"), (b"[]", "bad_body"),
     (b"null", "bad_body")],
)  # fmt: skip
async def test_a_body_that_is_no_json_object_is_400(api: Api, raw: bytes, error: str) -> None:
    status, answer = await call(api, "POST", "/api/acts", raw=raw)
    assert (status, answer["error"]) == (400, error)
    assert "field" not in answer
    assert await count(api.services, ViolationAct) == 0


async def test_an_oversize_act_is_413(api: Api) -> None:
    body = {**BODY, "address": "x" * http_api.MAX_BODY}
    status, answer = await call(api, "POST", "/api/acts", body)
    assert (status, answer["error"]) == (413, "body_too_large")
    assert await count(api.services, ViolationAct) == 0


# --------------------------------------------------------------------------- the token


ACT_ROUTES = [
    ("POST", "/api/acts"),
    ("GET", f"/api/acts/{NUMBER}"),
    ("POST", f"/api/acts/{NUMBER}/payment"),
    ("POST", f"/api/acts/{NUMBER}/status"),
    ("PUT", f"/api/subscribers/{CODE}"),
]


@pytest.mark.parametrize(
    "authorization", [None, "", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer"]
)
@pytest.mark.parametrize(("method", "path"), ACT_ROUTES)
async def test_every_act_route_needs_the_token(
    api: Api, method: str, path: str, authorization: str | None
) -> None:
    await register(api)
    headers = {} if authorization is None else {"Authorization": authorization}
    body = {"status": "cancelled", "actor": "x", "amount": "1", "reference": "r", "phone": None}
    status, answer, response = await api.call(
        method, path, headers=headers, json_body=BODY if path == "/api/acts" else body
    )
    assert (status, answer["error"]) == (401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert schema_errors(documented_schema(method, path, status), answer) == []
    assert (await get_act(api))["history"][-1]["to_status"] == "open"
    assert await count(api.services, ActPayment) == 0


@pytest.mark.parametrize(("method", "path"), ACT_ROUTES)
async def test_without_a_token_setting_the_act_routes_are_off(
    engine: AsyncEngine, method: str, path: str
) -> None:
    async with serving(engine, None) as off:
        status, answer = await call(off, method, path, BODY)
        assert (status, answer["error"]) == (503, "staff_api_disabled")


async def test_act_routes_take_no_query_parameters(api: Api) -> None:
    await register(api)
    status, answer = await call(api, "GET", f"/api/acts/{NUMBER}?verbose=1")
    assert (status, answer["error"], answer["parameter"]) == (400, "unknown_parameter", "verbose")


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("number", ["AKT-2025-9999", "A" * 33, "%00", "a%20b", "-AKT"])
async def test_an_unknown_act_is_404(api: Api, number: str) -> None:
    await register(api)
    status, answer = await call(api, "GET", f"/api/acts/{number}")
    assert (status, answer["error"]) == (404, "not_found")
    for action, body in (
        ("payment", {"amount": "1", "reference": "r", "actor": "a"}),
        ("status", {"status": "cancelled", "actor": "a"}),
    ):
        status, answer = await call(api, "POST", f"/api/acts/{number}/{action}", body)
        assert (status, answer["error"]) == (404, "not_found")
    assert await count(api.services, ActPayment) == 0
    assert await count(api.services, ActStatusChange) == 1


# --------------------------------------------------------------------------- payments


def payment(amount: Any, reference: str, **extra: Any) -> dict[str, Any]:
    return {"amount": amount, "reference": reference, "actor": "billing", **extra}


async def pay(api: Api, body: dict[str, Any], number: str = NUMBER) -> tuple[int, Any]:
    return await call(api, "POST", f"/api/acts/{number}/payment", body)


async def test_payments_until_the_act_is_paid(api: Api) -> None:
    await register(api)  # 558.28 AZN

    status, first = await pay(api, payment("100.50", "PAY-1", paid_at="2025-03-12T10:00:00+04:00"))
    assert status == 201, first
    assert (first["payment_recorded"], first["notices_queued"]) == (True, 0)
    assert (first["status"], first["paid_amount"], first["outstanding"]) == (
        "open", "100.50", "457.78"
    )  # fmt: skip
    assert first["payments"] == [
        {"amount": "100.50", "paid_at": "2025-03-12T06:00:00Z", "reference": "PAY-1",
         "actor": "billing"}
    ]  # fmt: skip
    assert len(first["history"]) == 1
    assert await get_act(api) == without_notices(first)

    # the payment system sends it again: nothing changes
    status, repeat = await pay(api, payment(100.5, "PAY-1"))
    assert status == 200, repeat
    assert (repeat["payment_recorded"], repeat["notices_queued"]) == (False, 0)
    assert without_notices(repeat) == without_notices(first)
    assert await count(api.services, ActPayment) == 1

    # the same reference with another amount
    status, conflict = await pay(api, payment("100.00", "PAY-1"))
    assert (status, conflict["error"]) == (409, "reference_reused")
    assert await get_act(api) == without_notices(first)

    status, rest = await pay(api, payment("457.78", "PAY-2"))
    assert status == 201, rest
    assert (rest["status"], rest["paid_amount"], rest["outstanding"]) == ("paid", "558.28", "0.00")
    assert (rest["payment_recorded"], rest["notices_queued"], rest["allowed_targets"]) == (
        True, 1, []
    )  # fmt: skip
    assert [p["reference"] for p in rest["payments"]] == ["PAY-1", "PAY-2"]
    last = rest["history"][-1]
    assert (last["from_status"], last["to_status"], last["actor"]) == ("open", "paid", "billing")
    assert await get_act(api) == without_notices(rest)

    rows = await outbox_rows(api.services)
    assert [(r.channel, r.recipient, r.idempotency_key) for r in rows] == [
        ("sms", PHONE, f"act:{NUMBER}:registered:sms"),
        ("sms", PHONE, f"act:{NUMBER}:status:paid:sms"),
    ]
    act = await stored_act(api.services)
    assert rows[1].payload == {
        "text": act_notices.fill(act_notices.STATUS_SMS[ActStatus.PAID], act, "az", sms=True)
    }
    assert NUMBER in rows[1].payload["text"]

    # paid: a late repeat of the first payment is still harmless, and queues nothing again
    status, late = await pay(api, payment("100.50", "PAY-1"))
    assert (status, late["payment_recorded"], late["notices_queued"]) == (200, False, 0)
    assert len(await outbox_rows(api.services)) == 2


async def test_an_overpayment_pays_the_act_and_owes_nothing(api: Api) -> None:
    await register(api)
    status, answer = await pay(api, payment("600", "PAY-9"))
    assert status == 201, answer
    assert (answer["status"], answer["paid_amount"], answer["outstanding"]) == (
        "paid", "600.00", "0.00"
    )  # fmt: skip
    assert answer["payments"][0]["amount"] == "600.00"  # as sent: "600"
    assert await get_act(api) == without_notices(answer)


async def test_no_payment_on_a_cancelled_act(api: Api) -> None:
    await register(api)
    status, _ = await change_status(api, {"status": "cancelled", "actor": "lawyer"})
    assert status == 200
    status, answer = await pay(api, payment("10", "PAY-1"))
    assert (status, answer["error"]) == (409, "cancelled")
    assert await count(api.services, ActPayment) == 0
    assert (await get_act(api))["paid_amount"] == "0.00"


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        (payment("0", "P"), "invalid_field", "amount"),
        (payment("0.00", "P"), "invalid_field", "amount"),
        (payment("-1", "P"), "invalid_field", "amount"),
        (payment("1.234", "P"), "invalid_field", "amount"),
        (payment("1e3", "P"), "invalid_field", "amount"),
        (payment(None, "P"), "invalid_field", "amount"),
        ({"reference": "P", "actor": "a"}, "missing_field", "amount"),
        ({"amount": "1", "actor": "a"}, "missing_field", "reference"),
        ({"amount": "1", "reference": "P"}, "missing_field", "actor"),
        (payment("1", "x" * 65), "invalid_field", "reference"),
        (payment("1", "P", paid_at="2025-03-12T10:00:00"), "invalid_field", "paid_at"),
        (payment("1", "P", paid_at="2999-01-01T00:00:00Z"), "invalid_field", "paid_at"),
        (payment("1", "P", paid_at="soon"), "invalid_field", "paid_at"),
        (payment("1", "P", method="cash"), "unknown_field", "method"),
    ],
)
async def test_bad_payments_are_400(api: Api, body: dict[str, Any], error: str, field: str) -> None:
    await register(api)
    status, answer = await pay(api, body)
    assert (status, answer["error"], answer["field"]) == (400, error, field), answer
    assert await count(api.services, ActPayment) == 0


# --------------------------------------------------------------------------- status changes


async def change_status(api: Api, body: dict[str, Any], number: str = NUMBER) -> tuple[int, Any]:
    return await call(api, "POST", f"/api/acts/{number}/status", body)


async def register_due_later(api: Api) -> Any:
    """An act detected and issued today: due in 10 days."""
    today = baku_today()
    return await register(
        api,
        detected_on=today.isoformat(),
        last_inspection_on=(today - timedelta(days=30)).isoformat(),
    )


@pytest.mark.parametrize("target", ["disconnected", "court"])
async def test_disconnection_and_court_wait_for_the_due_date(api: Api, target: str) -> None:
    act = await register_due_later(api)
    assert (act["due_on"], act["days_left"]) == (
        (baku_today() + timedelta(days=10)).isoformat(),
        10,
    )
    status, answer = await change_status(api, {"status": target, "actor": "lawyer"})
    assert status == 422, answer
    assert answer == {
        "error": "before_due_date",
        "message": f"before_due_date: open → {target}",
        "from": "open",
        "to": target,
        "allowed": ["cancelled", "court", "disconnected", "paid"],
    }
    assert await get_act(api) == without_notices(act)
    assert len(await outbox_rows(api.services)) == 1  # the registration's SMS only


async def test_an_open_act_may_be_cancelled_and_then_nothing_else(api: Api) -> None:
    await register_due_later(api)
    status, answer = await change_status(
        api, {"status": "Cancelled", "actor": "lawyer", "comment": "Sayğac yoxlanıldı"}
    )
    assert status == 200, answer
    assert (answer["status"], answer["allowed_targets"], answer["notices_queued"]) == (
        "cancelled", [], 1
    )  # fmt: skip
    history = [
        (h["from_status"], h["to_status"], h["actor"], h["comment"]) for h in answer["history"]
    ]
    assert history == [
        (None, "open", "inspector-7", None), ("open", "cancelled", "lawyer", "Sayğac yoxlanıldı")
    ]  # fmt: skip
    assert await get_act(api) == without_notices(answer)
    keys = [row.idempotency_key for row in await outbox_rows(api.services)]
    assert keys == [f"act:{NUMBER}:registered:sms", f"act:{NUMBER}:status:cancelled:sms"]

    for target in ("open", "paid", "disconnected", "court"):
        status, refused = await change_status(api, {"status": target, "actor": "lawyer"})
        assert status == 409, refused
        assert (refused["error"], refused["from"], refused["to"], refused["allowed"]) == (
            "final", "cancelled", target, []
        )  # fmt: skip
    status, refused = await change_status(api, {"status": "cancelled", "actor": "lawyer"})
    assert (status, refused["error"]) == (409, "same_status")
    assert len((await get_act(api))["history"]) == 2
    assert len(await outbox_rows(api.services)) == 2


async def make_overdue(services: Services, number: str = NUMBER) -> None:
    """Registered today, an act is due in 10 days: move its deadline to yesterday."""
    async with services.sessions.begin() as session:
        await session.execute(
            update(ViolationAct)
            .where(ViolationAct.number == number)
            .values(due_on=baku_today() - timedelta(days=1))
        )


async def test_after_the_due_date_disconnection_then_court(api: Api) -> None:
    await register(api)
    await make_overdue(api.services)
    status, answer = await change_status(api, {"status": "disconnected", "actor": "lawyer"})
    assert status == 200, answer
    assert (answer["status"], answer["allowed_targets"]) == (
        "disconnected", ["cancelled", "court", "paid"]
    )  # fmt: skip
    status, answer = await change_status(api, {"status": "court", "actor": "lawyer"})
    assert (status, answer["status"], answer["allowed_targets"]) == (
        200, "court", ["cancelled", "paid"]
    )  # fmt: skip
    status, refused = await change_status(api, {"status": "disconnected", "actor": "lawyer"})
    assert (status, refused["error"], refused["allowed"]) == (409, "illegal", ["cancelled", "paid"])
    keys = [row.idempotency_key.rsplit(":", 2)[1] for row in await outbox_rows(api.services)]
    assert keys == ["registered", "disconnected", "court"]


@pytest.mark.parametrize("target", ["closed", "opened", "x" * 16, "paid!"])
async def test_an_unknown_status_is_400(api: Api, target: str) -> None:
    await register(api)
    status, answer = await change_status(api, {"status": target, "actor": "lawyer"})
    assert status == 400, answer
    assert (answer["error"], answer["from"], answer["to"]) == ("unknown_status", "open", target)
    assert answer["allowed"] == ["cancelled", "court", "disconnected", "paid"]
    assert len((await get_act(api))["history"]) == 1


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        ({"status": "cancelled"}, "missing_field", "actor"),
        ({"actor": "a"}, "missing_field", "status"),
        ({"status": 1, "actor": "a"}, "wrong_type", "status"),
        ({"status": "cancelled", "actor": "a", "reason": "x"}, "unknown_field", "reason"),
        ({"status": "cancelled", "actor": "a", "comment": 5}, "wrong_type", "comment"),
        ({"status": "cancelled", "actor": "a", "comment": "x" * 1001}, "invalid_field", "comment"),
        ({"status": "x" * 17, "actor": "a"}, "invalid_field", "status"),
        ({"status": "", "actor": "a"}, "invalid_field", "status"),
    ],
)
async def test_bad_status_bodies_are_400(
    api: Api, body: dict[str, Any], error: str, field: str
) -> None:
    await register(api)
    status, answer = await change_status(api, body)
    assert (status, answer["error"], answer["field"]) == (400, error, field), answer
    assert len((await get_act(api))["history"]) == 1


# --------------------------------------------------------------------------- subscribers


async def put_subscriber(api: Api, code: str, body: Any) -> tuple[int, Any]:
    return await call(api, "PUT", f"/api/subscribers/{code}", body)


async def test_the_billing_system_sets_the_phone_on_file(api: Api) -> None:
    status, answer = await put_subscriber(
        api, "100-200-300-400-500", {"phone": "050 123 45 67", "address": "Quba, Ərəb küç. 5",
                                     "district": "guba"}
    )  # fmt: skip
    assert status == 200, answer
    assert answer == {
        "code": CODE, "phone": PHONE, "address": "Quba, Ərəb küç. 5", "district": "Quba"
    }  # fmt: skip
    assert await phone_on_file(api.services) == PHONE

    status, answer = await put_subscriber(api, CODE, {"phone": None})
    assert (status, answer) == (200, {"code": CODE, "phone": None, "address": None,
                                      "district": None})  # fmt: skip
    assert await phone_on_file(api.services) is None
    async with api.services.sessions() as session:
        row = await session.get(Subscriber, CODE)
    assert row is not None and (row.address, row.district) == ("Quba, Ərəb küç. 5", "Quba")


@pytest.mark.parametrize(
    ("code", "body", "error", "field"),
    [
        ("12345", {"phone": PHONE}, "invalid_field", "code"),
        ("1002003004005OO", {"phone": PHONE}, "invalid_field", "code"),
        ("1" * 41, {"phone": PHONE}, "invalid_field", "code"),
        (CODE, {}, "missing_field", "phone"),
        (CODE, {"phone": "+994124923456"}, "invalid_field", "phone"),
        (CODE, {"phone": 994501234567}, "wrong_type", "phone"),
        (CODE, {"phone": PHONE, "district": "Ordubad"}, "invalid_field", "district"),
        (CODE, {"phone": PHONE, "name": "Aysel"}, "unknown_field", "name"),
    ],
)
async def test_bad_subscribers_are_400(
    api: Api, code: str, body: dict[str, Any], error: str, field: str
) -> None:
    status, answer = await put_subscriber(api, code, body)
    assert (status, answer["error"], answer["field"]) == (400, error, field), answer
    assert await count(api.services, Subscriber) == 0


async def test_an_act_files_its_phone_but_never_erases_the_one_on_file(api: Api) -> None:
    await register(api)
    assert await phone_on_file(api.services) == PHONE
    await register(api, number="AKT-2025-0002", consumer_phone="+994552223344")
    assert await phone_on_file(api.services) == "+994552223344"
    # an act without the consumer's phone (not given at the inspection) keeps the one on file
    answer = await register(api, number="AKT-2025-0003", consumer_phone=None)
    assert (answer["consumer_phone"], answer["notices_queued"]) == (None, 0)
    assert await phone_on_file(api.services) == "+994552223344"


# --------------------------------------------------------------------------- notices


async def test_registration_tells_the_followers_and_the_phone(api: Api) -> None:
    application = await make_application(api.services, locale="ru", email="aysel@example.az")
    async with api.services.sessions.begin() as session:
        session.add(SubscriberLink(citizen_id=application.citizen_id, subscriber_code=CODE))
    azeri = await follower(api.services, 7001)
    muted = await follower(api.services, 7002, notify=False)
    unproved = await follower(api.services, 7003, verified=False)

    answer = await register(api)
    # two chats and one SMS; the muted chat and the one whose phone is not verified hear nothing
    assert answer["notices_queued"] == 3

    act = await stored_act(api.services)
    rows = await outbox_rows(api.services)
    async with api.services.sessions() as session:
        citizen = await session.get(Citizen, application.citizen_id)
    assert citizen is not None
    assert sorted((r.channel, r.recipient, r.idempotency_key, r.citizen_id) for r in rows) == [
        ("sms", PHONE, f"act:{NUMBER}:registered:sms", None),
        ("telegram", str(citizen.telegram_chat_id),
         f"act:{NUMBER}:registered:telegram:{citizen.id}", citizen.id),
        ("telegram", "7001", f"act:{NUMBER}:registered:telegram:{azeri.id}", azeri.id),
    ]  # fmt: skip
    by_recipient = {row.recipient: row.payload["text"] for row in rows}
    assert by_recipient[str(citizen.telegram_chat_id)] == act_notices.with_payment(
        act_notices.fill(act_notices.REGISTERED, act, "ru"), act, "ru"
    )
    assert by_recipient["7001"] == act_notices.with_payment(
        act_notices.fill(act_notices.REGISTERED, act, "az"), act, "az"
    )
    assert by_recipient[PHONE] == act_notices.fill(act_notices.REGISTERED_SMS, act, "az", sms=True)
    assert NUMBER in by_recipient[PHONE] and "558,28 AZN" in by_recipient[PHONE]
    assert str(muted.telegram_chat_id) not in by_recipient
    assert str(unproved.telegram_chat_id) not in by_recipient

    # the act shows no citizen behind the code: no FIN, ID card, name, e-mail or chat
    text = json.dumps(await get_act(api), ensure_ascii=False)
    for personal in (
        application.fin,
        application.id_card,
        application.first_name,
        application.last_name,
        application.patronymic or "",
        application.phone_e164,
        "aysel@example.az",
        f'"{citizen.telegram_chat_id}"',
        "7001",
    ):
        assert personal not in text, personal
    assert "fin" not in json.loads(text) and "citizen" not in text


async def test_no_sms_to_a_verified_phone_that_stopped_sms(api: Api) -> None:
    async with api.services.sessions.begin() as session:
        session.add(Citizen(phone_e164=PHONE, phone_verified=True, sms_opted_out=True, locale="ru"))
    answer = await register(api)
    assert answer["notices_queued"] == 0
    assert await outbox_rows(api.services) == []
