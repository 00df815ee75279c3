"""Demo data for ``azerishiq-bot console`` only, so that every menu item has something to show.

A newcomer's first try of *Aktlar və ödənişlər* and *Müraciətlərim* would otherwise find
nothing: acts come from the staff API and applications from a whole dialogue. At each console
start (never in ``serve``, which does not call this) the console's citizen gets, if missing:

- a sample connection application, stored by :func:`storage.applications.submit` with the real
  fee quote (its phone, the console's demo phone, becomes the citizen's verified phone);
- a subscriber code whose phone on file is that demo phone, followed by the citizen, with one
  violation act computed by the staff API's own rules (:func:`handlers.acts_api.new_act`).

Everything is keyed (submit key, act number, subscriber code), so a second start adds nothing.
No notice is queued: the demo sends no SMS or e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from conversations.quote_text import quote_record
from domain.acts import BAKU
from domain.connection_fees import ConnectionRequest, Phase, quote_fee
from domain.districts import find_district
from handlers.acts_api import new_act
from storage import acts, applications, citizens
from storage.types import AsyncSession, async_sessionmaker

DEMO_SUBSCRIBER_CODE: Final = "700000000000001"
DEMO_ACT_NUMBER: Final = "DEMO-1"
DEMO_DISTRICT: Final = "Sumqayıt"
DEMO_ADDRESS: Final = "Sumqayıt, 9-cu mikrorayon, ev 12, mənzil 4"
ACTOR: Final = "console-demo"


@dataclass(frozen=True, slots=True)
class DemoData:
    application_number: str
    subscriber_code: str
    act_number: str
    phone: str

    def note(self) -> str:
        """What the console prints under its banner (console chrome, like the banner)."""
        return (
            "Demo data (console only, never in serve): application "
            f"{self.application_number} under «Müraciətlərim»; subscriber code "
            f"{self.subscriber_code} with act {self.act_number} under «Aktlar və ödənişlər», "
            f"both for the demo phone {self.phone} (:contact shares it).\n"
        )


def submit_key(user_id: int) -> str:
    return f"console-demo-{user_id}"


def act_body(today: date, phone: str) -> dict[str, Any]:
    """The act as an inspector would post it to ``POST /api/acts``."""
    detected = today - timedelta(days=3)
    return {
        "number": DEMO_ACT_NUMBER,
        "subscriber_code": DEMO_SUBSCRIBER_CODE,
        "address": DEMO_ADDRESS,
        "district": DEMO_DISTRICT,
        "consumer_phone": phone,
        "detected_on": detected.isoformat(),
        "last_inspection_on": (detected - timedelta(days=60)).isoformat(),
        "violation_type": "meter_bypass",
        "loads": [
            {"kind": "lighting", "power_w": "200"},
            {"kind": "appliance", "power_w": "1500", "description": "qızdırıcı"},
        ],
        "signed": True,
        "inspectors": ["Əliyev Ə."],
        "actor": ACTOR,
    }


def sample_application(user_id: int, phone: str, today: date) -> applications.Submission:
    request = ConnectionRequest(phase=Phase(1), power_kw=Decimal("7.5"), district=DEMO_DISTRICT)
    quote = quote_fee(request, on=today)
    district = find_district(DEMO_DISTRICT)
    return applications.Submission(
        submit_key=submit_key(user_id),
        first_name="Aysel",
        last_name="Məmmədova",
        patronymic="Elçin qızı",
        fin="5ABC7D8",
        id_card="AA1234567",
        execution_period=None,
        phase=1,
        power_kw=request.power_kw,
        object_type="house",
        has_general_conditions=None,
        district=DEMO_DISTRICT,
        regional_unit=district.regional_unit if district is not None else None,
        registry_number="1",
        registration_number="2",
        latitude=district.latitude if district is not None else None,
        longitude=district.longitude if district is not None else None,
        distance_m=None,
        power_centre=None,
        phone=phone,
        email=None,
        fee_amount=quote.amount,
        fee_rule_set=quote.rule_set_id,
        quote=quote_record(quote),
    )


async def seed_demo(
    sessions: async_sessionmaker[AsyncSession], *, user_id: int, phone: str, locale: str
) -> DemoData:
    """Add what is missing of the demo, in one transaction; idempotent."""
    now = datetime.now(UTC)
    today = now.astimezone(BAKU).date()
    async with sessions.begin() as session:
        application, _ = await applications.submit(
            session,
            draft=sample_application(user_id, phone, today),
            telegram_user_id=user_id,
            chat_id=user_id,
            locale=locale,
        )
        if await acts.by_number(session, DEMO_ACT_NUMBER) is None:
            act, actor = new_act(act_body(today, phone), today=today)
            await acts.register(session, act, actor=actor)
        if await acts.subscriber_phone(session, DEMO_SUBSCRIBER_CODE) is None:
            await acts.upsert_subscriber(
                session, DEMO_SUBSCRIBER_CODE, phone=phone, address=DEMO_ADDRESS,
                district=DEMO_DISTRICT,
            )  # fmt: skip
        citizen = await citizens.by_telegram_user(session, user_id)
        assert citizen is not None  # submit() registered the console's user
        await acts.link(session, citizen.id, DEMO_SUBSCRIBER_CODE)
        number = application.number
    return DemoData(number, DEMO_SUBSCRIBER_CODE, DEMO_ACT_NUMBER, phone)
