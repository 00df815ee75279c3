"""GET /api/openapi.json: the OpenAPI 3.1 document of the staff API (public, no token).

Generated from the request and answer models (:mod:`handlers.api_models`,
:mod:`handlers.act_models`; their ``$defs`` become ``components/schemas``) and the route table
:data:`OPERATIONS` below, where a route is one line; only the descriptions are written here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from handlers import act_models as acts
from handlers import acts_api, objections_api, payments_callback
from handlers import api_models as apps
from handlers import objection_models as objs
from handlers import payment_models as pay
from handlers import staff_api as api
from handlers.api_values import PREFIX
from handlers.http_api import JSON, MAX_BODY

PATH: Final = f"{PREFIX}/openapi.json"
REF: Final = "#/components/schemas/{model}"
Codes = dict[int, tuple[str, type[BaseModel] | str]]


@dataclass(frozen=True)
class Operation:
    """One route: its answers by code (a model, or the name of a schema), body and query."""

    method: str
    path: str
    id: str
    summary: str
    answers: Codes
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    parameter: tuple[str, str, str] | None = None  # (name, pattern, description) in the path
    errors: Codes = field(default_factory=dict)
    signed: str | None = None  # the header of an HMAC signature instead of the bearer token


NUMBER: Final = ("number", r"^[A-Za-z0-9-]{1,32}$", "The application number, e.g. QM-2026-000123")
ACT: Final = ("number", r"^[A-Za-z0-9][A-Za-z0-9/-]{0,31}$", "The act number (a / as %2F)")
HMAC: Final = r"^(sha256=)?[0-9a-fA-F]{64}$"
RECEIPT: Final = ("receipt", r"^ET-[0-9]{4}-[0-9]{6}$", "The objection's receipt number")
CODE: Final = ("code", r"^[0-9]{15}$", "The 15-digit subscriber code")
ERROR: Final = apps.Error
REFUSED: Final = apps.TransitionRefused
ACT_REFUSED: Final = acts.ActTransitionRefused

OPERATIONS: Final = [
    Operation("get", api.LIST_PATH, "listApplications", "Applications, newest first, paged",
              {200: ("A page", apps.ApplicationPage)}, query=apps.ApplicationQuery),
    Operation("get", api.DETAIL_PATH, "getApplication", "One application, with its applicant",
              {200: ("The application", apps.ApplicationDetail)}, parameter=NUMBER,
              errors={404: ("No such application", ERROR)}),
    Operation("post", api.STATUS_PATH, "changeApplicationStatus", "Change the status; the "
              "citizen is told", {200: ("Changed", apps.StatusChanged)},
              body=apps.StatusChangeRequest, parameter=NUMBER, errors={
                  404: ("No such application", ERROR),
                  409: ("Not possible now (illegal, final, same_status, changed_meanwhile)",
                        REFUSED),
                  422: ("unknown_status, reason_required or too_long", REFUSED)}),
    Operation("post", acts_api.ACTS_PATH, "registerAct", "Register a violation act; the amount "
              "is computed here and the citizen told", {201: ("Registered", acts.ActRegistered)},
              body=acts.ActRequest, errors={
                  409: ("An act with this number is already registered (exists)", ERROR),
                  422: ("invalid_act, zero_amount or amount_too_large; field names the cause",
                        ERROR)}),
    Operation("get", acts_api.ACT_PATH, "getAct", "One act with its calculation, history, "
              "payments and objections", {200: ("The act", acts.ActDetail)}, parameter=ACT,
              errors={404: ("No such act", ERROR)}),
    Operation("post", acts_api.PAYMENT_PATH, "recordActPayment", "Record a payment "
              "(idempotent by reference)", {200: ("Recorded before: nothing changed",
                                                  acts.PaymentRecorded),
                                            201: ("Recorded", acts.PaymentRecorded)},
              body=acts.PaymentRequest, parameter=ACT, errors={
                  404: ("No such act", ERROR),
                  409: ("cancelled, reference_reused or concurrent_payment", ERROR),
                  422: ("before_act or too_much_paid", ERROR)}),
    Operation("post", acts_api.ACT_STATUS_PATH, "changeActStatus", "Change the act's status; "
              "the citizen is told", {200: ("Changed", acts.ActStatusChanged)},
              body=acts.ActStatusChangeRequest, parameter=ACT, errors={
                  400: ("A bad body, or an unknown status (unknown_status)", "ErrorOrRefused"),
                  404: ("No such act", ERROR),
                  409: ("final, illegal, same_status or changed_meanwhile", ACT_REFUSED),
                  422: ("disconnected or court before the due date (before_due_date)",
                        ACT_REFUSED)}),
    Operation("put", acts_api.SUBSCRIBER_PATH, "putSubscriber", "The billing system's phone on "
              "file for a subscriber code", {200: ("Stored", acts.Subscriber)},
              body=acts.SubscriberRequest, parameter=CODE),
    Operation("post", payments_callback.PATH, "paymentCallback", "The payment gateway reports "
              "a paid invoice; the application moves on or the act's payment is recorded, and "
              "the citizen is thanked", {200: ("A replay, or not paid: nothing changed",
                                               pay.PaymentCallbackAnswer),
                                         201: ("Recorded", pay.PaymentCallbackAnswer)},
              body=pay.PaymentCallbackRequest, signed=payments_callback.SIGNATURE_HEADER,
              errors={401: ("The signature does not sign the body (bad_signature)", ERROR),
                      404: ("No application or act has this reference", ERROR),
                      409: ("not_payable, cancelled, changed_meanwhile or concurrent_payment",
                            ERROR),
                      422: ("amount_mismatch, before_act or too_much_paid", ERROR),
                      503: ("PAYMENTS_CALLBACK_SECRET is not set", ERROR)}),
    Operation("post", objections_api.ANSWER_PATH, "answerObjection", "Answer an objection "
              "(once); the citizen is told in the chat and by SMS", {200: ("Answered",
                                                                           objs.ObjectionAnswered)},
              body=objs.ObjectionAnswerRequest, parameter=RECEIPT, errors={
                  404: ("No such objection", ERROR),
                  409: ("already_answered, act_closed, or the act changed meanwhile", ERROR),
                  422: ("invalid_field, action_not_allowed or amount_required", ERROR)}),
    Operation("get", objections_api.ACT_LIST_PATH, "listActs", "Acts still owed, oldest due "
              "date first; overdue=true: open past due_on, for staff to act on",
              {200: ("The acts", objs.ActList)}, query=objs.ActQuery),
]  # fmt: skip


def ref(target: type[BaseModel] | str) -> dict[str, str]:
    name = target if isinstance(target, str) else target.__name__
    return {"$ref": REF.format(model=name)}


def answer(description: str, target: type[BaseModel] | str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": ref(target)}}}


def responses(operation: Operation) -> dict[str, Any]:
    codes: Codes = {**operation.answers}
    if operation.query or operation.body or operation.parameter:
        codes[400] = ("A bad parameter or body", ERROR)
    codes[401] = ("No or wrong bearer token", ERROR)
    if operation.body:
        codes[413] = (f"Body larger than {MAX_BODY} bytes", ERROR)
        codes[415] = ("The body is not JSON in UTF-8 (Content-Type: application/json)", ERROR)
    codes[503] = ("STAFF_API_TOKEN is not set: the API is off", ERROR)
    codes.update(operation.errors)
    out = {str(code): answer(*codes[code]) for code in sorted(codes)}
    if not operation.signed:
        out["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string",
                                                                 "const": "Bearer"}}}  # fmt: skip
    if 201 in operation.answers and operation.body is acts.ActRequest:
        out["201"]["headers"] = {"Location": {"schema": {"type": "string"}}}
    return out


def parameters(operation: Operation, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    if operation.signed:
        found.append({"name": operation.signed, "in": "header", "required": True,
                      "description": "sha256=<hex HMAC-SHA256 of the raw body with "
                      "PAYMENTS_CALLBACK_SECRET>",
                      "schema": {"type": "string", "pattern": HMAC}})  # fmt: skip
    if operation.parameter:
        name, pattern, description = operation.parameter
        found.append({"name": name, "in": "path", "required": True, "description": description,
                      "schema": {"type": "string", "pattern": pattern}})  # fmt: skip
    if operation.query:
        query = schemas[operation.query.__name__]
        for name, schema in query["properties"].items():
            schema = dict(schema)
            described = schema.pop("description", name)
            schema.pop("default", None)
            if {"type": "null"} in schema.get("anyOf", []):  # optional: the type, not null
                schema = {**next(s for s in schema.pop("anyOf") if s != {"type": "null"}), **schema}
            found.append({"name": name, "in": "query", "required": False,
                          "description": described, "schema": schema})  # fmt: skip
        del schemas[operation.query.__name__]
    return found


def operation_object(operation: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    done: dict[str, Any] = {"operationId": operation.id, "summary": operation.summary}
    if operation.signed:
        done["security"] = []
    if found := parameters(operation, schemas):
        done["parameters"] = found
    if operation.body:
        done["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(operation.body)}}}
    done["responses"] = responses(operation)
    return done


def models() -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {}
    for operation in OPERATIONS:
        named = [operation.body, operation.query, *(m for _, m in operation.answers.values()),
                 *(m for _, m in operation.errors.values())]  # fmt: skip
        for model in (*named, ERROR):
            if isinstance(model, type):
                seen[model.__name__] = model
    return list(seen.values())


def tidy(node: Any) -> Any:
    """Drop pydantic's titles; ``required`` in name order."""
    if isinstance(node, dict):
        node = {k: tidy(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
        if isinstance(node.get("required"), list):
            node["required"] = sorted(node["required"])
        return node
    return [tidy(item) for item in node] if isinstance(node, list) else node


def document() -> dict[str, Any]:
    listed = models()
    mode = {"Request", "Query"}
    pairs = [(m, "validation" if any(m.__name__.endswith(w) for w in mode) else "serialization")
             for m in listed]  # fmt: skip
    _, top = models_json_schema(pairs, ref_template=REF)  # type: ignore[arg-type]
    schemas = tidy(top.get("$defs", {}))
    schemas["ErrorOrRefused"] = {"anyOf": [ref(ERROR), ref(ACT_REFUSED)]}
    paths: dict[str, Any] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = operation_object(
            operation, schemas
        )
    paths[PATH] = {"get": {"operationId": "getOpenApi", "summary": "This document",
                           "security": [], "responses": {"200": {"description": "OpenAPI 3.1",
                           "content": {JSON: {"schema": {"type": "object"}}}}}}}  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Azərişıq bot staff API", "version": "1.0.0",
            "description": "Connection applications and violation acts for staff. Send "
            "Authorization: Bearer <STAFF_API_TOKEN>; errors are JSON with a stable `error` "
            "code. Money and kWh are decimal strings.",
        },
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
                       "schemas": schemas},
    }  # fmt: skip


BODY: Final = json.dumps(document(), ensure_ascii=False, indent=1).encode()


async def serve(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type=JSON)


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, serve, allow_head=False)]
