"""The phone numbers the bot holds for a citizen, and which of them count as confirmed.

A citizen has one current verified phone (``citizens.phone_e164``) and the phones of the
applications they submitted from their account: each was proved (SMS code or own contact) when
submitted. Those are the citizen's *confirmed numbers*: the acts dialogue offers them without a
new code. A number another citizen has proved since (numbers are recycled) is not offered, nor
one the citizen removed (``removed_phones``) until they prove it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert, utcnow
from storage.models import Application, Citizen, RemovedPhone


@dataclass
class HeldNumber:
    """One number and what the bot uses it for."""

    phone: str
    current: bool = False  #: the citizen's verified phone (subscriber codes rely on it)
    applications: list[str] = field(default_factory=list)  #: numbers of applications with it
    taken: bool = False  #: another citizen has proved it since
    removed: bool = False  #: the citizen removed it (kept only for their applications' SMS)


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
    removed = await session.scalars(
        select(RemovedPhone.phone_e164).where(RemovedPhone.citizen_id == citizen.id)
    )
    for phone in removed.all():
        if phone in found and not found[phone].current:
            found[phone].removed = True
    return list(found.values())


async def confirmed_numbers(session: AsyncSession, citizen: Citizen) -> list[str]:
    """The numbers the citizen may use again without a new code (the verified one first)."""
    return [
        held.phone
        for held in await held_numbers(session, citizen)
        if not (held.taken or held.removed)
    ]


async def own_numbers(session: AsyncSession, citizen: Citizen) -> list[HeldNumber]:
    """The numbers to show the citizen: theirs (not one another citizen has proved since)."""
    return [held for held in await held_numbers(session, citizen) if not held.taken]


async def remove(session: AsyncSession, citizen: Citizen, phone: str) -> HeldNumber | None:
    """The citizen removes one of their confirmed numbers; what it was used for, or None if
    it is not one (already removed, another's, unknown).

    It is not offered again without a new proof; if it was their verified phone, the mark goes
    (the subscriber codes they follow go quiet until a number is proved). Their applications
    keep the number they were submitted with.
    """
    held = next((h for h in await held_numbers(session, citizen) if h.phone == phone), None)
    if held is None or held.taken or held.removed:
        return None
    insert = dialect_insert(session.get_bind().dialect.name)
    await session.execute(
        insert(RemovedPhone)
        .values(citizen_id=citizen.id, phone_e164=phone, removed_at=utcnow())
        .on_conflict_do_nothing(index_elements=["citizen_id", "phone_e164"])
    )
    if held.current:
        stored = await session.get(Citizen, citizen.id)
        assert stored is not None
        stored.phone_verified = False
        stored.updated_at = utcnow()
    await session.flush()
    return held
