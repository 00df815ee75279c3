"""``POST /payments/callback``: the payment gateway reports a paid invoice.

The gateway signs the raw body: header ``X-Signature: sha256=<hex HMAC-SHA256 of the body with
PAYMENTS_CALLBACK_SECRET>`` (the ``sha256=`` prefix is optional), compared in constant time;
the route answers 503 while the secret is not set. The body::

    {"payment_id": "gw-123", "reference": "QM-2026-000123" | "<subscriber code>-<act number>",
     "amount": "300.00", "currency": "AZN", "paid_at": "2026-12-03T10:00:00+04:00",
     "status": "paid"}

A payment is recorded once per ``payment_id`` (a replay answers 200 and changes nothing):
an application in *payment pending* moves on to *paid* as a staff status change does, and an
act's payment is stored as ``POST /api/acts/{number}/payment`` stores it. The citizen is
thanked in their language through the outbox, after the commit. Errors are the staff API's
``{"error", "message"}`` JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from aiohttp import web
from pydantic import SecretStr

from delivery import act_notices, application_changes, payment_text
from delivery.notices import sms_text
from domain.application_status import ApplicationStatus
from domain.payment_channels import Reference, parse_reference
from domain.transitions import TransitionError
from handlers.acts_api import moment_bounds, record_act_payment
from handlers.health import SERVICES
from handlers.http_api import ApiError, parse_body, read_body, respond
from handlers.payment_models import PaymentCallbackAnswer, PaymentCallbackRequest
from i18n import format_money, translate
from storage import acts, gateway_payments, status_changes
from storage.db import utcnow
from storage.types import AsyncSession, IntegrityError

log = logging.getLogger(__name__)

PATH: Final = "/payments/callback"
SIGNATURE_HEADER: Final = "X-Signature"
ACTOR: Final = "payment-gateway"


def signature(secret: bytes, raw: bytes) -> str:
    return hmac.new(secret, raw, hashlib.sha256).hexdigest()


def check_signature(request: web.Request, raw: bytes, secret: bytes) -> None:
    given = request.headers.get(SIGNATURE_HEADER, "").strip()
    given = given.removeprefix("sha256=").lower()
    if not hmac.compare_digest(given.encode(), signature(secret, raw).encode()):
        raise ApiError(401, "bad_signature", f"{SIGNATURE_HEADER} does not sign this body")


def not_found(reference: str) -> ApiError:
    return ApiError(404, "unknown_reference", f"nothing to pay has the reference {reference}")


async def pay_application(
    session: AsyncSession, reference: Reference, amount: Decimal
) -> dict[str, Any]:
    application = await status_changes.by_number(session, reference.number)
    if application is None:
        raise not_found(str(reference))
    if amount != application.fee_amount:
        raise ApiError(
            422, "amount_mismatch", f"amount: the fee is {application.fee_amount}", field="amount"
        )
    queued = 0
    if application.status == ApplicationStatus.PAYMENT_PENDING:
        try:
            done = await application_changes.change_status(
                session, reference.number, ApplicationStatus.PAID, actor=ACTOR
            )
        except TransitionError:  # a staff change a moment ago: the gateway tries again
            raise ApiError(409, "changed_meanwhile", "the application changed; retry") from None
        queued = done.queued
    elif application.status in (ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN):
        raise ApiError(409, "not_payable", f"application {reference.number} is closed")
    return {"application": application.number, "status": application.status,
            "notices_queued": queued}  # fmt: skip


async def pay_act(
    session: AsyncSession, reference: Reference, amount: Decimal, payment_id: str, paid_at: datetime
) -> dict[str, Any]:
    act = await acts.by_number(session, reference.number)
    if act is None or act.subscriber_code != reference.subscriber_code:
        raise not_found(str(reference))
    now = utcnow()
    recorded, queued = await record_act_payment(
        session, act.number, amount=amount, paid_at=paid_at, reference=payment_id, actor=ACTOR,
        now=now,
    )  # fmt: skip
    if recorded.new and recorded.paid_in_full is None:  # paid in part: thanked, told the rest
        paid = recorded.act

        def told(locale: str, template: str, *, sms: bool) -> str:
            left = acts.outstanding(paid)
            text = translate(template, locale).format(
                number=paid.number,
                amount=payment_text.sms_amount(amount, locale)
                if sms
                else format_money(amount, locale),
                left=payment_text.sms_amount(left, locale) if sms else format_money(left, locale),
            )
            return sms_text(text) if sms else text

        queued += await act_notices.queue_act_notice(
            session, paid, f"payment:{payment_id}",
            telegram=lambda locale: told(locale, payment_text.PAYMENT_THANKS, sms=False),
            sms=lambda locale: told(locale, payment_text.PAYMENT_THANKS_SMS, sms=True),
            now=now,
        )  # fmt: skip
    return {"act": act.number, "status": recorded.act.status, "notices_queued": queued}


async def callback(request: web.Request, secret: bytes) -> web.Response:
    raw = await read_body(request)
    check_signature(request, raw, secret)
    report = parse_body(PaymentCallbackRequest, raw)
    payment_id, raw_reference, amount = report.payment_id, report.reference, report.amount
    if report.status is not None and report.status.strip().lower() != "paid":
        return respond(
            PaymentCallbackAnswer,
            {"payment_id": payment_id, "recorded": False, "ignored": report.status},
        )
    now = utcnow()
    paid_at = moment_bounds("paid_at", report.paid_at, now)
    reference = parse_reference(raw_reference)
    if reference is None:
        raise not_found(raw_reference)
    try:
        async with request.app[SERVICES].sessions.begin() as session:
            first = await gateway_payments.record_once(
                session,
                payment_id=payment_id,
                reference=str(reference),
                amount=amount,
                paid_at=paid_at,
            )
            if not first:
                return respond(PaymentCallbackAnswer, {"payment_id": payment_id, "recorded": False})
            if reference.purpose == "connection":
                result = await pay_application(session, reference, amount)
            else:
                result = await pay_act(session, reference, amount, payment_id, paid_at)
    except IntegrityError:  # the same payment id, recorded by a concurrent callback
        raise ApiError(
            409, "concurrent_payment", f"payment {payment_id} is being recorded; retry"
        ) from None
    log.info("Gateway payment %s for %s recorded", payment_id, reference)
    answer = {"payment_id": payment_id, "recorded": True, **result}
    return respond(PaymentCallbackAnswer, answer, status=201)


def routes(secret: SecretStr | None) -> list[web.RouteDef]:
    key = secret.get_secret_value().encode() if secret and secret.get_secret_value() else None

    async def handle(request: web.Request) -> web.Response:
        try:
            if key is None:
                raise ApiError(503, "payments_disabled", "PAYMENTS_CALLBACK_SECRET is not set")
            return await callback(request, key)
        except ApiError as error:
            return error.response()

    return [web.post(PATH, handle)]
