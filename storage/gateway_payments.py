"""Payments reported by the hosted-checkout gateway: each payment id recorded once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import GatewayPayment


async def record_once(
    session: AsyncSession, *, payment_id: str, reference: str, amount: Decimal, paid_at: datetime
) -> bool:
    """Record the payment in the caller's transaction; ``False`` when it was recorded before.

    A concurrent first record of the same id raises ``IntegrityError`` (at flush or commit).
    """
    seen = await session.scalar(
        select(GatewayPayment).where(GatewayPayment.payment_id == payment_id)
    )
    if seen is not None:
        return False
    session.add(
        GatewayPayment(payment_id=payment_id, reference=reference, amount=amount, paid_at=paid_at)
    )
    await session.flush()
    return True
