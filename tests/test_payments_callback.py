"""``POST /payments/callback`` on the HTTP server: signature, idempotency, every refusal."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import status_changes
from storage.models import ActPayment, GatewayPayment, OutboxMessage
from tests.test_acts_api import BODY, CODE, NUMBER
from tests.test_staff_api import TOKEN, Api, make_application, serving

SECRET = "callback-secret-0123456789"
PATH = "/payments/callback"
ACT_REFERENCE = f"{CODE}-{NUMBER}"


@pytest.fixture
async def api(engine: AsyncEngine) -> AsyncIterator[Api]:
    async with serving(engine, TOKEN, payments_callback_secret=SECRET) as server:
        yield server


def signed(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


async def callback(
    api: Api, body: Any, *, signature: str | None = "", content_type: str = "application/json"
) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": content_type}
    if signature is not None:
        headers["X-Signature"] = signature or signed(raw)
    status, answer, _ = await api.call("POST", PATH, headers=headers, data=raw)
    return status, answer


def report(reference: str, amount: str, payment_id: str = "gw-1", **extra: Any) -> dict[str, Any]:
    return {"payment_id": payment_id, "reference": reference, "amount": amount,
            "currency": "AZN", "status": "paid", **extra}  # fmt: skip


async def rows(api: Api, model: Any) -> int:
    async with api.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def register_act(api: Api) -> None:
    status, answer, _ = await api.call("POST", "/api/acts", json_body=BODY)
    assert status == 201, answer  # 558.28 AZN


async def application_status(api: Api, number: str) -> str:
    async with api.services.sessions() as session:
        application = await status_changes.by_number(session, number)
    assert application is not None
    return str(application.status)


async def test_a_signed_callback_pays_the_act_once(api: Api) -> None:
    await register_act(api)
    before = await rows(api, OutboxMessage)
    status, answer = await callback(api, report(ACT_REFERENCE, "558.28"))
    assert status == 201, answer
    assert (answer["recorded"], answer["act"], answer["status"]) == (True, NUMBER, "paid")
    assert await rows(api, ActPayment) == 1
    notices = await rows(api, OutboxMessage)
    assert notices > before

    status, replay = await callback(api, report(ACT_REFERENCE, "558.28"))
    assert (status, replay["recorded"]) == (200, False), replay
    assert await rows(api, ActPayment) == 1
    assert await rows(api, GatewayPayment) == 1
    assert await rows(api, OutboxMessage) == notices


async def test_a_signed_callback_moves_a_pending_application_to_paid(api: Api) -> None:
    application = await make_application(api.services, status="payment_pending")
    status, answer = await callback(api, report(application.number, "1234.50"))
    assert status == 201, answer
    assert answer["recorded"] is True
    assert await application_status(api, application.number) == "paid"
    notices = await rows(api, OutboxMessage)
    assert answer["notices_queued"] >= 1

    status, replay = await callback(api, report(application.number, "1234.50"))
    assert (status, replay["recorded"]) == (200, False), replay
    assert await rows(api, OutboxMessage) == notices
    assert await rows(api, GatewayPayment) == 1


async def test_the_amount_must_be_the_fee(api: Api) -> None:
    application = await make_application(api.services, status="payment_pending")
    status, answer = await callback(api, report(application.number, "1000.00"))
    assert (status, answer["error"]) == (422, "amount_mismatch"), answer
    assert await application_status(api, application.number) == "payment_pending"
    assert await rows(api, GatewayPayment) == 0


@pytest.mark.parametrize(
    "signature",
    [None, "sha256=" + "0" * 64, signed(b"another body"), signed(b"{}", "wrong-secret")],
)
async def test_a_bad_or_missing_signature_is_401(api: Api, signature: str | None) -> None:
    await register_act(api)
    status, answer = await callback(api, report(ACT_REFERENCE, "558.28"), signature=signature)
    assert (status, answer["error"]) == (401, "bad_signature"), answer
    assert await rows(api, ActPayment) == 0
    assert await rows(api, GatewayPayment) == 0


async def test_without_the_secret_the_route_is_503(engine: AsyncEngine) -> None:
    async with serving(engine, TOKEN) as api:
        status, answer = await callback(api, report(ACT_REFERENCE, "558.28"))
    assert (status, answer["error"]) == (503, "payments_disabled"), answer


@pytest.mark.parametrize(
    "reference", ["QM-2026-999999", f"{CODE}-AKT-2025-9999", f"999888777666555-{NUMBER}", "zz"]
)
async def test_an_unknown_reference_is_404(api: Api, reference: str) -> None:
    await register_act(api)
    status, answer = await callback(api, report(reference, "558.28"))
    assert (status, answer["error"]) == (404, "unknown_reference"), answer
    assert await rows(api, GatewayPayment) == 0


async def test_a_body_that_is_no_json_is_415(api: Api) -> None:
    status, answer = await callback(api, b"payment_id=1", content_type="text/plain")
    assert status == 415, answer
    assert await rows(api, GatewayPayment) == 0


@pytest.mark.parametrize("state", ["failed", "pending", "refunded"])
async def test_a_status_other_than_paid_is_ignored(api: Api, state: str) -> None:
    application = await make_application(api.services, status="payment_pending")
    status, answer = await callback(api, report(application.number, "1234.50", status=state))
    assert (status, answer["recorded"], answer["ignored"]) == (200, False, state), answer
    assert await application_status(api, application.number) == "payment_pending"
    assert await rows(api, GatewayPayment) == 0


async def test_a_free_connection_is_never_asked_to_pay(api: Api) -> None:
    """A 1-phase application in Şuşa (0 AZN under the 2026 rule) moved towards payment."""
    application = await make_application(api.services, district="Şuşa", status="under_review")
    async with api.services.sessions.begin() as session:
        stored = await status_changes.by_number(session, application.number)
        assert stored is not None
        stored.fee_amount = Decimal("0")
        stored.phase = 1
    status, answer = await api.post_status(
        application.number, {"status": "payment_pending", "actor": "staff-1"}
    )
    assert status in (200, 201), answer
    assert await application_status(api, application.number) == "paid"
    async with api.services.sessions() as session:
        texts = [str(m.payload) for m in await session.scalars(select(OutboxMessage))]
    assert texts
    assert not any("0,00" in text or "ödəyin" in text for text in texts), texts
    assert any("ödəniş" in text.lower() or "pulsuz" in text.lower() for text in texts), texts
