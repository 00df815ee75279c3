"""The six places where the OpenAPI document and the server used to disagree: each value is now
refused by both (the document states the real bound) — or, for a non-JSON body, documented 415."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers import openapi
from tests.test_acts_api import BODY as ACT
from tests.test_staff_api import AUTH, GOOD, TOKEN, Api, make_application, serving


@pytest.fixture
async def api(engine: AsyncEngine) -> AsyncIterator[Api]:
    async with serving(engine, TOKEN) as server:
        yield server


def admits(schema: dict[str, Any], value: Any) -> bool:
    validator = Draft202012Validator({**schema, "components": openapi.document()["components"]})
    return bool(validator.is_valid(value))


def named(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def query_schema(name: str) -> dict[str, Any]:
    operation = openapi.document()["paths"]["/api/applications"]["get"]
    return next(p["schema"] for p in operation["parameters"] if p["name"] == name)


async def test_an_empty_cursor_is_refused_by_both(api: Api) -> None:
    assert not admits(query_schema("cursor"), "")
    status, body = await api.get("/api/applications?cursor=")
    assert (status, body["parameter"]) == (400, "cursor")


async def test_an_empty_status_is_outside_the_documented_enum_and_refused(api: Api) -> None:
    assert not admits(named("StatusChangeRequest"), {"status": "", "actor": "a"})
    assert admits(named("StatusChangeRequest"), {"status": "under_review", "actor": "a"})
    application = await make_application(api.services)
    status, body = await api.post_status(application.number, {"status": "", "actor": "a"})
    assert (status, body["error"]) == (422, "unknown_status")
    responses = openapi.document()["paths"]["/api/applications/{number}/status"]["post"]
    assert "422" in responses["responses"]


@pytest.mark.parametrize("actor", ["a\x01b", "a\x7f", "\x00"])
async def test_control_characters_are_refused_by_both(api: Api, actor: str) -> None:
    assert not admits(named("StatusChangeRequest"), {**GOOD, "actor": actor})
    assert not admits(named("ActRequest"), {**ACT, "actor": actor})
    application = await make_application(api.services)
    status, body = await api.post_status(application.number, {**GOOD, "actor": actor})
    assert (status, body["field"]) == (400, "actor")
    status, body, _ = await api.call("POST", "/api/acts", json_body={**ACT, "actor": actor})
    assert (status, body["field"]) == (400, "actor")


async def test_the_smallest_float_is_below_the_documented_minimum_and_refused(api: Api) -> None:
    loads = [{"kind": "lighting", "power_w": 5e-324}]
    assert not admits(named("ActRequest"), {**ACT, "loads": loads})
    status, body, _ = await api.call("POST", "/api/acts", json_body={**ACT, "loads": loads})
    assert (status, body["field"]) == (400, "loads[0].power_w")
    assert admits(named("ActRequest"), {**ACT, "loads": [{"kind": "lighting", "power_w": 0.5}]})


async def test_a_district_without_a_letter_is_refused_by_both(api: Api) -> None:
    assert not admits(named("ActRequest"), {**ACT, "district": "0"})
    assert not admits(named("SubscriberRequest"), {"phone": None, "district": "0"})
    status, body, _ = await api.call("POST", "/api/acts", json_body={**ACT, "district": "0"})
    assert (status, body["field"]) == (400, "district")
    status, body, _ = await api.call(
        "PUT", "/api/subscribers/100200300400500", json_body={"phone": None, "district": "0"}
    )
    assert (status, body["field"]) == (400, "district")


async def test_a_text_body_on_a_status_change_is_415_as_documented(api: Api) -> None:
    application = await make_application(api.services)
    status, body, _ = await api.call(
        "POST",
        f"/api/applications/{application.number}/status",
        data=json.dumps(GOOD).encode(),
        headers={**AUTH, "Content-Type": "text/plain"},
    )
    assert (status, body["error"]) == (415, "unsupported_media_type")
    for path, operations in openapi.document()["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "415" in operation["responses"], (method, path)
