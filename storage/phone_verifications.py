"""One-time codes that prove a typed phone number: 6 digits, 5 minutes, 3 tries.

Codes are stored salted and hashed; the plain code exists only in the SMS.

Every code costs an SMS, and a form that texts a code to any typed number is what SMS pumping
(toll fraud) feeds on: a ring rotates numbers and Telegram accounts. So besides one code a minute
per (account, number), :func:`issue_code` enforces caps counted from this table (they survive a
restart and hold for every process on the database): per account, distinct numbers and codes in
the last 24 hours; per destination number, codes in the last 24 hours, whoever asked; and the
whole bot's SMS budget for the day (Baku time). On PostgreSQL the count and the insert run under
one advisory lock, on SQLite under the single writer, so two processes cannot both take the last
code. A *decoy* row (no SMS; the acts dialogue gives the same answer for a number not on file)
counts like a code for the account and the number, so the caps reveal nothing either; only codes
really sent use the budget.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PhoneVerification

CODE_DIGITS: Final = 6
CODE_LIFETIME: Final = timedelta(minutes=5)
RESEND_AFTER: Final = timedelta(seconds=60)
MAX_ATTEMPTS: Final = 3
#: The caps per account and per number count the codes of this window (rolling).
CAP_WINDOW: Final = timedelta(hours=24)
#: The budget is per calendar day here.
BUDGET_ZONE: Final = ZoneInfo("Asia/Baku")
#: Serialises issuing on PostgreSQL (pg_advisory_xact_lock(hashtext(...))).
LOCK_KEY: Final = "phone-verifications:issue"


class CheckResult(StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"
    EXPIRED = "expired"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    NO_CODE = "no_code"


class Cap(StrEnum):
    """Which cap refused a code."""

    ACCOUNT_NUMBERS = "account_numbers"
    ACCOUNT_CODES = "account_codes"
    PHONE_CODES = "phone_codes"
    DAILY_BUDGET = "daily_budget"


@dataclass(frozen=True, slots=True)
class SmsCaps:
    """The limits (settings ``SMS_CODE_*``, see bot/settings.py)."""

    numbers_per_account: int = 3
    codes_per_account: int = 5
    codes_per_phone: int = 5
    daily_budget: int = 1000
    alarm_percent: int = 80

    def alarm_points(self) -> dict[int, int]:
        """The count of the day's codes at which to alarm → the percentage it stands for."""
        first = max(1, math.ceil(self.daily_budget * self.alarm_percent / 100))
        return {first: self.alarm_percent, self.daily_budget: 100}


@dataclass(frozen=True, slots=True)
class Issued:
    verification_id: int
    code: str
    #: the percentage of the day's budget this code reached, when it crossed an alarm point
    alarm: int | None = None
    sent_today: int = 0


@dataclass(frozen=True, slots=True)
class TooSoon:
    seconds_left: int


@dataclass(frozen=True, slots=True)
class Capped:
    cap: Cap
    limit: int
    #: the earliest moment (UTC) a code can be asked for again
    retry_at: datetime


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


def day_start(now: datetime) -> datetime:
    """The start (UTC) of the budget's day that holds ``now``."""
    local = now.astimezone(BUDGET_ZONE)
    return datetime.combine(local.date(), time(0), tzinfo=BUDGET_ZONE).astimezone(now.tzinfo)


def next_day_start(now: datetime) -> datetime:
    local = now.astimezone(BUDGET_ZONE).date() + timedelta(days=1)
    return datetime.combine(local, time(0), tzinfo=BUDGET_ZONE).astimezone(now.tzinfo)


async def sent_today(session: AsyncSession, now: datetime) -> int:
    """Codes really sent by SMS since the start of the budget's day (all processes)."""
    count = await session.scalar(
        select(func.count()).where(
            PhoneVerification.sms_sent.is_(True),
            PhoneVerification.created_at >= day_start(now),
        )
    )
    return int(count or 0)


