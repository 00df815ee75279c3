"""Applications as a citizen may see them: only their own.

An application belongs to whoever submitted it from that Telegram account, and to whoever has
verified the phone number it was submitted with (the same person on a new account). Anyone
else gets exactly what a number that does not exist gets: nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Application, Citizen

LIST_LIMIT = 20


async def _verified_phone(session: AsyncSession, telegram_user_id: int) -> str | None:
    row = await session.execute(
        select(Citizen.phone_e164).where(
            Citizen.telegram_user_id == telegram_user_id, Citizen.phone_verified
        )
    )
    return row.scalar_one_or_none()


async def _ownership(session: AsyncSession, telegram_user_id: int) -> list[object]:
    conditions: list[object] = [
        Application.citizen_id.in_(
            select(Citizen.id).where(Citizen.telegram_user_id == telegram_user_id)
        )
    ]
    phone = await _verified_phone(session, telegram_user_id)
    if phone is not None:
        conditions.append(Application.phone_e164 == phone)
    return conditions


async def mine(session: AsyncSession, telegram_user_id: int) -> Sequence[Application]:
    """The citizen's applications, newest first."""
    conditions = await _ownership(session, telegram_user_id)
    rows = await session.execute(
        select(Application)
        .where(or_(*conditions))  # type: ignore[arg-type]
        .order_by(Application.created_at.desc(), Application.id.desc())
        .limit(LIST_LIMIT)
    )
    return rows.scalars().all()


async def one_of_mine(
    session: AsyncSession, telegram_user_id: int, number: str
) -> Application | None:
    """The application with this number if it is the citizen's; None otherwise."""
    conditions = await _ownership(session, telegram_user_id)
    rows = await session.execute(
        select(Application).where(
            Application.number == number.strip().upper(),
            or_(*conditions),  # type: ignore[arg-type]
        )
    )
    return rows.scalar_one_or_none()


async def for_phone(
    session: AsyncSession, phone: str, number: str | None = None
) -> Sequence[Application]:
    """Applications submitted with this verified phone (one number's, if given), newest first.

    The SMS channel's view: the gateway vouches for the sender's number, and an application's
    phone was verified when it was submitted.
    """
    statement = select(Application).where(Application.phone_e164 == phone)
    if number is not None:
        statement = statement.where(Application.number == number)
    rows = await session.execute(
        statement.order_by(Application.created_at.desc(), Application.id.desc()).limit(LIST_LIMIT)
    )
    return rows.scalars().all()


async def for_phones(
    session: AsyncSession, phones: Collection[str]
) -> dict[str, list[Application]]:
    """:func:`for_phone` for many phones at once, each phone's newest first (all of them)."""
    if not phones:
        return {}
    rows = await session.execute(
        select(Application)
        .where(Application.phone_e164.in_(phones))
        .order_by(Application.created_at.desc(), Application.id.desc())
    )
    found: dict[str, list[Application]] = {}
    for application in rows.scalars():
        found.setdefault(application.phone_e164, []).append(application)
    return found
