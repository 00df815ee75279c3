"""The phone numbers the bot holds for a citizen, and which of them count as confirmed.

A citizen has one current verified phone (``citizens.phone_e164``) and the phones of the
applications they submitted from their account: each was proved (SMS code or own contact) when
submitted. Those are the citizen's *confirmed numbers*: the acts dialogue offers them without a
new code. A number another citizen has proved since (numbers are recycled) is not offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Application, Citizen


@dataclass
class HeldNumber:
    """One number and what the bot uses it for."""

    phone: str
    current: bool = False  #: the citizen's verified phone (subscriber codes rely on it)
    applications: list[str] = field(default_factory=list)  #: numbers of applications with it
    taken: bool = False  #: another citizen has proved it since


async def held_numbers(session: AsyncSession, citizen: Citizen) -> list[HeldNumber]:
    """Every number the bot holds for the citizen: the verified one first, then the others."""
    found: dict[str, HeldNumber] = {}
    if citizen.phone_verified and citizen.phone_e164:
        found[citizen.phone_e164] = HeldNumber(citizen.phone_e164, current=True)
    rows = await session.execute(
        select(Application.phone_e164, Application.number)
        .where(Application.citizen_id == citizen.id)
        .order_by(Application.created_at.desc(), Application.id.desc())
    )
    for phone, number in rows.all():
        found.setdefault(phone, HeldNumber(phone)).applications.append(number)
    others = [held.phone for held in found.values() if not held.current]
    if others:
        taken = await session.scalars(
            select(Citizen.phone_e164).where(
                Citizen.phone_e164.in_(others), Citizen.phone_verified, Citizen.id != citizen.id
            )
        )
        for holder in taken.all():
            if holder is not None:
                found[holder].taken = True
    return list(found.values())


async def confirmed_numbers(session: AsyncSession, citizen: Citizen) -> list[str]:
    """The numbers the citizen may use again without a new code (the verified one first)."""
    return [held.phone for held in await held_numbers(session, citizen) if not held.taken]
