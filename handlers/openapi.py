"""GET /api/openapi.json: the OpenAPI 3.1 description of the staff API (public, no token).

Built from the constants of :mod:`handlers.staff_api`; a test validates it and checks that its
operations are exactly the ``/api`` routes of the server.
"""

from __future__ import annotations

import json
from typing import Any, Final

from aiohttp import web

from domain.application_status import COMMENT_MAX, ApplicationStatus, TransitionError
from handlers import staff_api as api
from storage.models import ObjectType

PATH: Final = f"{api.PREFIX}/openapi.json"

JSON = "application/json"
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def timestamp(description: str) -> Schema:
    return {"type": "string", "format": "date-time", "description": description}


STATUS: Final[Schema] = {"type": "string", "enum": [str(status) for status in ApplicationStatus]}
DECIMAL: Final[Schema] = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}

SUMMARY_FIELDS: Final[dict[str, Schema]] = {
    "number": {"type": "string", "examples": ["QM-2026-000123"]},
    "status": ref("Status"),
    "status_label": {"type": "string", "description": "The status in Azerbaijani"},
    "created_at": timestamp("When it was submitted (UTC)"),
    "status_changed_at": timestamp("When its status last changed (UTC)"),
    "district": {"type": "string"},
    "regional_unit": nullable({"type": "string"}),
    "phase": {"type": "integer", "description": "1 or 3"},
    "requested_power_kw": {**DECIMAL, "description": "Requested power, kW (decimal string)"},
    "fee_amount": {**DECIMAL, "description": "Connection fee, AZN (decimal string)"},
    "fee_rule_set": {"type": "string", "description": "Which dated fee rules priced it"},
    "distance_m": nullable({"type": "integer", "description": "To the nearest power centre"}),
}

HISTORY_ITEM: Final[Schema] = {
    "type": "object",
    "required": ["from_status", "to_status", "actor", "comment", "changed_at"],
    "properties": {
        "from_status": nullable(ref("Status")),
        "to_status": ref("Status"),
        "actor": {"type": "string"},
        "comment": nullable({"type": "string"}),
        "changed_at": timestamp("UTC"),
    },
    "additionalProperties": False,
}

APPLICANT: Final[Schema] = {
    "type": "object",
    "required": ["first_name", "last_name", "patronymic", "fin", "id_card", "phone", "email"],
    "properties": {
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "patronymic": nullable({"type": "string"}),
        "fin": {"type": "string"},
        "id_card": {"type": "string"},
        "phone": {"type": "string", "description": "E.164"},
        "email": nullable({"type": "string"}),
    },
    "additionalProperties": False,
}

DETAIL_FIELDS: Final[dict[str, Schema]] = {
    **SUMMARY_FIELDS,
    "updated_at": timestamp("UTC"),
    "applicant": APPLICANT,
    "execution_period": nullable({"type": "string"}),
    "object_type": {"type": "string", "enum": [str(kind) for kind in ObjectType]},
    "has_general_conditions": nullable({"type": "boolean"}),
    "registry_number": nullable({"type": "string"}),
    "registration_number": nullable({"type": "string"}),
    "latitude": nullable({"type": "number"}),
    "longitude": nullable({"type": "number"}),
    "power_centre": nullable({"type": "string"}),
    "quote": {"type": "object", "description": "The fee quote as the citizen saw it"},
    "history": {"type": "array", "items": HISTORY_ITEM},
    "allowed_targets": {
        "type": "array",
        "items": ref("Status"),
        "description": "The statuses it may change to now",
    },
}


def record(fields: dict[str, Schema], description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "required": list(fields),
        "properties": fields,
        "additionalProperties": False,
    }


SCHEMAS: Final[dict[str, Schema]] = {
    "Status": STATUS,
    "ApplicationSummary": record(SUMMARY_FIELDS, "An application without personal data"),
    "ApplicationDetail": record(DETAIL_FIELDS, "The whole application, with its applicant"),
    "ApplicationPage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": ref("ApplicationSummary")},
            "next_cursor": nullable(
                {"type": "string", "description": "Pass as cursor for the next page"}
            ),
        },
        "additionalProperties": False,
    },
    "StatusChanged": record(
        {**DETAIL_FIELDS, "notices_queued": {"type": "integer", "minimum": 0}},
        "The application after the change, and how many notices were queued to the citizen",
    ),
    "StatusChangeRequest": {
        "type": "object",
        "required": ["status", "actor"],
        "properties": {
            "status": {"type": "string", "description": "The new status"},
            "actor": {
                "type": "string",
                "minLength": 1,
                "maxLength": api.ACTOR_MAX,
                "description": "Who changes it (kept in the history)",
            },
            "comment": nullable(
                {
                    "type": "string",
                    "maxLength": COMMENT_MAX,
                    "description": "Shown to the citizen; required to reject",
                }
            ),
        },
        "additionalProperties": False,
    },
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "A stable code"},
            "message": {"type": "string"},
            "parameter": {"type": "string", "description": "The query parameter at fault"},
            "field": {"type": "string", "description": "The body field at fault"},
        },
        "additionalProperties": False,
    },
    "TransitionRefused": {
        "type": "object",
        "required": ["error", "message", "from", "to", "allowed"],
        "properties": {
            "error": {"type": "string", "enum": list(TransitionError.REASONS)},
            "message": {"type": "string"},
            "from": ref("Status"),
            "to": {"type": "string"},
            "allowed": {"type": "array", "items": ref("Status")},
        },
        "additionalProperties": False,
    },
}


