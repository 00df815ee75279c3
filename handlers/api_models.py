"""The applications API's contract: its query, request and answers as pydantic models.

The handlers parse with them (:mod:`handlers.http_api` maps their errors onto the refusals) and
:mod:`handlers.openapi` publishes their JSON schemas; the bounds live here only.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from domain.application_status import COMMENT_MAX, REFUSAL_REASONS, ApplicationStatus
from handlers.http_api import TYPE_ERRORS, ApiModel
from storage.models import ObjectType

ACTOR_MAX: Final = 64
DISTRICT_MAX: Final = 100
LIMIT_DEFAULT: Final = 50
LIMIT_MAX: Final = 200
CURSOR_MAX: Final = 200
#: No control character (C0 or DEL) in a one-line text.
NO_CONTROL: Final = r"^[^\x00-\x1f\x7f]*$"
#: One line with something other than spaces in it (the handler strips the spaces).
ONE_LINE: Final = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
#: Text that may span lines: tabs and line breaks, no other control character.
LINES: Final = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
DECIMAL_TEXT: Final = r"^-?[0-9]+(\.[0-9]+)?$"


def schema(**extra: Any) -> Any:
    """JSON-schema keywords the handler (not pydantic) enforces, or that only describe."""
    return Field(json_schema_extra=extra)


def digits(limit: int) -> Any:
    """A query's integer written with 1..``limit`` ASCII digits (not "+5", "1.0" or "٥")."""
    pattern = re.compile(f"[0-9]{{1,{limit}}}")

    def check(value: object) -> object:
        if isinstance(value, str) and not pattern.fullmatch(value.strip()):
            raise ValueError("not an integer")
        return value

    return BeforeValidator(check)


def no_control(value: str) -> str:
    """No control character but tabs and line breaks, and valid Unicode (no lone surrogate)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("control characters or broken Unicode") from None
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        raise ValueError("control characters or broken Unicode")
    return value


Timestamp = Annotated[str, schema(format="date-time", description="UTC")]
DecimalText = Annotated[str, Field(pattern=DECIMAL_TEXT)]
Status = Annotated[ApplicationStatus, Field(description="An application's status")]


# --------------------------------------------------------------------------- requests


class ApplicationQuery(ApiModel):
    """``GET /api/applications``: filters and the page."""

    MESSAGES: ClassVar = {
        "status": f"unknown status; one of {', '.join(ApplicationStatus)}",
        "district": f"a district name of 1..{DISTRICT_MAX} characters",
        "since": "an ISO 8601 date or date-time, e.g. 2026-03-01 or 2026-03-01T09:00:00Z",
        "limit": f"an integer from 1 to {LIMIT_MAX}",
        "cursor": "not a cursor from next_cursor",
    }

    status: Status | None = Field(None, description="Only applications in this status")
    district: (
        Annotated[
            str,
            Field(min_length=1, max_length=DISTRICT_MAX, pattern=ONE_LINE),
            AfterValidator(str.strip),
        ]
        | None
    ) = Field(None, description="Only this district (exact name, e.g. Quba)")
    since: (
        Annotated[
            str,
            Field(
                pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
                r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
            ),
        ]
        | None
    ) = Field(
        None,
        description="Created at or after: an ISO 8601 date or date-time; without an offset it "
        "is Baku time",
    )
    limit: Annotated[int, Field(ge=1, le=LIMIT_MAX), digits(4)] = Field(
        LIMIT_DEFAULT, description="Page size"
    )
    cursor: Annotated[str, Field(pattern=f"^[A-Za-z0-9_-]{{1,{CURSOR_MAX}}}$")] | None = Field(
        None, description="next_cursor of the previous page"
    )


class StatusChangeRequest(ApiModel):
    """``POST /api/applications/{number}/status``."""

    WRONG_TYPE: ClassVar = TYPE_ERRORS
    MESSAGES: ClassVar = {
        "status": "{name} must be a string",
        "actor": f"actor: 1..{ACTOR_MAX} printable characters",
        "comment": "{name} must be a string or null",
    }

    status: Annotated[str, AfterValidator(no_control)] = Field(
        description="The new status (another string is refused: 422 unknown_status)",
        json_schema_extra={"enum": [str(status) for status in ApplicationStatus]},
    )
    actor: Annotated[
        str, Field(min_length=1, max_length=ACTOR_MAX, pattern=ONE_LINE), AfterValidator(str.strip)
    ] = Field(description="Who changes it (kept in the history)")
    comment: Annotated[str, AfterValidator(no_control)] | None = Field(
        None,
        description="Shown to the citizen; required to reject (longer: 422 too_long)",
        json_schema_extra={"maxLength": COMMENT_MAX, "pattern": LINES},
    )


# --------------------------------------------------------------------------- answers


class ApplicationSummary(ApiModel):
    """An application without personal data."""

    number: str = Field(examples=["QM-2026-000123"])
    status: Status
    status_label: str = Field(description="The status in Azerbaijani")
    created_at: Timestamp
    status_changed_at: Timestamp
    district: str
    regional_unit: str | None
    phase: int = Field(description="1 or 3")
    requested_power_kw: DecimalText = Field(description="Requested power, kW")
    fee_amount: DecimalText = Field(description="Connection fee, AZN")
    fee_rule_set: str = Field(description="Which dated fee rules priced it")
    distance_m: int | None = Field(description="To the nearest power centre")


class ApplicationPage(ApiModel):
    items: list[ApplicationSummary]
    next_cursor: str | None = Field(description="Pass as cursor for the next page")


class Applicant(ApiModel):
    first_name: str
    last_name: str
    patronymic: str | None
    fin: str
    id_card: str
    phone: str = Field(description="E.164")
    email: str | None


class HistoryItem(ApiModel):
    from_status: Status | None
    to_status: Status
    actor: str
    comment: str | None
    changed_at: Timestamp


class ApplicationDetail(ApplicationSummary):
    """The whole application, with its applicant."""

    updated_at: Timestamp
    applicant: Applicant
    execution_period: str | None
    object_type: ObjectType
    has_general_conditions: bool | None
    registry_number: str | None
    registration_number: str | None
    latitude: float | None
    longitude: float | None
    power_centre: str | None
    quote: dict[str, Any] = Field(description="The fee quote as the citizen saw it")
    history: list[HistoryItem]
    allowed_targets: list[Status] = Field(description="The statuses it may change to now")


class StatusChanged(ApplicationDetail):
    """The application after the change, and how many notices were queued to the citizen."""

    notices_queued: int = Field(ge=0)


class Error(ApiModel):
    error: str = Field(description="A stable code")
    message: str
    parameter: str | None = Field(None, description="The query parameter at fault")
    field: str | None = Field(None, description="The body field at fault")


Reason = Literal[REFUSAL_REASONS]  # type: ignore[valid-type]


class TransitionRefused(ApiModel):
    model_config = ConfigDict(populate_by_name=True)

    error: Reason
    message: str
    from_: Status = Field(alias="from")
    to: str
    allowed: list[Status]
