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
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web
from multidict import MultiMapping
from pydantic import SecretStr

from delivery import application_changes
from delivery.notices import status_label
from domain.application_status import ApplicationStatus, allowed_targets, parse_status
from domain.transitions import TransitionError
from handlers.api_models import (
    LIMIT_DEFAULT,
    ApplicationDetail,
    ApplicationPage,
    ApplicationQuery,
    StatusChanged,
    StatusChangeRequest,
)
from handlers.api_values import PREFIX, decimal_text, history_item, timestamp
from handlers.health import SERVICES
from handlers.http_api import (
    ApiError,
    bad_parameter,
    guarded,
    parse_body,
    parse_query,
    read_body,
    respond,
    transition_refused,
)
from i18n import BAKU
from storage import applications, status_changes
from storage.models import Application, ApplicationStatusChange

log = logging.getLogger(__name__)

LIST_PATH: Final = f"{PREFIX}/applications"
DETAIL_PATH: Final = f"{PREFIX}/applications/{{number}}"
STATUS_PATH: Final = f"{PREFIX}/applications/{{number}}/status"
NUMBER_MAX: Final = 32
LABEL_LOCALE: Final = "az"

_NUMBER = re.compile(r"[A-Za-z0-9-]+")
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,200}")


def not_found(number: str) -> ApiError:
    return ApiError(404, "not_found", f"no application {number}")


# --------------------------------------------------------------------------- list


@dataclass(frozen=True, slots=True)
class ListQuery:
    status: ApplicationStatus | None = None
    district: str | None = None
    since: datetime | None = None
    limit: int = LIMIT_DEFAULT
    after: tuple[datetime, int] | None = None  # the cursor: (created_at, id) of the last item


def parse_list_query(query: MultiMapping[str]) -> ListQuery:
    parsed = parse_query(ApplicationQuery, query)
    return ListQuery(
        status=parsed.status,
        district=parsed.district,
        since=parse_since(parsed.since) if parsed.since is not None else None,
        limit=parsed.limit,
        after=decode_cursor(parsed.cursor) if parsed.cursor is not None else None,
    )


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


async def list_applications(request: web.Request) -> web.Response:
    query = parse_list_query(request.query)
    async with request.app[SERVICES].sessions() as session:
        rows = await applications.newest_first(
            session,
            status=query.status,
            district=query.district,
            since=query.since,
            after=query.after,
            limit=query.limit + 1,
        )
    items = rows[: query.limit]
    more = len(rows) > query.limit
    return respond(
        ApplicationPage,
        {
            "items": [summary(application) for application in items],
            "next_cursor": encode_cursor(items[-1]) if more else None,
        },
    )


# --------------------------------------------------------------------------- representation


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
        "history": [history_item(change) for change in changes],
        "allowed_targets": (
            [str(t) for t in allowed_targets(status, free=application.free)] if status else []
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
    return respond(ApplicationDetail, body)


async def post_status(request: web.Request) -> web.Response:
    number = path_number(request)
    change = parse_body(StatusChangeRequest, await read_body(request))
    async with request.app[SERVICES].sessions.begin() as session:
        try:
            done = await application_changes.change_status(
                session, number, change.status, actor=change.actor, comment=change.comment
            )
        except status_changes.ApplicationNotFound:
            raise not_found(number) from None
        except TransitionError as error:
            application = await status_changes.by_number(session, number)
            free = application is not None and application.free
            raise transition_refused(error, allowed_targets(error.current, free=free)) from None
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
    return respond(StatusChanged, body)


def routes(token: SecretStr | None) -> list[web.RouteDef]:
    """The staff API routes (register :mod:`handlers.openapi` too, for the document)."""
    return [
        web.get(
            LIST_PATH,
            guarded(token, list_applications, tuple(ApplicationQuery.model_fields)),
            allow_head=False,
        ),
        web.get(DETAIL_PATH, guarded(token, get_application), allow_head=False),
        web.post(STATUS_PATH, guarded(token, post_status)),
    ]
