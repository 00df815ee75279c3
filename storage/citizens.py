"""Citizens: who writes to the bot, in which language, and how to reach them."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import utcnow
from storage.models import Citizen, RemovedPhone, SubscriberLink


async def by_telegram_user(session: AsyncSession, telegram_user_id: int) -> Citizen | None:
    result = await session.execute(
        select(Citizen).where(Citizen.telegram_user_id == telegram_user_id)
    )
    return result.scalar_one_or_none()


async def locale_of(session: AsyncSession, telegram_user_id: int) -> str | None:
    """The language saved for a Telegram user; None when we have no record of them."""
    result = await session.execute(
        select(Citizen.locale).where(Citizen.telegram_user_id == telegram_user_id)
    )
    return result.scalar_one_or_none()


async def register_telegram_user(
    session: AsyncSession, *, telegram_user_id: int, chat_id: int, locale: str
) -> Citizen:
    """Create or refresh the citizen behind a Telegram user; the caller commits.

    ``locale`` (the one in effect) is saved for a new record only: an existing record keeps
    its language, which only the citizen's own choice changes (:func:`choose_locale`), so the
    bot's cache of saved languages stays true without being told.
    """
    citizen = await by_telegram_user(session, telegram_user_id)
    if citizen is None:
        citizen = Citizen(
            telegram_user_id=telegram_user_id, telegram_chat_id=chat_id, locale=locale
        )
        session.add(citizen)
    else:
        citizen.telegram_chat_id = chat_id
        citizen.blocked = False
        citizen.updated_at = utcnow()
    await session.flush()
    return citizen


async def choose_locale(
    session: AsyncSession, *, telegram_user_id: int, chat_id: int, locale: str
) -> Citizen:
    """The citizen chose a language: save it (creating the record); the caller commits."""
    citizen = await register_telegram_user(
        session, telegram_user_id=telegram_user_id, chat_id=chat_id, locale=locale
    )
    citizen.locale = locale
    await session.flush()
    return citizen


async def remember_verified_phone(session: AsyncSession, citizen: Citizen, phone: str) -> None:
    """The citizen has just proved ``phone`` (SMS code or own contact): it is theirs now.

    One citizen record per verified phone. A record that knew the phone only from SMS (no
    Telegram account) is the same person: its SMS preferences and followed subscriber codes
    move here and it is removed. A record of another Telegram account loses the mark: numbers
    are recycled, and the latest proof wins.
    """
    await hold_phone(session, phone)
    result = await session.execute(
        select(Citizen).where(
            Citizen.phone_e164 == phone, Citizen.phone_verified, Citizen.id != citizen.id
        )
    )
    for other in result.scalars().all():
        if other.telegram_user_id is None:
            await _absorb(session, citizen, other)
        else:
            other.phone_verified = False
            other.updated_at = utcnow()
    await session.flush()
    await session.execute(  # proved anew: no longer a removed number
        delete(RemovedPhone).where(
            RemovedPhone.citizen_id == citizen.id, RemovedPhone.phone_e164 == phone
        )
    )
    citizen.phone_e164 = phone
    citizen.phone_verified = True
    citizen.updated_at = utcnow()
    await session.flush()


async def hold_phone(session: AsyncSession, phone: str) -> None:
    """Serialise the transactions that give out a verified phone, until this one ends.

    Two people proving the same number at once (or two SMS from it) would otherwise both see no
    holder and both take it: the unique index then fails one of them. PostgreSQL: a transaction
    advisory lock on the number. SQLite has one writer at a time; a first write takes that lock
    before anything is read.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"phone:{phone}"}
        )
    else:
        await session.execute(
            update(Citizen)
            .where(Citizen.phone_e164 == phone)
            .values(phone_e164=Citizen.phone_e164)
            .execution_options(synchronize_session=False)
        )


async def _absorb(session: AsyncSession, citizen: Citizen, sms_only: Citizen) -> None:
    citizen.sms_opted_out = citizen.sms_opted_out or sms_only.sms_opted_out
    citizen.notify_sms = citizen.notify_sms and sms_only.notify_sms
    kept = select(SubscriberLink.subscriber_code).where(SubscriberLink.citizen_id == citizen.id)
    await session.execute(
        update(SubscriberLink)
        .where(
            SubscriberLink.citizen_id == sms_only.id,
            SubscriberLink.subscriber_code.not_in(kept),
        )
        .values(citizen_id=citizen.id)
        .execution_options(synchronize_session=False)
    )
    await session.delete(sms_only)


async def by_verified_phone(session: AsyncSession, phone: str) -> Citizen | None:
    result = await session.execute(
        select(Citizen).where(Citizen.phone_e164 == phone, Citizen.phone_verified)
    )
    return result.scalar_one_or_none()


async def by_verified_phones(session: AsyncSession, phones: Collection[str]) -> dict[str, Citizen]:
    """:func:`by_verified_phone` for many phones at once."""
    if not phones:
        return {}
    result = await session.execute(
        select(Citizen).where(Citizen.phone_e164.in_(phones), Citizen.phone_verified)
    )
    return {citizen.phone_e164: citizen for citizen in result.scalars() if citizen.phone_e164}


async def for_sms_sender(session: AsyncSession, phone: str, *, locale: str) -> Citizen:
    """The citizen behind a phone that wrote to us by SMS (the gateway vouches for the
    number); created without a Telegram account when there is none."""
    await hold_phone(session, phone)
    citizen = await by_verified_phone(session, phone)
    if citizen is None:
        citizen = Citizen(phone_e164=phone, phone_verified=True, locale=locale)
        session.add(citizen)
        await session.flush()
    return citizen
