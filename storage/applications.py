"""Connection applications: stored once per submit key, with the first status-history row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.application_status import ApplicationStatus
from storage import citizens
from storage.db import utcnow
from storage.models import Application, ApplicationStatusChange, Citizen

BAKU = ZoneInfo("Asia/Baku")

NUMBER_PREFIX = "QM"


@dataclass(frozen=True, slots=True)
class Submission:
    """Everything an application stores, checked and complete."""

    submit_key: str
    first_name: str
    last_name: str
    patronymic: str | None
    fin: str
    id_card: str
    execution_period: str | None
    phase: int
    power_kw: Decimal
    object_type: str
    has_general_conditions: bool | None
    district: str
    regional_unit: str | None
    registry_number: str
    registration_number: str
    latitude: float | None
    longitude: float | None
    distance_m: int | None
    power_centre: str | None
    phone: str
    email: str | None
    fee_amount: Decimal
    fee_rule_set: str
    quote: dict[str, Any]


def application_number(application_id: int, year: int) -> str:
    return f"{NUMBER_PREFIX}-{year}-{application_id:06d}"


async def by_submit_key(session: AsyncSession, key: str) -> Application | None:
    result = await session.execute(select(Application).where(Application.submit_key == key))
    return result.scalar_one_or_none()


async def submit(
    session: AsyncSession,
    *,
    draft: Submission,
    telegram_user_id: int,
    chat_id: int,
    locale: str,
) -> tuple[Application, bool]:
    """Store the application once per submit key; the caller commits (and queues notices).

    Returns the application and whether this call created it.
    """
    existing = await by_submit_key(session, draft.submit_key)
    if existing is not None:
        return existing, False
    citizen = await citizens.register_telegram_user(
        session, telegram_user_id=telegram_user_id, chat_id=chat_id, locale=locale
    )
    await _remember_contacts(session, citizen, phone=draft.phone, email=draft.email)
    now = utcnow()
    fields = {
        name: getattr(draft, name)
        for name in Submission.__dataclass_fields__
        if name not in {"submit_key", "phone", "power_kw"}
    }
    application = Application(
        number=f"~{draft.submit_key}"[:32],  # replaced below, once the id is known
        citizen_id=citizen.id,
        status=ApplicationStatus.REGISTERED,
        submit_key=draft.submit_key,
        phone_e164=draft.phone,
        requested_power_kw=draft.power_kw,
        status_changed_at=now,
        **fields,
    )
    session.add(application)
    await session.flush()
    application.number = application_number(application.id, now.astimezone(BAKU).year)
    session.add(
        ApplicationStatusChange(
            application_id=application.id,
            from_status=None,
            to_status=ApplicationStatus.REGISTERED,
            actor="citizen",
            changed_at=now,
        )
    )
    await session.flush()
    return application, True


async def _remember_contacts(
    session: AsyncSession, citizen: Citizen, *, phone: str, email: str | None
) -> None:
    """The phone was verified in the dialogue: it becomes the citizen's verified phone."""
    await citizens.remember_verified_phone(session, citizen, phone)
    if email:
        await session.execute(update(Citizen).where(Citizen.id == citizen.id).values(email=email))


async def newest_first(
    session: AsyncSession,
    *,
    status: ApplicationStatus | None = None,
    district: str | None = None,
    since: datetime | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int,
) -> Sequence[Application]:
    """Up to ``limit`` applications, newest first, filtered; the page of the staff API.

    ``after`` is the (created_at, id) of the last row of the previous page (keyset paging).
    """
    statement = select(Application)
    if status is not None:
        statement = statement.where(Application.status == status)
    if district is not None:
        statement = statement.where(Application.district == district)
    if since is not None:
        statement = statement.where(Application.created_at >= since)
    if after is not None:
        created_at, row_id = after
        statement = statement.where(
            or_(
                Application.created_at < created_at,
                and_(Application.created_at == created_at, Application.id < row_id),
            )
        )
    statement = statement.order_by(Application.created_at.desc(), Application.id.desc())
    result = await session.execute(statement.limit(limit))
    return result.scalars().all()
