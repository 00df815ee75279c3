"""How to pay, in the citizen's language: the reference and the channels (REFERENCE.md §10).

Shared by the notices (queued in the outbox) and the chat's views (which add the gateway's
payment link as a button, :mod:`integrations.payments`). Nothing here asks anyone to pay 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from babel.numbers import format_decimal

from domain.acts import ActStatus
from domain.payment_channels import PaymentChannel, Purpose, default_channels
from i18n import N_, translate
from storage import acts
from storage.models import Application, ViolationAct

REFERENCE_APPLICATION: Final = N_("Reference for the payment: the application number {number}.")
REFERENCE_ACT: Final = N_(
    "Reference for the payment: the subscriber code {code} and the act number {number}."
)
WHERE_TO_PAY: Final = N_("Where to pay:")
WHERE_TO_PAY_SHORT: Final = N_(
    "Where to pay: {channels}. Reference: the subscriber code and the act number."
)
PAY_ONLINE: Final = N_("Pay online")
NOTHING_TO_PAY: Final = N_("The connection is free of charge for you: there is nothing to pay.")
PAYMENT_THANKS_SMS: Final = N_(
    "Azərişıq: act {number}: {amount} received, thank you. Left: {left}."
)
PAYMENT_THANKS: Final = N_(
    "We have received your payment of {amount} for act {number}. Thank you. Left to pay: {left}."
)


def sms_amount(value: Decimal, locale: str) -> str:
    """``1.234,50 AZN``: "AZN", not "₼" (the manat sign is not GSM-7)."""
    return format_decimal(value, format="#,##0.00", locale=locale) + " AZN"


def channels(purpose: Purpose) -> tuple[PaymentChannel, ...]:
    return default_channels().for_purpose(purpose)


def channel_lines(found: tuple[PaymentChannel, ...], locale: str) -> list[str]:
    return [
        translate(WHERE_TO_PAY, locale),
        *(f"• {channel.name(locale)}: {channel.how_to(locale)}" for channel in found),
    ]


def act_payable(act: ViolationAct) -> bool:
    return act.status == ActStatus.OPEN and acts.outstanding(act) > 0


def act_lines(act: ViolationAct, locale: str) -> list[str]:
    """The reference and where to pay; nothing for an act with nothing left to pay."""
    if not act_payable(act):
        return []
    reference = translate(REFERENCE_ACT, locale).format(code=act.subscriber_code, number=act.number)
    return [reference, *channel_lines(channels("act"), locale)]


def act_list_line(locale: str) -> str:
    names = ", ".join(channel.name(locale) for channel in channels("act"))
    return translate(WHERE_TO_PAY_SHORT, locale).format(channels=names)


def application_lines(application: Application, locale: str) -> list[str]:
    """The reference and where to pay the connection fee; nothing when the fee is 0."""
    if application.fee_amount <= 0:
        return []
    reference = translate(REFERENCE_APPLICATION, locale).format(number=application.number)
    return [reference, *channel_lines(channels("connection"), locale)]
