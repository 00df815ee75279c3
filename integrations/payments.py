"""How a citizen pays an invoice: the channels, and a payment link when a gateway is set.

- embedded default (`PaymentChannelsOnly`): the channels of ``domain/data/payments`` for the
  invoice's purpose, no link;
- network (`HostedCheckout`, PAYMENTS_URL and PAYMENTS_TOKEN): ``POST {url}`` with
  ``{"reference", "amount": "12.50", "currency": "AZN", "description"}`` and
  ``Authorization: Bearer <token>`` answers ``{"url": "https://..."}``: the hosted checkout page
  of that invoice. The gateway later reports the payment to ``POST /payments/callback``
  (:mod:`handlers.payments_callback`). A slow, failing or strange answer gives the channels
  alone: the citizen is always told how to pay, never left without a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import aiohttp

from domain.payment_channels import PaymentChannel, Reference, default_channels

log = logging.getLogger(__name__)

LINK_MAX = 2048


@dataclass(frozen=True, slots=True)
class Invoice:
    reference: Reference
    amount: Decimal  # AZN, more than 0
    description: str  # for the gateway's page, e.g. "Act AKT-2026-0042"


@dataclass(frozen=True, slots=True)
class PaymentOffer:
    channels: tuple[PaymentChannel, ...]
    link: str | None = None  # the gateway's checkout page for this invoice


class Payments(Protocol):
    async def offer(self, invoice: Invoice) -> PaymentOffer:
        """Where ``invoice`` can be paid; never raises."""
        ...


class PaymentChannelsOnly:
    async def offer(self, invoice: Invoice) -> PaymentOffer:
        return PaymentOffer(default_channels().for_purpose(invoice.reference.purpose))


class HostedCheckout:
    def __init__(self, url: str, token: str | None, timeout_seconds: float = 3.0) -> None:
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._fallback = PaymentChannelsOnly()

    async def offer(self, invoice: Invoice) -> PaymentOffer:
        channels = (await self._fallback.offer(invoice)).channels
        return PaymentOffer(channels, await self.link(invoice))

    async def link(self, invoice: Invoice) -> str | None:
        request = {
            "reference": str(invoice.reference),
            "amount": f"{invoice.amount.quantize(Decimal('0.01'))}",
            "currency": "AZN",
            "description": invoice.description,
        }
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout, headers=self._headers) as http,
                http.post(self._url, json=request) as reply,
            ):
                reply.raise_for_status()
                body = await reply.json(content_type=None)
            link = body.get("url") if isinstance(body, dict) else None
            if (
                not isinstance(link, str)
                or not link.startswith("https://")
                or len(link) > LINK_MAX
                or any(ch.isspace() for ch in link)
            ):
                raise ValueError("no https url in the answer")
            return link
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            log.warning("payments: no link for an invoice: %s", type(error).__name__)
            return None
