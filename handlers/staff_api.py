"""Staff HTTP API on the bot's aiohttp server: list and read applications, change their status.

Every route needs ``Authorization: Bearer <STAFF_API_TOKEN>``; without that setting the API is
off and answers 503. Errors are JSON ``{"error": code, "message": ..., ...}`` and a client's
mistake is always a 4xx, never a 500. The routes are described by :mod:`handlers.openapi`
(``GET /api/openapi.json``), whose test keeps the two in step.

The list shows no personal data (no names, FIN, ID card, phone or e-mail): only the detail of
one application carries the applicant, which staff need to handle it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from aiohttp import web
from multidict import MultiMapping
from pydantic import SecretStr
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from delivery.notices import status_label
from domain.application_status import (
    ApplicationStatus,
    TransitionError,
    allowed_targets,
    parse_status,
)
from handlers.health import SERVICES
from i18n import BAKU
from observability.log_limits import LogLimit
from storage import status_changes
from storage.models import Application, ApplicationStatusChange

log = logging.getLogger(__name__)

PREFIX: Final = "/api"
LIST_PATH: Final = f"{PREFIX}/applications"
DETAIL_PATH: Final = f"{PREFIX}/applications/{{number}}"
STATUS_PATH: Final = f"{PREFIX}/applications/{{number}}/status"
LIST_PARAMETERS: Final = ("status", "district", "since", "limit", "cursor")
LIMIT_DEFAULT: Final = 50
LIMIT_MAX: Final = 200
MAX_BODY: Final = 16 * 1024
ACTOR_MAX: Final = 64
DISTRICT_MAX: Final = 100
NUMBER_MAX: Final = 32
BODY_FIELDS: Final = frozenset({"status", "comment", "actor"})
# 409; other refusals: 422
CONFLICTS: Final = frozenset({"illegal", "final", "same_status", "changed_meanwhile"})
LABEL_LOCALE: Final = "az"

_NUMBER = re.compile(r"[A-Za-z0-9-]+")
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,200}")
_LIMIT = re.compile(r"[0-9]{1,4}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Handler = Callable[[web.Request], Awaitable[web.Response]]
#: Anyone can send a bad token: one line a minute, with a count of the others (the process's
#: staff API and acts API share it).
BAD_TOKENS = LogLimit()


class ApiError(Exception):
    """A refusal answered as ``{"error": code, "message": ..., **extra}``."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status = status
        self.body: dict[str, Any] = {"error": error, "message": message, **extra}
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        return web.json_response(self.body, status=self.status, headers=self.headers)


def bad_parameter(name: str, message: str) -> ApiError:
    return ApiError(400, "bad_parameter", message, parameter=name)


def bad_field(error: str, name: str, message: str) -> ApiError:
    return ApiError(400, error, message, field=name)


def not_found(number: str) -> ApiError:
    return ApiError(404, "not_found", f"no application {number}")


# --------------------------------------------------------------------------- auth


def guarded(token: SecretStr | None, handler: Handler, parameters: Sequence[str] = ()) -> Handler:
    """The handler behind the API switch, the bearer token and a query parameter whitelist."""
    secret = token.get_secret_value().strip() if token is not None else ""
    expected = secret.encode() if secret else None

    async def guard(request: web.Request) -> web.Response:
        try:
            if expected is None:
                raise ApiError(503, "staff_api_disabled", "STAFF_API_TOKEN is not set")
            authorize(request, expected)
            reject_unknown_parameters(request.query, parameters)
            return await handler(request)
        except ApiError as error:
            return error.response()

    return guard


