"""The acts API's request bodies as pydantic models (the shape and bounds of every field).

What depends on the day or on reference data (a day not in the future, a district we know, the
loads' sum, the rule set's dates) stays in :mod:`handlers.acts_api`, after parsing.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import ErrorDetails, PydanticCustomError

from domain.acts import ActStatus, LoadKind, ViolationType
from domain.application_status import COMMENT_MAX
from domain.recalculation import default_rules
from handlers.api_models import ACTOR_MAX, DISTRICT_MAX, ONE_LINE, no_control
from handlers.http_api import ApiError, ApiModel, bad_field

ACT_NUMBER_MAX: Final = 32
ADDRESS_MAX: Final = 255
LOADS_MAX: Final = 50
INSPECTORS_MAX: Final = 10
DESCRIPTION_MAX: Final = 100
REFERENCE_MAX: Final = 64
RULE_SET_MAX: Final = 64
#: Larger than any household's loads (W, each and all together) we would believe.
POWER_MAX_W: Final = Decimal(1_000_000)
#: kWh already billed: more than 1 MW all day for 11 years.
KWH_MAX: Final = Decimal(100_000_000)
#: One payment, and all payments of an act together (AZN).
AMOUNT_MAX: Final = Decimal("10000000.00")
ACT_NUMBER: Final = r"^[A-Za-z0-9][A-Za-z0-9/-]*$"
DAY: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
MONEY: Final = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
DECIMAL: Final = r"^[0-9]{1,9}(\.[0-9]{1,3})?$"
#: A district's name has a letter (Latin with Azerbaijani letters, or Cyrillic).
DISTRICT: Final = (
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*[A-Za-zÀ-ɏəƏЀ-ӿ][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
)
#: Text whose tabs and line breaks become spaces: no other control character, not blank.
SPACED: Final = (
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
)
RULE_SETS: Final = tuple(rule_set.id for rule_set in default_rules().rule_sets)


def collapse(value: str) -> str:
    return " ".join(value.split())


def text(limit: int, pattern: str = SPACED) -> Any:
    """One line of 1..``limit`` characters; runs of spaces become one."""
    return Annotated[
        str, Field(min_length=1, max_length=limit, pattern=pattern), AfterValidator(collapse)
    ]


def a_string(value: object) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    return value


def parse_day(value: object) -> date:
    if not re.fullmatch(DAY[1:-1], a_string(value).strip()):
        raise ValueError("a date as YYYY-MM-DD")
    return date.fromisoformat(str(value).strip())


def parse_moment(value: object) -> datetime:
    try:
        moment = datetime.fromisoformat(a_string(value).strip())
    except ValueError:
        raise ValueError("an ISO 8601 date-time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("with its offset, e.g. 2026-03-01T09:00:00+04:00")
    return moment


def decimal_input(pattern: str, *, step: str, maximum: Decimal, positive: bool) -> Any:
    """A decimal as a JSON string ("12.50") or number, at most ``step``'s decimals.

    A number is read as it is written (``repr``), never through a float's rounding; the
    smallest positive one is ``step`` (so the document refuses ``5e-324`` as the server does).
    """

    def parse(value: object) -> Decimal:
        raw = value.strip() if isinstance(value, str) else None
        if isinstance(value, int | float) and type(value) is not bool:
            raw = repr(value)
        if raw is None or not re.fullmatch(pattern[1:-1], raw):
            raise ValueError('a non-negative decimal like "12.50"')
        return Decimal(raw)

    smallest = Decimal(step) if positive else Decimal(0)
    number = {"type": "number", "minimum": float(smallest), "maximum": float(maximum)}
    return Annotated[
        Decimal,
        BeforeValidator(parse),
        Field(ge=smallest, le=maximum),
        WithJsonSchema(
            {
                "anyOf": [{"type": "string", "pattern": pattern}, number],
                "description": f'A JSON string like "12.50" or a number; steps of {step}',
            }
        ),
    ]


Day = Annotated[date, BeforeValidator(parse_day), WithJsonSchema({"type": "string",
                                                                   "format": "date"})]  # fmt: skip
Moment = Annotated[
    datetime,
    BeforeValidator(parse_moment),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Actor = Annotated[
    str, Field(min_length=1, max_length=ACTOR_MAX, pattern=SPACED), AfterValidator(collapse)
]
District = Annotated[
    str, Field(min_length=1, max_length=DISTRICT_MAX, pattern=DISTRICT), AfterValidator(collapse)
]
Phone = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9+ ()-]*[0-9][0-9+ ()-]*$")]
RuleSet = Literal[RULE_SETS]  # type: ignore[valid-type]
Comment = Annotated[str, AfterValidator(no_control), Field(max_length=COMMENT_MAX)]


Kwh = decimal_input(DECIMAL, step="0.001", maximum=KWH_MAX, positive=False)


class LoadRequest(ApiModel):
    kind: Annotated[LoadKind, Field(strict=False)]
    power_w: decimal_input(DECIMAL, step="0.001", maximum=POWER_MAX_W, positive=True)  # type: ignore[valid-type]
    description: text(DESCRIPTION_MAX) | None = None  # type: ignore[valid-type]


class ActRequest(ApiModel):
    """``POST /api/acts``: the act as the inspector wrote it."""

    MESSAGES: ClassVar = {
        "number": "number: letters, digits, - and / (at most 32)",
        "subscriber_code": "subscriber_code: 15 digits",
        "address": f"address: 1..{ADDRESS_MAX} printable characters",
        "district": "district: not a district of Azerbaijan we know",
        "consumer_phone": "consumer_phone: an Azerbaijani mobile number, e.g. +994501234567",
        "violation_type": f"violation_type: one of {', '.join(ViolationType)}",
        "loads": f"loads: a list of 1..{LOADS_MAX} loads found",
        "signed": "signed: true, or false when the consumer refused to sign",
        "inspectors": f"inspectors: a list of 1..{INSPECTORS_MAX} names",
        "already_billed_kwh": f'already_billed_kwh: a decimal like "12.5", at most {KWH_MAX}',
        "rule_set": f"rule_set: one of {', '.join(RULE_SETS)}",
        "actor": f"actor: 1..{ACTOR_MAX} printable characters",
    }
    MISSING_IS_INVALID: ClassVar = frozenset({"loads", "signed", "inspectors"})

    actor: Actor = Field(description="Who registers it (kept in the history)")
    number: Annotated[str, Field(min_length=1, max_length=ACT_NUMBER_MAX, pattern=ACT_NUMBER)]
    subscriber_code: Annotated[str, Field(pattern=r"^[0-9]{15}$")]
    address: text(ADDRESS_MAX)  # type: ignore[valid-type]
    district: District = Field(description="A district of Azerbaijan (not Nakhchivan)")
    consumer_phone: Phone | None = Field(None, description="An Azerbaijani mobile number")
    detected_on: Day
    last_inspection_on: Day
    account_opened_on: Day | None = None
    issued_on: Day | None = Field(None, description="Default: the detection day")
    violation_type: Annotated[ViolationType, Field(strict=False)]
    loads: Annotated[list[LoadRequest], Field(min_length=1, max_length=LOADS_MAX)]
    signed: bool
    inspectors: Annotated[list[Actor], Field(min_length=1, max_length=INSPECTORS_MAX)]
    already_billed_kwh: Kwh | None = None  # type: ignore[valid-type]
    rule_set: RuleSet | None = Field(None, description="Default: the rules in force then")

    @classmethod
    def refusal(cls, detail: ErrorDetails) -> ApiError:
        loc = tuple(detail["loc"])
        if detail["type"] == "missing" and len(loc) == 1 and loc[0] in cls.MISSING_IS_INVALID:
            return bad_field("invalid_field", str(loc[0]), cls.MESSAGES[str(loc[0])])
        if loc[:1] == ("inspectors",) and len(loc) > 1:
            return bad_field("invalid_field", "inspectors", cls.MESSAGES["inspectors"])
        if loc[:1] == ("loads",) and len(loc) > 1 and loc[2:3] != ("power_w",):
            name = cls.label(loc[:2])
            if loc[2:3] == ("kind",):
                return bad_field(
                    "invalid_field", name, f"{name}.kind: one of {', '.join(LoadKind)}"
                )
            return bad_field(
                "invalid_field", name, f"{name}: an object with kind, power_w and description"
            )
        return super().refusal(detail)


class PaymentRequest(ApiModel):
    """``POST /api/acts/{number}/payment``."""

    MESSAGES: ClassVar = {"amount": f"amount: more than 0 and at most {AMOUNT_MAX} AZN"}

    amount: decimal_input(MONEY, step="0.01", maximum=AMOUNT_MAX, positive=True)  # type: ignore[valid-type]
    paid_at: Moment | None = Field(None, description="With its offset; default: now")
    reference: text(REFERENCE_MAX) = Field(description="The payment's id: idempotency key")  # type: ignore[valid-type]
    actor: Actor


class ActStatusChangeRequest(ApiModel):
    """``POST /api/acts/{number}/status``."""

    status: Annotated[str, Field(min_length=1, max_length=16, pattern=ONE_LINE)] = Field(
        json_schema_extra={"enum": ["paid", "disconnected", "court", "cancelled"]}
    )
    comment: Comment | None = None
    actor: Actor


class SubscriberRequest(ApiModel):
    """``PUT /api/subscribers/{code}``: the billing system's record."""

    MESSAGES: ClassVar = {
        "phone": "phone: an Azerbaijani mobile number, e.g. +994501234567",
        "district": "district: not a district of Azerbaijan we know",
        "address": f"address: 1..{ADDRESS_MAX} printable characters",
    }

    phone: Phone | None = Field(description="The phone on file; null when unknown")
    address: text(ADDRESS_MAX) | None = None  # type: ignore[valid-type]
    district: District | None = None


