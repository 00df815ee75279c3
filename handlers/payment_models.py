"""``POST /payments/callback``: the gateway's report and our answer, as pydantic models."""

from __future__ import annotations

from typing import Annotated, ClassVar, Final, Literal

from pydantic import Field

from handlers.act_models import AMOUNT_MAX, MONEY, Moment, decimal_input
from handlers.api_models import ONE_LINE
from handlers.http_api import ApiModel

ID_MAX: Final = 64

Id = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=ONE_LINE)]


class PaymentCallbackRequest(ApiModel):
    """A paid invoice, as the payment gateway reports it."""

    MESSAGES: ClassVar = {"amount": f"amount: more than 0 and at most {AMOUNT_MAX} AZN",
                          "currency": "currency: AZN"}  # fmt: skip

    payment_id: Id = Field(description="The gateway's payment id (the idempotency key)")
    reference: Id = Field(
        description="The application number, or the subscriber code and the act number joined "
        "by '-' (100200300400500-AKT-2026-0042)"
    )
    amount: decimal_input(MONEY, step="0.01", maximum=AMOUNT_MAX, positive=True)  # type: ignore[valid-type]
    currency: Literal["AZN"] | None = None
    paid_at: Moment | None = Field(None, description="With its offset; default: now")
    status: Annotated[str, Field(max_length=32, pattern=ONE_LINE)] | None = Field(
        None, description="Only 'paid' (the default) records a payment"
    )


class PaymentCallbackAnswer(ApiModel):
    payment_id: str
    recorded: bool = Field(description="false: a replay, or not 'paid'")
    ignored: str | None = None
    application: str | None = None
    act: str | None = None
    status: str | None = None
    notices_queued: int | None = None
