"""GET /api/openapi.json: the OpenAPI 3.1 description of the staff API (public, no token).

Built from the constants of :mod:`handlers.staff_api` and :mod:`handlers.acts_api` and from the
domain's vocabularies (statuses, violation types, load kinds, rule sets); a test validates it and
checks that its operations are exactly the ``/api`` routes of the server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Final

from aiohttp import web

from domain.acts import ActStatus, LoadKind, ViolationType
from domain.application_status import COMMENT_MAX, ApplicationStatus, TransitionError
from domain.objections import ANSWER_MAX, ANSWER_MIN, ActAction, ObjectionState, Outcome
from domain.recalculation import default_rules
from handlers import acts_api, objections_api
from handlers import staff_api as api
from handlers.acts_api import ACT_DAY_MIN, HISTORY_DAY_MIN
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


def day(description: str) -> Schema:
    return {"type": "string", "format": "date", "description": description}


def one_of(values: Iterable[StrEnum]) -> Schema:
    return {"type": "string", "enum": [str(value) for value in values]}


def text(maximum: int, description: str) -> Schema:
    return {"type": "string", "minLength": 1, "maxLength": maximum, "description": description}


def decimal_input(
    pattern: re.Pattern[str], description: str, *, positive: bool, maximum: float | None = None
) -> Schema:
    """A decimal the handler reads from a JSON string (preferred) or a JSON number."""
    number: Schema = {"type": "number", "exclusiveMinimum" if positive else "minimum": 0}
    if maximum is not None:
        number["maximum"] = maximum
    return {
        "description": f'{description}; a JSON string like "12.50", or a number',
        "anyOf": [{"type": "string", "pattern": f"^(?:{pattern.pattern})$"}, number],
    }


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


# --------------------------------------------------------------------------- violation acts

ACT_REASONS: Final = sorted({*api.CONFLICTS, "unknown_status", "before_due_date"})
RULE_SETS: Final = [rule_set.id for rule_set in default_rules().rule_sets]
ACT_DECIMAL: Final[Schema] = {**DECIMAL, "description": "AZN (decimal string)"}
KWH: Final[Schema] = {**DECIMAL, "description": "kWh (decimal string)"}
NAME: Final[Schema] = text(api.ACTOR_MAX, "A person, as staff write it")
ACTOR: Final[Schema] = text(api.ACTOR_MAX, "Who does it (kept in the history)")

LOAD: Final[Schema] = record(
    {
        "kind": ref("LoadKind"),
        "power_w": {**DECIMAL, "description": "W (decimal string)"},
        "description": {"type": "string", "description": "Empty when none was given"},
    },
    "A load the inspectors found",
)

LOAD_REQUEST: Final[Schema] = {
    "type": "object",
    "description": "A load the inspectors found",
    "required": ["kind", "power_w"],
    "properties": {
        "kind": ref("LoadKind"),
        "power_w": decimal_input(
            acts_api._DECIMAL,
            f"Power, W: more than 0, at most {acts_api.POWER_MAX_W}",
            positive=True,
            maximum=float(acts_api.POWER_MAX_W),
        ),
        "description": nullable(text(acts_api.DESCRIPTION_MAX, "e.g. the appliance")),
    },
    "additionalProperties": False,
}

TIER: Final[Schema] = record(
    {
        "from_kwh": KWH,
        "to_kwh": nullable({**KWH, "description": "kWh (decimal string); null: no upper bound"}),
        "rate_qepik": {**DECIMAL, "description": "qəpik per kWh (decimal string)"},
        "kwh": {**KWH, "description": "The month's kWh inside this tier (decimal string)"},
    },
    "One tariff tier of one month",
)

CALCULATION_MONTH: Final[Schema] = record(
    {
        "month": {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$", "examples": ["2025-01"]},
        "days": {"type": "integer", "minimum": 0, "description": "Days of the period in it"},
        "kwh": KWH,
        "billed_kwh": {**KWH, "description": "Its share of already_billed_kwh (decimal string)"},
        "tariff": {"type": "string", "description": "The household tariff that priced it"},
        "tiers": {"type": "array", "items": TIER},
        "amount": {**ACT_DECIMAL, "description": "kwh at the month's tariff, AZN"},
        "billed_amount": {**ACT_DECIMAL, "description": "billed_kwh at the same tariff, AZN"},
        "due": {**ACT_DECIMAL, "description": "amount − billed_amount, AZN (may be negative)"},
    },
    "One calendar month of the recalculated period",
)

CALCULATION: Final[Schema] = record(
    {
        "rule_set": {"type": "string", "description": "The dated rules applied"},
        "references": {"type": "array", "items": {"type": "string"}},
        "latitude": {"type": "number", "description": "Of the district, for lighting hours"},
        "period_start": day("The first day counted"),
        "period_end": day("The detection day (not counted)"),
        "days": {"type": "integer", "minimum": 0},
        "capped_by": {
            "type": "array",
            "items": {"type": "string", "enum": ["limitation", "max_months"]},
            "description": "What moved the period's start later than the last inspection",
        },
        "burning_hours": nullable(
            {**DECIMAL, "description": "Lighting hours; null when the rules count no lighting"}
        ),
        "lighting_kwh": KWH,
        "sockets_kwh": KWH,
        "appliances_kwh": KWH,
        "receivers_kwh": KWH,
        "kwh": KWH,
        "already_billed_kwh": KWH,
        "months": {"type": "array", "items": CALCULATION_MONTH},
        "total": ACT_DECIMAL,
        "due_on": day("The payment deadline"),
        "estimate": {"type": "boolean", "description": "Lighting hours computed from the sun"},
    },
    "The recalculation as computed at registration, month by month",
)

ACT_HISTORY_ITEM: Final[Schema] = record(
    {
        "from_status": nullable(ref("ActStatus")),
        "to_status": ref("ActStatus"),
        "actor": {"type": "string"},
        "comment": nullable({"type": "string"}),
        "changed_at": timestamp("UTC"),
    },
    "One status change (the first one registers the act)",
)

PAYMENT: Final[Schema] = record(
    {
        "amount": ACT_DECIMAL,
        "paid_at": timestamp("UTC"),
        "reference": {"type": "string", "description": "The payment system's reference"},
        "actor": {"type": "string"},
    },
    "A payment against the act",
)

OBJECTION: Final[Schema] = record(
    {
        "receipt_number": {"type": "string", "examples": ["ET-2026-000001"]},
        "text": {"type": "string"},
        "photo_file_ids": {"type": "array", "items": {"type": "string"}},
        "created_at": timestamp("UTC"),
        "answer_due_on": day("The answer is due by this day"),
        "state": {
            "enum": [state.value for state in ObjectionState],
            "description": "received; overdue: unanswered after answer_due_on; answered",
        },
        "outcome": nullable(one_of(Outcome)),
        "answer": nullable({"type": "string", "description": "The answer the citizen read"}),
        "answered_at": nullable(timestamp("UTC")),
    },
    "A citizen's objection to the act (without the citizen)",
)

ACT_FIELDS: Final[dict[str, Schema]] = {
    "number": {"type": "string", "examples": ["AKT-2026-0001"]},
    "subscriber_code": {"type": "string", "pattern": r"^[0-9]{15}$"},
    "address": {"type": "string"},
    "district": {"type": "string"},
    "consumer_phone": nullable({"type": "string", "description": "E.164"}),
    "violation_type": ref("ViolationType"),
    "detected_on": day("The detection day"),
    "last_inspection_on": nullable(day("The last inspection before it")),
    "account_opened_on": nullable(day("When the personal account was opened")),
    "issued_on": day("When the act was issued"),
    "due_on": day("The payment deadline: the rules' days to pay after registration"),
    "days_left": {"type": "integer", "description": "Until due_on (Baku): 0 on it, < 0 after"},
    "signed": {"type": "boolean", "description": "False: the consumer refused to sign"},
    "inspectors": {"type": "array", "items": {"type": "string"}},
    "loads": {"type": "array", "items": LOAD},
    "rule_set": {"type": "string", "description": "The dated recalculation rules applied"},
    "amount": {**ACT_DECIMAL, "description": "The recalculated amount, AZN (decimal string)"},
    "paid_amount": {**ACT_DECIMAL, "description": "Paid so far, AZN (decimal string)"},
    "outstanding": {**ACT_DECIMAL, "description": "Still to pay, AZN (decimal string)"},
    "status": ref("ActStatus"),
    "allowed_targets": {
        "type": "array",
        "items": ref("ActStatus"),
        "description": "The statuses it may change to (some only after due_on)",
    },
    "calculation": ref("ActCalculation"),
    "history": {"type": "array", "items": ACT_HISTORY_ITEM},
    "payments": {"type": "array", "items": PAYMENT},
    "objections": {"type": "array", "items": OBJECTION},
    "created_at": timestamp("When it was registered (UTC)"),
}

NOTICES_QUEUED: Final[Schema] = {
    "type": "integer",
    "minimum": 0,
    "description": "Notices queued to the chats following the code and the phone on file",
}


def request(fields: dict[str, Schema], required: list[str], description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "required": required,
        "properties": fields,
        "additionalProperties": False,
    }


ACT_OPTIONAL: Final = frozenset(
    {"consumer_phone", "account_opened_on", "issued_on", "already_billed_kwh", "rule_set"}
)

ACT_REQUEST: Final[Schema] = request(
    {
        "number": {
            **text(acts_api.ACT_NUMBER_MAX, "The act's number (stored upper-case)"),
            "pattern": f"^(?:{acts_api._ACT_NUMBER.pattern})$",
        },
        "subscriber_code": {
            **text(40, "15 digits; spaces and dashes between groups are ignored"),
            "examples": ["100200300400500"],
        },
        "address": text(acts_api.ADDRESS_MAX, "Where the violation was found"),
        "district": text(api.DISTRICT_MAX, "A district of Azerbaijan (not Nakhchivan)"),
        "consumer_phone": nullable(
            {"type": "string", "description": "Azerbaijani mobile number; told by SMS"}
        ),
        "detected_on": day(
            f"The detection day (YYYY-MM-DD), from {ACT_DAY_MIN}, not in the future"
        ),
        "last_inspection_on": day(
            f"The last inspection day, from {HISTORY_DAY_MIN}, not after detected_on"
        ),
        "account_opened_on": nullable(
            day(f"Needed for a hidden line; from {HISTORY_DAY_MIN}, not after detected_on")
        ),
        "issued_on": nullable(day(f"Default: detected_on; from {ACT_DAY_MIN}, not in the future")),
        "violation_type": ref("ViolationType"),
        "loads": {
            "type": "array",
            "items": ref("LoadRequest"),
            "minItems": 1,
            "maxItems": acts_api.LOADS_MAX,
            "description": f"At most {acts_api.POWER_MAX_W} W together",
        },
        "signed": {"type": "boolean", "description": "False: the consumer refused to sign"},
        "inspectors": {
            "type": "array",
            "items": NAME,
            "minItems": 1,
            "maxItems": acts_api.INSPECTORS_MAX,
        },
        "already_billed_kwh": nullable(
            decimal_input(
                acts_api._DECIMAL,
                f"kWh billed over the period, at most {acts_api.KWH_MAX}; if they cover the "
                "recalculated kWh, the act is refused (422 zero_amount)",
                positive=False,
                maximum=float(acts_api.KWH_MAX),
            )
        ),
        "rule_set": nullable(
            {
                "type": "string",
                "enum": RULE_SETS,
                "description": "Default: the rules in force on detected_on",
            }
        ),
        "actor": ACTOR,
    },
    sorted(acts_api.ACT_FIELDS - ACT_OPTIONAL),
    "A violation act to register; the amount is computed by the dated recalculation rules",
)

ACT_SCHEMAS: Final[dict[str, Schema]] = {
    "ActStatus": one_of(ActStatus),
    "ViolationType": one_of(ViolationType),
    "LoadKind": one_of(LoadKind),
    "LoadRequest": LOAD_REQUEST,
    "ActCalculation": CALCULATION,
    "ActRequest": ACT_REQUEST,
    "ActDetail": record(ACT_FIELDS, "A violation act with its calculation and what followed"),
    "ActRegistered": record(
        {**ACT_FIELDS, "notices_queued": NOTICES_QUEUED},
        "The act as registered, and how many notices were queued",
    ),
    "PaymentRequest": request(
        {
            "amount": decimal_input(
                acts_api._MONEY,
                f"AZN, more than 0, at most {acts_api.AMOUNT_MAX} (all of the act's payments "
                "together too)",
                positive=True,
                maximum=float(acts_api.AMOUNT_MAX),
            ),
            "paid_at": nullable(
                timestamp(
                    f"With its offset; from {acts_api.PAID_AT_MIN.year}, not in the future "
                    f"(our clock + {int(acts_api.CLOCK_SKEW.total_seconds() // 60)} min), not "
                    "before the act's issue day. Default: now"
                )
                | {"examples": ["2026-03-01T09:00:00+04:00"]}
            ),
            "reference": text(
                acts_api.REFERENCE_MAX,
                "The payment system's reference: a repeat with the same amount is harmless",
            ),
            "actor": ACTOR,
        },
        ["amount", "reference", "actor"],
        "A payment; once payments cover the amount, the act is paid",
    ),
    "PaymentRecorded": record(
        {
            **ACT_FIELDS,
            "payment_recorded": {
                "type": "boolean",
                "description": "False: this reference was recorded before; nothing changed",
            },
            "notices_queued": NOTICES_QUEUED,
        },
        "The act after the payment",
    ),
    "ActStatusChangeRequest": request(
        {
            "status": ref("ActStatus"),
            "comment": nullable(
                {"type": "string", "maxLength": COMMENT_MAX, "description": "Kept in the history"}
            ),
            "actor": ACTOR,
        },
        ["status", "actor"],
        "disconnected and court only after due_on; paid and cancelled are final",
    ),
    "ActStatusChanged": record(
        {**ACT_FIELDS, "notices_queued": NOTICES_QUEUED},
        "The act after the change, and how many notices were queued",
    ),
    "ActTransitionRefused": {
        "type": "object",
        "required": ["error", "message", "from", "to", "allowed"],
        "properties": {
            "error": {"type": "string", "enum": ACT_REASONS},
            "message": {"type": "string"},
            "from": ref("ActStatus"),
            "to": {"type": "string"},
            "allowed": {"type": "array", "items": ref("ActStatus")},
        },
        "additionalProperties": False,
    },
    "SubscriberRequest": request(
        {
            "phone": nullable(
                {"type": "string", "description": "Azerbaijani mobile number; null: unknown"}
            ),
            "address": nullable(text(acts_api.ADDRESS_MAX, "Kept as it was when null")),
            "district": nullable(text(api.DISTRICT_MAX, "Kept as it was when null")),
        },
        ["phone"],
        "The billing system's record of a subscriber code",
    ),
    "Subscriber": record(
        {
            "code": {"type": "string", "pattern": r"^[0-9]{15}$"},
            "phone": nullable({"type": "string", "description": "E.164"}),
            "address": nullable({"type": "string"}),
            "district": nullable({"type": "string"}),
        },
        "What was stored (null address or district: the stored one was kept)",
    ),
}

ACT_NUMBER_PARAMETER: Final = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "The act number (case-insensitive); a / in it is sent as %2F",
    "schema": {"type": "string", "maxLength": acts_api.ACT_NUMBER_MAX},
}

CODE_PARAMETER: Final = {
    "name": "code",
    "in": "path",
    "required": True,
    "description": "The 15-digit subscriber code",
    "schema": {"type": "string", "pattern": r"^[0-9]{15}$"},
}


def body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": ref(schema)}}}


def error(description: str) -> dict[str, Any]:
    return response(description, "Error")


TOO_LARGE: Final = error(f"Body larger than {api.MAX_BODY} bytes")
ACT_NOT_FOUND: Final = error("No such act")

REGISTER_ACT_OPERATION: Final = {
    "operationId": "registerAct",
    "summary": "Register a violation act; the amount is computed here and the citizen told",
    "requestBody": body("ActRequest"),
    "responses": {
        "201": {
            **response("Registered", "ActRegistered"),
            "headers": {"Location": {"description": "The act's URL", "schema": {"type": "string"}}},
        },
        **common("400", "401"),
        "409": error("An act with this number is already registered (error: exists)"),
        "413": TOO_LARGE,
        "422": error(
            "The dates do not make an act that can be computed (error: invalid_act), or it "
            "comes to 0.00 AZN (error: zero_amount) or more than the largest amount "
            "(error: amount_too_large); field names the cause"
        ),
        **common("503"),
    },
}

ACT_OPERATION: Final = {
    "operationId": "getAct",
    "summary": "One act with its calculation, history, payments and objections",
    "parameters": [ACT_NUMBER_PARAMETER],
    "responses": {
        "200": response("The act", "ActDetail"),
        **common("400", "401"),
        "404": ACT_NOT_FOUND,
        **common("503"),
    },
}

PAYMENT_OPERATION: Final = {
    "operationId": "recordActPayment",
    "summary": "Record a payment (idempotent by reference); paid in full, the act is paid",
    "parameters": [ACT_NUMBER_PARAMETER],
    "requestBody": body("PaymentRequest"),
    "responses": {
        "200": response("This reference was recorded before: nothing changed", "PaymentRecorded"),
        "201": response("Recorded", "PaymentRecorded"),
        **common("400", "401"),
        "404": ACT_NOT_FOUND,
        "409": error(
            "The act is cancelled (error: cancelled), or the reference was recorded with "
            "another amount (error: reference_reused)"
        ),
        "413": TOO_LARGE,
        "422": error(
            "Paid before the act was issued (error: before_act, field: paid_at), or the act's "
            "payments would add up to more than the largest amount (error: too_much_paid)"
        ),
        **common("503"),
    },
}

ACT_STATUS_OPERATION: Final = {
    "operationId": "changeActStatus",
    "summary": "Change the act's status; the citizen is told",
    "parameters": [ACT_NUMBER_PARAMETER],
    "requestBody": body("ActStatusChangeRequest"),
    "responses": {
        "200": response("Changed", "ActStatusChanged"),
        "400": {
            "description": "A bad body, or an unknown status (error: unknown_status)",
            "content": {JSON: {"schema": {"anyOf": [ref("Error"), ref("ActTransitionRefused")]}}},
        },
        **common("401"),
        "404": ACT_NOT_FOUND,
        "409": response(
            "Not possible from the current status (final, illegal, same_status, changed_meanwhile)",
            "ActTransitionRefused",
        ),
        "413": TOO_LARGE,
        "422": response(
            "disconnected or court before the due date has passed (before_due_date)",
            "ActTransitionRefused",
        ),
        **common("503"),
    },
}

SUBSCRIBER_OPERATION: Final = {
    "operationId": "putSubscriber",
    "summary": "The billing system's phone on file for a subscriber code",
    "parameters": [CODE_PARAMETER],
    "requestBody": body("SubscriberRequest"),
    "responses": {
        "200": response("Stored", "Subscriber"),
        **common("400", "401"),
        "413": TOO_LARGE,
        **common("503"),
    },
}


# --------------------------------------------------------------------------- objections

OBJECTION_SCHEMAS: Final[dict[str, Schema]] = {
    "ObjectionAnswerRequest": request(
        {
            "outcome": one_of(Outcome),
            "text": text(
                ANSWER_MAX, f"The answer for the citizen, at least {ANSWER_MIN} characters"
            ),
            "actor": text(api.ACTOR_MAX, "Who answers (logged)"),
            "act": nullable(
                {
                    **one_of(ActAction),
                    "description": "In the same step: cancel (upheld only) or recompute (upheld "
                    "or partly upheld, with amount)",
                }
            ),
            "amount": nullable(
                decimal_input(
                    acts_api._MONEY,
                    "The act's new amount, AZN: more than 0, less than the old one",
                    positive=True,
                )
            ),
        },
        ["outcome", "text", "actor"],
        "An objection's answer",
    ),
    "ObjectionAnswered": record(
        {
            "objection": OBJECTION,
            "act": ref("ActDetail"),
            "notices_queued": {
                "type": "integer",
                "minimum": 0,
                "description": "The citizen's chat and SMS, and the act's own notices",
            },
        },
        "The answered objection and its act",
    ),
    "ActSummary": record(
        {
            "number": {"type": "string"},
            "subscriber_code": {"type": "string", "pattern": r"^[0-9]{15}$"},
            "district": {"type": "string"},
            "status": ref("ActStatus"),
            "amount": ACT_DECIMAL,
            "outstanding": ACT_DECIMAL,
            "due_on": day("The payment deadline"),
            "days_left": {"type": "integer", "description": "Until due_on (Baku): < 0 after"},
            "overdue": {"type": "boolean", "description": "Open and past due_on: staff decide"},
            "created_at": timestamp("UTC"),
        },
        "An act still owed",
    ),
    "ActList": record(
        {"items": {"type": "array", "items": ref("ActSummary")}}, "Acts, oldest due date first"
    ),
}

RECEIPT_PARAMETER: Final = {
    "name": "receipt",
    "in": "path",
    "required": True,
    "description": "The objection's receipt number",
    "schema": {"type": "string", "pattern": f"^{objections_api.RECEIPT.pattern}$"},
}

ANSWER_OPERATION: Final = {
    "operationId": "answerObjection",
    "summary": "Answer an objection (once); the citizen is told in the chat and by SMS",
    "parameters": [RECEIPT_PARAMETER],
    "requestBody": body("ObjectionAnswerRequest"),
    "responses": {
        "200": response("Answered", "ObjectionAnswered"),
        **common("400", "401"),
        "404": error("No such objection"),
        "409": error(
            "Answered before (error: already_answered), the act is paid or cancelled "
            "(error: act_closed), or its status changed meanwhile"
        ),
        "413": TOO_LARGE,
        "422": error(
            "A text too short (invalid_field), an act action the outcome does not allow "
            "(action_not_allowed), recompute without amount (amount_required)"
        ),
        **common("503"),
    },
}

ACT_LIST_OPERATION: Final = {
    "operationId": "listActs",
    "summary": "Acts still owed; overdue=true: open past their due date, for staff to act on",
    "parameters": [
        query("overdue", "true: open past due_on; false: not yet due", {"enum": ["true", "false"]}),
        query(
            "limit",
            f"At most this many (1 to {api.LIMIT_MAX}, default {api.LIMIT_MAX})",
            {"type": "integer", "minimum": 1, "maximum": api.LIMIT_MAX},
        ),
    ],
    "responses": {
        "200": response("The acts", "ActList"),
        **common("400", "401", "503"),
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Azərişıq bot staff API",
            "version": "1.0.0",
            "description": "Connection applications and violation acts for staff. Send "
            "Authorization: Bearer <STAFF_API_TOKEN>; errors are JSON with a stable `error` "
            "code. Money and kWh are decimal strings.",
        },
        "security": [{"bearerAuth": []}],
        "paths": {
            api.LIST_PATH: {"get": LIST_OPERATION},
            api.DETAIL_PATH: {"get": DETAIL_OPERATION},
            api.STATUS_PATH: {"post": STATUS_OPERATION},
            acts_api.ACTS_PATH: {"post": REGISTER_ACT_OPERATION, "get": ACT_LIST_OPERATION},
            acts_api.ACT_PATH: {"get": ACT_OPERATION},
            acts_api.PAYMENT_PATH: {"post": PAYMENT_OPERATION},
            acts_api.ACT_STATUS_PATH: {"post": ACT_STATUS_OPERATION},
            acts_api.SUBSCRIBER_PATH: {"put": SUBSCRIBER_OPERATION},
            objections_api.ANSWER_PATH: {"post": ANSWER_OPERATION},
            PATH: {"get": OPENAPI_OPERATION},
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {**SCHEMAS, **ACT_SCHEMAS, **OBJECTION_SCHEMAS},
            "responses": RESPONSES,
        },
    }


async def serve(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type=JSON)


BODY: Final = json.dumps(document(), ensure_ascii=False, indent=1).encode()


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, serve, allow_head=False)]