def _reopens(moments: list[datetime], limit: int) -> datetime | None:
    """When fewer than ``limit`` of ``moments`` (in the window) remain; None: not reached."""
    if len(moments) < limit:
        return None
    moments = sorted(moments)
    return moments[len(moments) - limit] + CAP_WINDOW


async def _capped(
    session: AsyncSession, caps: SmsCaps, telegram_user_id: int, phone: str, now: datetime
) -> Capped | None:
    since = now - CAP_WINDOW
    mine = (
        await session.execute(
            select(PhoneVerification.phone_e164, PhoneVerification.created_at).where(
                PhoneVerification.telegram_user_id == telegram_user_id,
                PhoneVerification.created_at > since,
            )
        )
    ).all()
    last_per_number: dict[str, datetime] = {}
    for number, created in mine:
        last_per_number[number] = max(created, last_per_number.get(number, created))
    if phone not in last_per_number:
        reopens = _reopens(list(last_per_number.values()), caps.numbers_per_account)
        if reopens is not None:
            return Capped(Cap.ACCOUNT_NUMBERS, caps.numbers_per_account, reopens)
    reopens = _reopens([created for _, created in mine], caps.codes_per_account)
    if reopens is not None:
        return Capped(Cap.ACCOUNT_CODES, caps.codes_per_account, reopens)
    to_phone = (
        await session.scalars(
            select(PhoneVerification.created_at).where(
                PhoneVerification.phone_e164 == phone, PhoneVerification.created_at > since
            )
        )
    ).all()
    reopens = _reopens(list(to_phone), caps.codes_per_phone)
    if reopens is not None:
        return Capped(Cap.PHONE_CODES, caps.codes_per_phone, reopens)
    if await sent_today(session, now) >= caps.daily_budget:
        return Capped(Cap.DAILY_BUDGET, caps.daily_budget, next_day_start(now))
    return None


async def _serialise(session: AsyncSession) -> None:
    """One issuer at a time on PostgreSQL (SQLite: BEGIN IMMEDIATE already holds the writer)."""
    if session.get_bind().dialect.name == "postgresql":
        lock = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
        await session.execute(lock, {"key": LOCK_KEY})


async def issue_code(
    session: AsyncSession,
    *,
    telegram_user_id: int,
    phone: str,
    now: datetime,
    caps: SmsCaps | None = None,
    send: bool = True,
) -> Issued | TooSoon | Capped:
    """A new code for this user and phone, unless a cap or the one-a-minute rule refuses.

    ``send=False`` issues a decoy: the same answers, the same caps, no SMS and no budget.
    """
    caps = caps or SmsCaps()
    await _serialise(session)
    capped = await _capped(session, caps, telegram_user_id, phone, now)
    if capped is not None:
        return capped
    latest = await _latest(session, telegram_user_id, phone)
    if latest is not None and latest.verified_at is None and latest.resend_after > now:
        return TooSoon(max(1, math.ceil((latest.resend_after - now).total_seconds())))
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    verification = PhoneVerification(
        telegram_user_id=telegram_user_id,
        phone_e164=phone,
        code_hash=_hash(code, secrets.token_hex(8)),
        expires_at=now + CODE_LIFETIME,
        resend_after=now + RESEND_AFTER,
        sms_sent=send,
        created_at=now,
    )
    session.add(verification)
    await session.flush()
    if not send:
        return Issued(verification.id, code)
    count = await sent_today(session, now)
    return Issued(verification.id, code, caps.alarm_points().get(count), count)


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
    if latest.sms_sent and _matches(code.strip(), latest.code_hash):  # a decoy never matches
        latest.verified_at = now
        return CheckResult.VERIFIED, MAX_ATTEMPTS - latest.attempts
    left = MAX_ATTEMPTS - latest.attempts
    return (CheckResult.WRONG if left else CheckResult.TOO_MANY_ATTEMPTS), left
