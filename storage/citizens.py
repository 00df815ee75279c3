"""Citizens: who writes to the bot, in which language, and how to reach them."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import utcnow
from storage.models import Citizen


async def by_telegram_user(session: AsyncSession, telegram_user_id: int) -> Citizen | None:
    result = await session.execute(
        select(Citizen).where(Citizen.telegram_user_id == telegram_user_id)
    )
    return result.scalar_one_or_none()


async def register_telegram_user(
    session: AsyncSession, *, telegram_user_id: int, chat_id: int, locale: str
) -> Citizen:
    """Create or refresh the citizen behind a Telegram user; the caller commits."""
    citizen = await by_telegram_user(session, telegram_user_id)
    if citizen is None:
        citizen = Citizen(
            telegram_user_id=telegram_user_id, telegram_chat_id=chat_id, locale=locale
        )
        session.add(citizen)
    else:
        citizen.telegram_chat_id = chat_id
        citizen.locale = locale
        citizen.blocked = False
        citizen.updated_at = utcnow()
    await session.flush()
    return citizen


async def remember_verified_phone(session: AsyncSession, citizen: Citizen, phone: str) -> None:
    """The citizen has just proved ``phone`` with an SMS code: it becomes their verified phone.

    Numbers are recycled, so the latest proof wins: another record holding it as verified
    loses the mark (one citizen record per verified phone).
    """
    await session.execute(
        update(Citizen)
        .where(Citizen.phone_e164 == phone, Citizen.phone_verified, Citizen.id != citizen.id)
        .values(phone_verified=False, updated_at=utcnow())
    )
    citizen.phone_e164 = phone
    citizen.phone_verified = True
    citizen.updated_at = utcnow()
    await session.flush()