def authorize(request: web.Request, expected: bytes) -> None:
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    given_bytes = given.strip().encode("utf-8", "surrogatepass")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given_bytes, expected):
        BAD_TOKENS.warning(
            log, "staff-api-bad-token", "Staff API call without a valid token from %s",
            request.remote,
        )  # fmt: skip
        raise ApiError(
            401,
            "unauthorized",
            "send Authorization: Bearer <STAFF_API_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )


def reject_unknown_parameters(query: MultiMapping[str], known: Sequence[str]) -> None:
    for name in query:
        if name not in known:
            raise ApiError(400, "unknown_parameter", f"unknown parameter {name!r}", parameter=name)
        if len(query.getall(name)) > 1:
            raise bad_parameter(name, f"{name} given more than once")


# --------------------------------------------------------------------------- list


@dataclass(frozen=True, slots=True)
class ListQuery:
    status: ApplicationStatus | None = None
    district: str | None = None
    since: datetime | None = None
    limit: int = LIMIT_DEFAULT
    after: tuple[datetime, int] | None = None  # the cursor: (created_at, id) of the last item


def parse_list_query(query: MultiMapping[str]) -> ListQuery:
    status = district = since = after = None
    limit = LIMIT_DEFAULT
    if "status" in query:
        status = parse_status(query["status"])
        if status is None:
            known = ", ".join(ApplicationStatus)
            raise bad_parameter("status", f"unknown status; one of {known}")
    if "district" in query:
        district = query["district"].strip()
        if not 0 < len(district) <= DISTRICT_MAX or not printable(district, _CONTROL):
            raise bad_parameter("district", f"a district name of 1..{DISTRICT_MAX} characters")
    if "since" in query:
        since = parse_since(query["since"])
    if "limit" in query:
        raw = query["limit"].strip()
        limit = int(raw) if _LIMIT.fullmatch(raw) else 0
        if not 1 <= limit <= LIMIT_MAX:
            raise bad_parameter("limit", f"an integer from 1 to {LIMIT_MAX}")
    if "cursor" in query:
        after = decode_cursor(query["cursor"])
    return ListQuery(status, district, since, limit, after)


def parse_since(raw: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is Baku time."""
    try:
        moment = datetime.fromisoformat(raw.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=BAKU)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise bad_parameter(
            "since", "an ISO 8601 date or date-time, e.g. 2026-03-01 or 2026-03-01T09:00:00Z"
        ) from None


def encode_cursor(application: Application) -> str:
    raw = json.dumps([application.created_at.astimezone(UTC).isoformat(), application.id])
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(raw: str) -> tuple[datetime, int]:
    try:
        if not _CURSOR.fullmatch(raw):
            raise ValueError("not base64url")
        decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        moment, row_id = decoded
        if not isinstance(moment, str) or type(row_id) is not int or not 0 < row_id < 2**63:
            raise ValueError("not a cursor")
        created_at = datetime.fromisoformat(moment)
        if created_at.tzinfo is None:
            raise ValueError("naive cursor")
        return created_at.astimezone(UTC), row_id
    except (ValueError, TypeError, OverflowError, binascii.Error):
        raise bad_parameter("cursor", "not a cursor from next_cursor") from None


async def page(session: AsyncSession, query: ListQuery) -> Sequence[Application]:
    """Up to ``limit + 1`` applications, newest first (the extra one says there are more)."""
    statement = select(Application)
    if query.status is not None:
        statement = statement.where(Application.status == query.status)
    if query.district is not None:
        statement = statement.where(Application.district == query.district)
    if query.since is not None:
        statement = statement.where(Application.created_at >= query.since)
    if query.after is not None:
        created_at, row_id = query.after
        statement = statement.where(
            or_(
                Application.created_at < created_at,
                and_(Application.created_at == created_at, Application.id < row_id),
            )
        )
    statement = statement.order_by(Application.created_at.desc(), Application.id.desc())
    result = await session.execute(statement.limit(query.limit + 1))
    return result.scalars().all()


async def list_applications(request: web.Request) -> web.Response:
    query = parse_list_query(request.query)
    async with request.app[SERVICES].sessions() as session:
        rows = await page(session, query)
    items = rows[: query.limit]
    more = len(rows) > query.limit
    return web.json_response(
        {
            "items": [summary(application) for application in items],
            "next_cursor": encode_cursor(items[-1]) if more else None,
        }
    )


# --------------------------------------------------------------------------- representation


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def decimal_text(value: Decimal) -> str:
    return format(value, "f")


def label(status: str) -> str:
    return status_label(status, LABEL_LOCALE) if parse_status(status) else status


def summary(application: Application) -> dict[str, Any]:
    """What a list shows: the application without its applicant."""
    return {
        "number": application.number,
        "status": application.status,
        "status_label": label(application.status),
        "created_at": timestamp(application.created_at),
        "status_changed_at": timestamp(application.status_changed_at),
        "district": application.district,
        "regional_unit": application.regional_unit,
        "phase": application.phase,
        "requested_power_kw": decimal_text(application.requested_power_kw),
        "fee_amount": decimal_text(application.fee_amount),
        "fee_rule_set": application.fee_rule_set,
        "distance_m": application.distance_m,
    }


def detail(application: Application, changes: Sequence[ApplicationStatusChange]) -> dict[str, Any]:
    """The whole record: summary, applicant, request, location, quote, history, next steps."""
    status = parse_status(application.status)
    return {
        **summary(application),
        "updated_at": timestamp(application.updated_at),
        "applicant": {
            "first_name": application.first_name,
            "last_name": application.last_name,
            "patronymic": application.patronymic,
            "fin": application.fin,
            "id_card": application.id_card,
            "phone": application.phone_e164,
            "email": application.email,
        },
        "execution_period": application.execution_period,
        "object_type": application.object_type,
        "has_general_conditions": application.has_general_conditions,
        "registry_number": application.registry_number,
        "registration_number": application.registration_number,
        "latitude": application.latitude,
        "longitude": application.longitude,
        "power_centre": application.power_centre,
        "quote": application.quote,
        "history": [
            {
                "from_status": change.from_status,
                "to_status": change.to_status,
                "actor": change.actor,
                "comment": change.comment,
                "changed_at": timestamp(change.changed_at),
            }
            for change in changes
        ],
        "allowed_targets": (
            [str(t) for t in allowed_targets(status, free=application.fee_amount == 0)]
            if status
            else []
        ),
    }


# --------------------------------------------------------------------------- one application


def path_number(request: web.Request) -> str:
    number = request.match_info["number"]
    if len(number) > NUMBER_MAX or not _NUMBER.fullmatch(number):
        raise not_found(number[:NUMBER_MAX])
    return number.upper()


async def get_application(request: web.Request) -> web.Response:
    number = path_number(request)
    async with request.app[SERVICES].sessions() as session:
        application = await status_changes.by_number(session, number)
        if application is None:
            raise not_found(number)
        body = detail(application, await status_changes.history(session, application.id))
    return web.json_response(body)


@dataclass(frozen=True, slots=True)
class StatusRequest:
    status: str
    actor: str
    comment: str | None


async def read_body(request: web.Request) -> bytes:
    """The request body, refused with 413 past :data:`MAX_BODY` bytes (declared or sent)."""
    too_large = ApiError(413, "body_too_large", f"the body may have at most {MAX_BODY} bytes")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise too_large
    body = bytearray()
    try:
        while chunk := await request.content.read(MAX_BODY + 1 - len(body)):
            body += chunk
            if len(body) > MAX_BODY:
                raise too_large
    except web.RequestPayloadError:  # a Content-Encoding the body does not match
        raise ApiError(400, "bad_body_encoding", "the body does not match its encoding") from None
    return bytes(body)


def json_object(raw: bytes, known: frozenset[str]) -> dict[str, Any]:
    """The body as a JSON object with only ``known`` fields; 400 otherwise."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        raise ApiError(400, "bad_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_body", "the body must be a JSON object")
    for name in body:
        if name not in known:
            raise bad_field("unknown_field", name, f"unknown field {name!r}")
    return body


def parse_status_request(raw: bytes) -> StatusRequest:
    body = json_object(raw, BODY_FIELDS)
    status = text_field(body, "status", required=True)
    actor = (text_field(body, "actor", required=True) or "").strip()
    if not 1 <= len(actor) <= ACTOR_MAX or not printable(actor, _CONTROL):
        raise bad_field("invalid_field", "actor", f"actor: 1..{ACTOR_MAX} printable characters")
    comment = text_field(body, "comment", required=False)
    assert status is not None
    return StatusRequest(status, actor, comment)


def text_field(body: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    if name not in body:
        if required:
            raise bad_field("missing_field", name, f"{name} is required")
        return None
    value = body[name]
    if value is None and not required:
        return None
    if not isinstance(value, str):
        kind = "a string" if required else "a string or null"
        raise bad_field("wrong_type", name, f"{name} must be {kind}")
    if not printable(value, _CONTROL_BUT_LINES):
        raise bad_field("invalid_field", name, f"{name}: control characters or broken Unicode")
    return value


def printable(text: str, control: re.Pattern[str]) -> bool:
    """No control characters and valid Unicode (a lone surrogate cannot be stored)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return control.search(text) is None


def refusal(error: TransitionError) -> ApiError:
    refused = ApiError(409 if error.reason in CONFLICTS else 422, error.reason, str(error))
    refused.body.update(
        {
            "from": str(error.current),
            "to": error.target,
            "allowed": [str(target) for target in allowed_targets(error.current)],
        }
    )
    return refused


async def post_status(request: web.Request) -> web.Response:
    number = path_number(request)
    change = parse_status_request(await read_body(request))
    async with request.app[SERVICES].sessions.begin() as session:
        try:
            done = await status_changes.change_status(
                session, number, change.status, actor=change.actor, comment=change.comment
            )
        except status_changes.ApplicationNotFound:
            raise not_found(number) from None
        except TransitionError as error:
            raise refusal(error) from None
        changes = await status_changes.history(session, done.application.id)
        body = {**detail(done.application, changes), "notices_queued": done.queued}
    log.info(
        "Application %s: %s → %s by %s (API), %d notices",
        number,
        done.change.from_status,
        done.change.to_status,
        change.actor,
        done.queued,
    )
    return web.json_response(body)


def routes(token: SecretStr | None) -> list[web.RouteDef]:
    """The staff API routes (register :mod:`handlers.openapi` too, for the document)."""
    return [
        web.get(
            LIST_PATH,
            guarded(token, list_applications, LIST_PARAMETERS),
            allow_head=False,
        ),
        web.get(DETAIL_PATH, guarded(token, get_application), allow_head=False),
        web.post(STATUS_PATH, guarded(token, post_status)),
    ]
