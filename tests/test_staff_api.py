"""The staff HTTP API: token, list and pagination, detail, status changes, every refusal."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from openapi_spec_validator import validate
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from yarl import URL

from bot.runtime import http_server
from chat.context import Services
from delivery import notices
from handlers import http_api, openapi
from storage import applications
from storage.models import (
    Application,
    ApplicationStatusChange,
    Citizen,
    OutboxMessage,
)
from tests.harness import settings_for
from tests.test_http import free_port, services_on

TOKEN = "staff-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NUMBER = "QM-2026-000001"
STATUS_URL = f"/api/applications/{NUMBER}/status"
ROUTES = [
    ("GET", "/api/applications"),
    ("GET", f"/api/applications/{NUMBER}"),
    ("POST", STATUS_URL),
]
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
_ids = count(1)


@dataclass
class Api:
    base: str
    http: aiohttp.ClientSession
    services: Services
    app: Any

    async def call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        data: Any = None,
        encoded: bool = False,
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        url = URL(self.base + path, encoded=encoded)
        kwargs: dict[str, Any] = {"headers": AUTH if headers is None else headers}
        if json_body is not None:
            kwargs["json"] = json_body
        if data is not None:
            kwargs["data"] = data
        async with self.http.request(method, url, **kwargs) as response:
            raw = await response.read()
            body = json.loads(raw) if response.content_type == "application/json" else raw
            return response.status, body, response

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, body, _ = await self.call("GET", path, **kwargs)
        return status, body

    async def post_status(self, number: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        status, answer, _ = await self.call(
            "POST", f"/api/applications/{number}/status", json_body=body, **kwargs
        )
        return status, answer


@pytest.fixture
async def api(engine: AsyncEngine) -> AsyncIterator[Api]:
    async with serving(engine, TOKEN) as server:
        yield server


@asynccontextmanager
async def serving(engine: AsyncEngine, token: str | None, **overrides: Any) -> AsyncIterator[Api]:
    port = free_port()
    settings = settings_for(str(engine.url), http_port=port, staff_api_token=token, **overrides)
    services = services_on(engine)
    async with http_server(settings, services, None) as runner, aiohttp.ClientSession() as http:
        yield Api(f"http://127.0.0.1:{port}", http, services, runner.app)


# --------------------------------------------------------------------------- data


async def make_application(
    services: Services,
    *,
    created_at: datetime = T0,
    district: str = "Xətai (Bakı)",
    status: str = "registered",
    locale: str = "az",
    email: str | None = None,
    chat: bool = True,
    fee: Decimal = Decimal("1234.5"),
) -> Application:
    n = next(_ids)
    draft = applications.Submission(
        submit_key=f"key-{n}",
        first_name="Aysel",
        last_name=f"Məmmədova{n}",
        patronymic="Rauf qızı",
        fin=f"FIN{n:04d}",
        id_card=f"AZE{n:08d}",
        execution_period=None,
        phase=3,
        power_kw=Decimal("15"),
        object_type="house",
        has_general_conditions=None,
        district=district,
        regional_unit="Bakı",
        registry_number="R-1",
        registration_number="G-1",
        latitude=40.38,
        longitude=49.87,
        distance_m=250,
        power_centre="PS-1",
        phone=f"+99450{n:07d}",
        email=email,
        fee_amount=fee,
        fee_rule_set="eeiq-2026",
        quote={"amount": "1234.50"},
    )
    async with services.sessions.begin() as session:
        application, _ = await applications.submit(
            session, draft=draft, telegram_user_id=1000 + n, chat_id=1000 + n, locale=locale
        )
        application.created_at = created_at
        application.status_changed_at = created_at
        application.status = status
        if not chat:
            await session.execute(
                update(Citizen)
                .where(Citizen.id == application.citizen_id)
                .values(telegram_chat_id=None)
            )
    return application


# --------------------------------------------------------------------------- OpenAPI


def schema_validator(name: str) -> Draft202012Validator:
    document = openapi.document()
    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    )


def conforms(body: Any, name: str) -> None:
    errors = [error.message for error in schema_validator(name).iter_errors(body)]
    assert errors == [], errors


async def test_the_openapi_document_is_valid_and_public(api: Api) -> None:
    status, body = await api.get("/api/openapi.json", headers={})
    assert status == 200
    validate(body)
    assert body == json.loads(json.dumps(openapi.document()))


async def test_the_document_describes_exactly_the_api_routes(api: Api) -> None:
    described = {
        (method.upper(), path)
        for path, operations in openapi.document()["paths"].items()
        for method in operations
    }
    registered = {
        (route.method, route.resource.canonical)
        for route in api.app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith(("/api", "/payments"))
    }
    assert described == registered
    assert ("POST", "/payments/callback") in registered
    assert ("POST", "/api/applications/{number}/status") in registered


# --------------------------------------------------------------------------- the token


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x",
     f"Bearer {TOKEN[:-1]}", "Bearer wrong", "Bearer тoken"],
)  # fmt: skip
@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_needs_the_token(
    api: Api, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    status, body, response = await api.call(
        method, path, headers=headers, json_body={"status": "under_review", "actor": "x"}
    )
    assert status == 401
    assert body["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    conforms(body, "Error")


async def test_the_scheme_is_case_insensitive(api: Api) -> None:
    status, _ = await api.get("/api/applications", headers={"Authorization": f"bearer {TOKEN}"})
    assert status == 200


@pytest.mark.parametrize("token", [None, "", "   "])
async def test_without_a_token_setting_the_api_is_off(
    engine: AsyncEngine, token: str | None
) -> None:
    async with serving(engine, token) as off:
        for method, path in ROUTES:
            for headers in ({}, AUTH, {"Authorization": "Bearer "}):
                status, body, _ = await off.call(
                    method, path, headers=headers, json_body={"status": "x", "actor": "y"}
                )
                assert (status, body["error"]) == (503, "staff_api_disabled")
        status, document = await off.get("/api/openapi.json", headers={})
        assert status == 200 and document["openapi"].startswith("3.")


# --------------------------------------------------------------------------- the list


async def test_the_list_is_newest_first_and_has_no_personal_data(api: Api) -> None:
    older = await make_application(api.services, created_at=T0, email="aysel@example.az")
    newer = await make_application(api.services, created_at=T0 + timedelta(hours=1))
    status, body = await api.get("/api/applications")
    assert status == 200
    conforms(body, "ApplicationPage")
    assert [item["number"] for item in body["items"]] == [newer.number, older.number]
    assert body["next_cursor"] is None
    assert body["items"][1] == {
        "number": older.number,
        "status": "registered",
        "status_label": notices.status_label("registered", "az"),
        "created_at": "2026-03-01T08:00:00Z",
        "status_changed_at": "2026-03-01T08:00:00Z",
        "district": "Xətai (Bakı)",
        "regional_unit": "Bakı",
        "phase": 3,
        "requested_power_kw": "15.0",
        "fee_amount": "1234.50",
        "fee_rule_set": "eeiq-2026",
        "distance_m": 250,
    }
    text = json.dumps(body, ensure_ascii=False)
    for application in (older, newer):
        for personal in (
            application.fin,
            application.id_card,
            application.phone_e164,
            application.phone_e164[1:],
            application.last_name,
            application.first_name,
            "aysel@example.az",
        ):
            assert personal not in text


async def test_the_list_filters_by_status_district_and_since(api: Api) -> None:
    a = await make_application(api.services, created_at=T0, status="under_review")
    b = await make_application(api.services, created_at=T0 + timedelta(days=1), district="Quba")
    c = await make_application(api.services, created_at=T0 + timedelta(days=2))

    async def numbers(query: str) -> list[str]:
        status, body = await api.get(f"/api/applications?{query}")
        assert status == 200, body
        return [item["number"] for item in body["items"]]

    assert await numbers("status=under_review") == [a.number]
    assert await numbers("status=registered") == [c.number, b.number]
    assert await numbers("status=paid") == []
    assert await numbers("district=Quba") == [b.number]
    assert await numbers("district=X%C9%99tai%20(Bak%C4%B1)") == [c.number, a.number]
    assert await numbers("district=Quba&status=under_review") == []
    # T0 + 1 day = 2 March 08:00 UTC = 12:00 in Baku
    assert await numbers("since=2026-03-02") == [c.number, b.number]
    assert await numbers("since=2026-03-02T08:00:00Z") == [c.number, b.number]
    assert await numbers("since=2026-03-02T08:00:01%2B00:00") == [c.number]
    assert await numbers("since=2026-03-02T12:00:00") == [c.number, b.number]  # naive = Baku
    assert await numbers("since=2026-03-02T12:00:01") == [c.number]
    assert await numbers("since=2026-03-04") == []


async def test_pages_walk_every_application_once(api: Api) -> None:
    made = []
    for i in range(7):  # three share one moment: the id breaks the tie
        moment = T0 + timedelta(minutes=min(i, 3))
        made.append(await make_application(api.services, created_at=moment))
    expected = [a.number for a in sorted(made, key=lambda a: (a.created_at, a.id), reverse=True)]
    seen: list[str] = []
    pages = []
    query = "limit=3"
    while True:
        status, body = await api.get(f"/api/applications?{query}")
        assert status == 200, body
        pages.append(len(body["items"]))
        seen += [item["number"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        query = f"limit=3&cursor={body['next_cursor']}"
    assert pages == [3, 3, 1]
    assert seen == expected

    # a filter is kept across pages; the default page holds everything here
    status, body = await api.get("/api/applications?status=registered&limit=4")
    cursor = body["next_cursor"]
    status, rest = await api.get(f"/api/applications?status=registered&limit=4&cursor={cursor}")
    assert [i["number"] for i in body["items"] + rest["items"]] == expected
    assert rest["next_cursor"] is None
    assert len((await api.get("/api/applications"))[1]["items"]) == 7


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("status=approved", "status"),
        ("status=", "status"),
        ("status=REGISTERED", "status"),
        ("district=", "district"),
        ("district=" + "x" * 101, "district"),
        ("district=%00", "district"),
        ("since=yesterday", "since"),
        ("since=", "since"),
        ("since=2026-02-30", "since"),
        ("since=0001-01-01T00:00:00", "since"),
        ("since=9999-12-31T23:59:59-12:00", "since"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=%D9%A5", "limit"),  # an Arabic-Indic five
        ("limit=99999999999999999999", "limit"),
        ("cursor=", "cursor"),
        ("cursor=!!!", "cursor"),
        ("cursor=abc", "cursor"),
        ("cursor=" + b64(b"[1, 2]"), "cursor"),
        ("cursor=" + b64(b'["2026-03-01T08:00:00", 1]'), "cursor"),
        ("cursor=" + b64(b'["2026-03-01T08:00:00+00:00", true]'), "cursor"),
        ("cursor=" + b64(b'["2026-03-01T08:00:00+00:00", 0]'), "cursor"),
        ("cursor=" + b64(b'["2026-03-01T08:00:00+00:00", 1, 2]'), "cursor"),
        ("cursor=" + b64(b'["0001-01-01T00:00:00+14:00", 1]'), "cursor"),
        ("cursor=" + b64(b'{"a": 1}'), "cursor"),
        ("page=2", "page"),
        ("limit=3&limit=4", "limit"),
        ("Status=paid", "Status"),
    ],
)
async def test_bad_list_parameters_are_400_and_named(api: Api, query: str, parameter: str) -> None:
    status, body, _ = await api.call("GET", f"/api/applications?{query}", encoded=True)
    assert status == 400, body
    assert body["parameter"] == parameter
    assert body["error"] in {"bad_parameter", "unknown_parameter"}
    conforms(body, "Error")


async def test_routes_with_no_parameters_refuse_any(api: Api) -> None:
    await make_application(api.services)
    status, body = await api.get(f"/api/applications/{NUMBER}?verbose=1")
    assert (status, body["error"], body["parameter"]) == (400, "unknown_parameter", "verbose")
    status, body, _ = await api.call(
        "POST", STATUS_URL + "?dry_run=1", json_body={"status": "under_review", "actor": "a"}
    )
    assert (status, body["parameter"]) == (400, "dry_run")


# --------------------------------------------------------------------------- one application


async def test_the_detail_has_the_applicant_history_and_next_steps(api: Api) -> None:
    application = await make_application(api.services, email="aysel@example.az")
    status, body = await api.get(f"/api/applications/{application.number.lower()}")
    assert status == 200
    conforms(body, "ApplicationDetail")
    assert body["number"] == application.number
    assert body["applicant"] == {
        "first_name": "Aysel",
        "last_name": application.last_name,
        "patronymic": "Rauf qızı",
        "fin": application.fin,
        "id_card": application.id_card,
        "phone": application.phone_e164,
        "email": "aysel@example.az",
    }
    assert body["quote"] == {"amount": "1234.50"}
    assert body["history"] == [
        {
            "from_status": None,
            "to_status": "registered",
            "actor": "citizen",
            "comment": None,
            "changed_at": body["history"][0]["changed_at"],
        }
    ]
    assert body["history"][0]["changed_at"].endswith("Z")
    assert body["allowed_targets"] == ["under_review", "rejected", "withdrawn"]


@pytest.mark.parametrize(
    "path",
    ["QM-2026-999999", "nothing", "QM-2026-000001x", "A" * 33, "%00", "%ff%fe", "a%20b", "..%2f"],
)
async def test_an_unknown_application_is_404(api: Api, path: str) -> None:
    await make_application(api.services)
    status, body, _ = await api.call("GET", f"/api/applications/{path}", encoded=True)
    assert status == 404
    assert body["error"] == "not_found"
    conforms(body, "Error")
    status, body, _ = await api.call(
        "POST",
        f"/api/applications/{path}/status",
        json_body={"status": "under_review", "actor": "a"},
        encoded=True,
    )
    assert (status, body["error"]) == (404, "not_found")


# --------------------------------------------------------------------------- status changes


async def outbox_rows(services: Services) -> list[OutboxMessage]:
    async with services.sessions() as session:
        rows = await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(rows.scalars())


async def history_rows(services: Services) -> list[ApplicationStatusChange]:
    async with services.sessions() as session:
        rows = await session.execute(
            select(ApplicationStatusChange).order_by(ApplicationStatusChange.id)
        )
        return list(rows.scalars())


async def test_a_status_change_is_recorded_and_notified(api: Api) -> None:
    application = await make_application(api.services, locale="ru", email="aysel@example.az")
    status, body = await api.post_status(
        application.number,
        {"status": "under_review", "actor": "operator.aliyev", "comment": "  Sənədlər tamdır "},
    )
    assert status == 200, body
    conforms(body, "StatusChanged")
    assert body["status"] == "under_review"
    assert body["status_label"] == notices.status_label("under_review", "az")
    assert body["notices_queued"] == 3
    assert body["allowed_targets"] == [
        "conditions_in_preparation", "payment_pending", "rejected", "withdrawn"
    ]  # fmt: skip
    last = body["history"][-1]
    assert (last["from_status"], last["to_status"], last["actor"], last["comment"]) == (
        "registered", "under_review", "operator.aliyev", "Sənədlər tamdır"
    )  # fmt: skip
    assert body["status_changed_at"] == last["changed_at"]

    changes = await history_rows(api.services)
    assert [(c.from_status, c.to_status) for c in changes] == [
        (None, "registered"), ("registered", "under_review")
    ]  # fmt: skip
    async with api.services.sessions() as session:
        stored = await session.get(Application, application.id)
        citizen = await session.get(Citizen, application.citizen_id)
    assert stored is not None and citizen is not None and stored.status == "under_review"
    rows = {row.channel: row for row in await outbox_rows(api.services)}
    assert set(rows) == {"telegram", "sms", "email"}
    assert rows["telegram"].recipient == str(citizen.telegram_chat_id)
    assert rows["telegram"].payload["text"] == notices.status_text(stored, changes[-1], "ru")
    assert rows["sms"].recipient == application.phone_e164
    assert rows["sms"].payload["text"] == notices.status_sms(stored, changes[-1], "ru")
    assert rows["email"].recipient == "aysel@example.az"
    assert notices.status_label("under_review", "ru") in rows["email"].payload["subject"]


async def test_without_chat_or_email_only_an_sms_is_queued(api: Api) -> None:
    application = await make_application(api.services, chat=False)
    status, body = await api.post_status(
        application.number, {"status": "withdrawn", "actor": "call-centre", "comment": None}
    )
    assert (status, body["notices_queued"], body["allowed_targets"]) == (200, 1, [])
    assert [row.channel for row in await outbox_rows(api.services)] == ["sms"]


@pytest.mark.parametrize(
    ("start", "body", "code", "error"),
    [
        ("registered", {"status": "connected", "actor": "a"}, 409, "illegal"),
        ("registered", {"status": "registered", "actor": "a"}, 409, "same_status"),
        ("connected", {"status": "rejected", "actor": "a", "comment": "x"}, 409, "final"),
        ("registered", {"status": "rejected", "actor": "a"}, 422, "reason_required"),
        ("registered", {"status": "rejected", "actor": "a", "comment": " \n "}, 422,
         "reason_required"),
        ("registered", {"status": "approved", "actor": "a"}, 422, "unknown_status"),
        ("registered", {"status": "", "actor": "a"}, 422, "unknown_status"),
        ("registered", {"status": "under_review", "actor": "a", "comment": "x" * 1001}, 422,
         "too_long"),
    ],
)  # fmt: skip
async def test_refused_changes_change_nothing(
    api: Api, start: str, body: dict[str, Any], code: int, error: str
) -> None:
    application = await make_application(api.services, status=start)
    status, answer = await api.post_status(application.number, body)
    assert (status, answer["error"]) == (code, error), answer
    conforms(answer, "TransitionRefused")
    assert answer["from"] == start and answer["to"] == body["status"]
    expected = {"registered": ["under_review", "rejected", "withdrawn"], "connected": []}
    assert answer["allowed"] == expected[start]
    assert len(await history_rows(api.services)) == 1
    assert await outbox_rows(api.services) == []
    assert (await api.get(f"/api/applications/{application.number}"))[1]["status"] == start


async def test_a_refused_change_of_a_free_connection_lists_paid_not_payment_pending(
    api: Api,
) -> None:
    """Nobody is asked to pay 0: the statuses offered are the ones the detail view lists."""
    application = await make_application(api.services, status="under_review", fee=Decimal(0))
    status, answer = await api.post_status(
        application.number, {"status": "connected", "actor": "a"}
    )
    assert (status, answer["error"]) == (409, "illegal"), answer
    detail = (await api.get(f"/api/applications/{application.number}"))[1]
    assert answer["allowed"] == detail["allowed_targets"]
    assert answer["allowed"] == ["conditions_in_preparation", "paid", "rejected", "withdrawn"]


GOOD = {"status": "under_review", "actor": "a"}


@pytest.mark.parametrize(
    ("raw", "error", "field"),
    [
        (b"", "bad_json", None),
        (b"not json", "bad_json", None),
        (b'{"status": "under_review",', "bad_json", None),
        (b"[" * 5000 + b"]" * 5000, "bad_json", None),
        (b'["under_review", "a"]', "bad_body", None),
        (b'"under_review"', "bad_body", None),
        (b"null", "bad_body", None),
        (b"42", "bad_body", None),
        (json.dumps({**GOOD, "extra": 1}).encode(), "unknown_field", "extra"),
        (json.dumps({**GOOD, "Status": "paid"}).encode(), "unknown_field", "Status"),
        (json.dumps({"status": "under_review"}).encode(), "missing_field", "actor"),
        (json.dumps({"actor": "a"}).encode(), "missing_field", "status"),
        (json.dumps({"status": "under_review", "actor": None}).encode(), "wrong_type", "actor"),
        (json.dumps({"status": "under_review", "actor": 7}).encode(), "wrong_type", "actor"),
        (json.dumps({"status": 1, "actor": "a"}).encode(), "wrong_type", "status"),
        (json.dumps({"status": None, "actor": "a"}).encode(), "wrong_type", "status"),
        (json.dumps({"status": ["paid"], "actor": "a"}).encode(), "wrong_type", "status"),
        (json.dumps({**GOOD, "comment": 5}).encode(), "wrong_type", "comment"),
        (json.dumps({**GOOD, "comment": {"a": 1}}).encode(), "wrong_type", "comment"),
        (json.dumps({**GOOD, "comment": False}).encode(), "wrong_type", "comment"),
        (json.dumps({"status": "under_review", "actor": ""}).encode(), "invalid_field", "actor"),
        (json.dumps({"status": "under_review", "actor": "  "}).encode(), "invalid_field", "actor"),
        (json.dumps({"status": "under_review", "actor": "a" * 65}).encode(), "invalid_field",
         "actor"),
        (json.dumps({"status": "under_review", "actor": "a\nb"}).encode(), "invalid_field",
         "actor"),
        (json.dumps({**GOOD, "comment": "a\x00b"}).encode(), "invalid_field", "comment"),
        (b'{"status": "under_review", "actor": "\\ud800"}', "invalid_field", "actor"),
        (b'{"status": "\\udfff", "actor": "a"}', "invalid_field", "status"),
        (b'{"status": "under_review", "actor": "a", "comment": "\\ud800"}', "invalid_field",
         "comment"),
    ],
)  # fmt: skip
async def test_bad_bodies_are_400(api: Api, raw: bytes, error: str, field: str | None) -> None:
    application = await make_application(api.services)
    status, body, _ = await api.call(
        "POST",
        f"/api/applications/{application.number}/status",
        data=raw,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert (status, body["error"], body.get("field")) == (400, error, field), body
    conforms(body, "Error")
    assert len(await history_rows(api.services)) == 1


BODY_ROUTES = [
    ("POST", STATUS_URL),
    ("POST", "/api/acts"),
    ("POST", "/api/acts/AKT-1/payment"),
    ("POST", "/api/acts/AKT-1/status"),
    ("PUT", "/api/subscribers/100200300400500"),
]
GOOD_TEXT = json.dumps(GOOD)


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", GOOD_TEXT.encode()),
        (None, GOOD_TEXT.encode()),
        ("application/x-www-form-urlencoded", b"status=under_review&actor=a"),
        ("application/json; charset=utf-16", GOOD_TEXT.encode("utf-16")),
        ("application/json", GOOD_TEXT.encode("utf-16")),  # a BOM: json.loads would guess it
        ("application/json", GOOD_TEXT.encode("utf-16-le")),
        ("application/json", GOOD_TEXT.encode("utf-32")),
        ("application/json", b"\xff\xfe"),
        ("application/json", b'{"status": "under_review", "actor": "\xe9"}'),  # Latin-1
    ],
)  # fmt: skip
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_a_body_that_is_not_json_in_utf8_is_415(
    api: Api, method: str, path: str, content_type: str | None, raw: bytes
) -> None:
    application = await make_application(api.services)
    path = path.replace(NUMBER, application.number)
    headers = {**AUTH} if content_type is None else {**AUTH, "Content-Type": content_type}
    skip = ["Content-Type"] if content_type is None else []
    async with api.http.request(
        method, api.base + path, data=raw, headers=headers, skip_auto_headers=skip
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]) == (415, "unsupported_media_type"), body
    conforms(body, "Error")
    assert len(await history_rows(api.services)) == 1


async def test_a_long_actor_and_the_longest_comment_are_fine(api: Api) -> None:
    application = await make_application(api.services)
    status, body = await api.post_status(
        application.number, {"status": "under_review", "actor": "a" * 64, "comment": "ə" * 1000}
    )
    assert status == 200, body
    assert body["history"][-1]["comment"] == "ə" * 1000


async def test_an_oversize_body_is_413(api: Api) -> None:
    application = await make_application(api.services)
    path = f"/api/applications/{application.number}/status"
    big = {**GOOD, "comment": "x" * http_api.MAX_BODY}
    status, body, _ = await api.call("POST", path, json_body=big)
    assert (status, body["error"]) == (413, "body_too_large")
    conforms(body, "Error")

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        yield b'{"status": "under_review", "actor": "a", "comment": "'
        for _ in range(20):
            yield b"x" * 1024
        yield b'"}'

    status, body, _ = await api.call("POST", path, data=chunked())
    assert (status, body["error"]) == (413, "body_too_large")
    assert len(await history_rows(api.services)) == 1


# --------------------------------------------------------------------------- garbage


def garbage(seed: int = 4) -> Iterator[tuple[str, str, dict[str, str], bytes]]:
    rnd = random.Random(seed)
    paths = [
        "/api/applications",
        f"/api/applications/{NUMBER}",
        STATUS_URL,
        "/api/applications/%00",
        "/api/applications/%ED%A0%80/status",
        "/api/applications/" + "9" * 5000,
        "/api/applications/%25%32%30/status",
        "/api/applications?status=%ED%A0%80",
        "/api/applications?district=%ED%A0%80",
        "/api/applications?since=%00",
        "/api/applications?cursor=%ED%A0%80",
        "/api/applications?%ED%A0%80=1",
        "/api/applications?limit=%00",
        "/api/applications?since=+002026-03-01",
        "/api/openapi.json?x=%00",
    ]
    headers = [
        AUTH,
        {"Authorization": "Bearer \u00e9\u00e9"},
        {"Authorization": "Bearer " + "x" * 4000},
        {**AUTH, "Content-Type": "text/plain"},
        {**AUTH, "Content-Length": "0"},
    ]
    bodies = [
        b"",
        b"\x00" * 10,
        b'{"status": 1e999, "actor": NaN}',
        b'{"status": "under_review", "actor": "a", "comment": "\\u0000"}',
        b'{"__proto__": {}}',
        b"{" * 3000,
    ] + [rnd.randbytes(rnd.randint(1, 300)) for _ in range(10)]
    for path in paths:
        for header in headers:
            for body in rnd.sample(bodies, 3):
                for method in ("GET", "POST", "PUT", "DELETE"):
                    yield method, path, header, body


async def test_garbage_never_gets_a_500(api: Api) -> None:
    await make_application(api.services)
    seen = set()
    for method, path, headers, body in garbage():
        status, answer, _ = await api.call(
            method, path, headers=headers, data=body or None, encoded=True
        )
        assert status < 500, (method, path, headers, body, status, answer)
        seen.add(status)
    assert {200, 400, 401, 404, 405} <= seen
    status, body = await api.get("/api/applications")
    assert status == 200 and len(body["items"]) == 1