def response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": ref(schema)}}}


RESPONSES: Final[dict[str, Any]] = {
    "BadRequest": response("A bad parameter or body", "Error"),
    "Unauthorized": {
        **response("No or wrong bearer token", "Error"),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}},
    },
    "NotFound": response("No such application", "Error"),
    "Disabled": response("STAFF_API_TOKEN is not set: the API is off", "Error"),
}


def common(*codes: str) -> dict[str, Any]:
    names = {"400": "BadRequest", "401": "Unauthorized", "404": "NotFound", "503": "Disabled"}
    return {code: {"$ref": f"#/components/responses/{names[code]}"} for code in codes}


def query(name: str, description: str, schema: Schema) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


NUMBER_PARAMETER: Final = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "The application number, e.g. QM-2026-000123 (case-insensitive)",
    "schema": {"type": "string", "maxLength": api.NUMBER_MAX},
}

LIST_OPERATION: Final = {
    "operationId": "listApplications",
    "summary": "Applications, newest first, without personal data",
    "parameters": [
        query("status", "Only this status", ref("Status")),
        query(
            "district",
            "Only this district (exact name)",
            {"type": "string", "minLength": 1, "maxLength": api.DISTRICT_MAX},
        ),
        query(
            "since",
            "Submitted at or after: ISO 8601 date or date-time (no offset: Baku)",
            {"type": "string", "examples": ["2026-03-01", "2026-03-01T09:00:00Z"]},
        ),
        query(
            "limit",
            "Page size",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": api.LIMIT_MAX,
                "default": api.LIMIT_DEFAULT,
            },
        ),
        query("cursor", "next_cursor of the previous page", {"type": "string"}),
    ],
    "responses": {
        "200": response("A page of applications", "ApplicationPage"),
        **common("400", "401", "503"),
    },
}

DETAIL_OPERATION: Final = {
    "operationId": "getApplication",
    "summary": "One application with its applicant, history and possible next statuses",
    "parameters": [NUMBER_PARAMETER],
    "responses": {
        "200": response("The application", "ApplicationDetail"),
        **common("400", "401", "404", "503"),
    },
}

STATUS_OPERATION: Final = {
    "operationId": "changeApplicationStatus",
    "summary": "Change the status; the citizen is notified on each of their channels",
    "parameters": [NUMBER_PARAMETER],
    "requestBody": {
        "required": True,
        "content": {JSON: {"schema": ref("StatusChangeRequest")}},
    },
    "responses": {
        "200": response("Changed", "StatusChanged"),
        **common("400", "401", "404"),
        "409": response("Not possible from the current status", "TransitionRefused"),
        "413": response(f"Body larger than {api.MAX_BODY} bytes", "Error"),
        "422": response(
            "Unknown status, no reason to reject, or comment too long", "TransitionRefused"
        ),
        **common("503"),
    },
}

OPENAPI_OPERATION: Final = {
    "operationId": "getOpenApi",
    "summary": "This document",
    "security": [],
    "responses": {"200": {"description": "OpenAPI 3.1", "content": {JSON: {"schema": {}}}}},
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Azərişıq bot staff API",
            "version": "1.0.0",
            "description": "Connection applications for staff. Send Authorization: Bearer "
            "<STAFF_API_TOKEN>; errors are JSON with a stable `error` code.",
        },
        "security": [{"bearerAuth": []}],
        "paths": {
            api.LIST_PATH: {"get": LIST_OPERATION},
            api.DETAIL_PATH: {"get": DETAIL_OPERATION},
            api.STATUS_PATH: {"post": STATUS_OPERATION},
            PATH: {"get": OPENAPI_OPERATION},
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
            "responses": RESPONSES,
        },
    }


async def serve(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type=JSON)


BODY: Final = json.dumps(document(), ensure_ascii=False, indent=1).encode()


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, serve, allow_head=False)]
