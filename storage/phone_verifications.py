"""One-time codes that prove a typed phone number: 6 digits, 5 minutes, 3 tries.

Codes are stored salted and hashed; the plain code exists only in the SMS.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PhoneVerification

CODE_DIGITS: Final = 6
CODE_LIFETIME: Final = timedelta(minutes=5)
RESEND_AFTER: Final = timedelta(seconds=60)
MAX_ATTEMPTS: Final = 3


class CheckResult(StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"
    EXPIRED = "expired"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    NO_CODE = "no_code"


@dataclass(frozen=True, slots=True)
class Issued:
    verification_id: int
    code: str


@dataclass(frozen=True, slots=True)
class TooSoon:
    seconds_left: int


def _hash(code: str, salt: str) -> str:
    digest = hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()
    return f"{salt}${digest}"


def _matches(code: str, stored: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(_hash(code, salt), stored)


async def _latest(
    session: AsyncSession, telegram_user_id: int, phone: str
) -> PhoneVerification | None:
    result = await session.execute(
        select(PhoneVerification)
        .where(
            PhoneVerification.telegram_user_id == telegram_user_id,
            PhoneVerification.phone_e164 == phone,
        )
        .order_by(PhoneVerification.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def issue_code(
    session: AsyncSession, *, telegram_user_id: int, phone: str, now: datetime
) -> Issued | TooSoon:
    """A new code for this user and phone, unless the last one was sent under a minute ago."""
    latest = await _latest(session, telegram_user_id, phone)
    if latest is not None and latest.verified_at is None and latest.resend_after > now:
        return TooSoon(max(1, int((latest.resend_after - now).total_seconds())))
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    verification = PhoneVerification(
        telegram_user_id=telegram_user_id,
        phone_e164=phone,
        code_hash=_hash(code, secrets.token_hex(8)),
        expires_at=now + CODE_LIFETIME,
        resend_after=now + RESEND_AFTER,
    )
    session.add(verification)
    await session.flush()
    return Issued(verification.id, code)


async def check_code(
    session: AsyncSession, *, telegram_user_id: int, phone: str, code: str, now: datetime
) -> tuple[CheckResult, int]:
    """The outcome and the tries left. A wrong code uses up one try."""
    latest = await _latest(session, telegram_user_id, phone)
    if latest is None:
        return CheckResult.NO_CODE, 0
    if latest.verified_at is not None:
        return CheckResult.VERIFIED, 0
    if latest.attempts >= MAX_ATTEMPTS:
        return CheckResult.TOO_MANY_ATTEMPTS, 0
    if latest.expires_at <= now:
        return CheckResult.EXPIRED, 0
    latest.attempts += 1
    if _matches(code.strip(), latest.code_hash):
        latest.verified_at = now
        return CheckResult.VERIFIED, MAX_ATTEMPTS - latest.attempts
    left = MAX_ATTEMPTS - latest.attempts
    return (CheckResult.WRONG if left else CheckResult.TOO_MANY_ATTEMPTS), left