# --------------------------------------------------------------------------- answers

Day_ = Annotated[str, Field(json_schema_extra={"format": "date"})]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Money = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$")]


class ActHistoryItem(ApiModel):
    from_status: Annotated[ActStatus, Field(strict=False)] | None
    to_status: Annotated[ActStatus, Field(strict=False)]
    actor: str
    comment: str | None
    changed_at: Timestamp


class ActPaymentItem(ApiModel):
    amount: Money
    paid_at: Timestamp
    reference: str
    actor: str


class ActObjectionItem(ApiModel):
    receipt_number: str
    text: str
    photo_file_ids: list[str]
    created_at: Timestamp
    answer_due_on: Day_
    state: Literal["received", "overdue", "answered"] = Field(
        description="overdue: unanswered after answer_due_on"
    )
    outcome: Literal["upheld", "partly_upheld", "rejected"] | None
    answer: str | None = Field(description="The answer the citizen read")
    answered_at: Timestamp | None


class ActDetail(ApiModel):
    """An act with its calculation, history, payments and objections."""

    number: str
    subscriber_code: str
    address: str
    district: str
    consumer_phone: str | None = Field(description="E.164")
    violation_type: Annotated[ViolationType, Field(strict=False)]
    detected_on: Day_
    last_inspection_on: Day_ | None
    account_opened_on: Day_ | None
    issued_on: Day_
    due_on: Day_
    days_left: int
    signed: bool
    inspectors: list[str]
    loads: list[dict[str, Any]]
    rule_set: str
    amount: Money
    paid_amount: Money
    outstanding: Money
    status: Annotated[ActStatus, Field(strict=False)]
    allowed_targets: list[Annotated[ActStatus, Field(strict=False)]]
    calculation: dict[str, Any] = Field(description="The whole breakdown, month by month")
    history: list[ActHistoryItem]
    payments: list[ActPaymentItem]
    objections: list[ActObjectionItem]
    created_at: Timestamp


class ActRegistered(ActDetail):
    notices_queued: int = Field(ge=0)


class ActStatusChanged(ActRegistered):
    pass


class PaymentRecorded(ActRegistered):
    payment_recorded: bool = Field(description="false: this reference was recorded before")


class Subscriber(ApiModel):
    code: str
    phone: str | None
    address: str | None
    district: str | None


class ActTransitionRefused(ApiModel):
    model_config = ConfigDict(populate_by_name=True)

    error: str
    message: str
    from_: Annotated[ActStatus, Field(strict=False)] = Field(alias="from")
    to: str
    allowed: list[Annotated[ActStatus, Field(strict=False)]]
