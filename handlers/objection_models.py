"""The objections API's bodies and answers as pydantic models: ``POST
/api/objections/{receipt}/answer`` and ``GET /api/acts`` (acts still owed, ``overdue`` filter).

Whether an outcome allows an act action, and the act's new amount against its old one, are
checked in :mod:`delivery.objection_answers`, after parsing.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from domain.objections import ANSWER_MAX, ANSWER_MIN, ActAction, Outcome
from handlers.act_models import (
    AMOUNT_MAX,
    MONEY,
    ActDetail,
    ActObjectionItem,
    Actor,
    Day_,
    Money,
    Timestamp,
    decimal_input,
)
from handlers.api_models import LIMIT_MAX, LINES, digits
from handlers.http_api import ApiModel


class ObjectionAnswerRequest(ApiModel):
    """The answer: its outcome, the text the citizen reads and, for an upheld one, the act."""

    MESSAGES: ClassVar = {
        "outcome": f"outcome: one of {', '.join(Outcome)}",
        "text": f"text: {ANSWER_MIN}..{ANSWER_MAX} characters",
        "act": f"act: one of {', '.join(ActAction)}",
        "amount": f"amount: more than 0 and at most {AMOUNT_MAX} AZN",
    }

    outcome: Annotated[Outcome, Field(strict=False)] = Field(description="The decision")
    text: Annotated[str, Field(min_length=ANSWER_MIN, max_length=ANSWER_MAX, pattern=LINES)] = (
        Field(description="The answer for the citizen (chat; SMS in short)")
    )
    actor: Actor = Field(description="Who answers (logged)")
    act: Annotated[ActAction, Field(strict=False)] | None = Field(
        None,
        description="In the same step: cancel (upheld only) or recompute (upheld or partly "
        "upheld, with amount)",
    )
    amount: decimal_input(MONEY, step="0.01", maximum=AMOUNT_MAX, positive=True) | None = Field(  # type: ignore[valid-type]
        None, description="The act's new amount, AZN (act = recompute): less than the old one"
    )


class ObjectionAnswered(ApiModel):
    objection: ActObjectionItem
    act: ActDetail
    notices_queued: int = Field(ge=0, description="The citizen's chat and SMS, the act's own")


class ActQuery(ApiModel):
    """``GET /api/acts``: acts still owed, oldest due date first."""

    MESSAGES: ClassVar = {
        "overdue": "overdue: true or false",
        "limit": f"limit: an integer from 1 to {LIMIT_MAX}",
    }

    overdue: Literal["true", "false"] | None = Field(
        None, description="true: open past due_on (staff decide); false: not yet due"
    )
    limit: Annotated[int, Field(ge=1, le=LIMIT_MAX), digits(4)] = Field(
        LIMIT_MAX, description="At most this many"
    )


class ActSummary(ApiModel):
    number: str
    subscriber_code: str
    district: str
    status: str
    amount: Money
    outstanding: Money
    due_on: Day_
    days_left: int = Field(description="Until due_on (Baku): < 0 after")
    overdue: bool = Field(description="Open and past due_on: for staff to act on")
    created_at: Timestamp


class ActList(ApiModel):
    items: list[ActSummary]
