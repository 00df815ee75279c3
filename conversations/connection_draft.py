"""The connection-request draft: what the citizen has answered so far.

It lives in the citizen's `user_data` (written through to the database after every update),
so it survives restarts; it holds only JSON types.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from i18n import current_locale

DRAFT_KEY: Final = "connection_draft"
REMIND_AFTER: Final = timedelta(minutes=30)
EXPIRE_AFTER: Final = timedelta(hours=24)


@dataclass
class Draft:
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: str = ""
    updated_at: str = ""
    reminded: bool = False
    locale: str | None = None  # the language of the last answer: for the reminder
    state: int | None = None
    # The question of `state` has been sent. False from the moment the step is chosen until its
    # question is out; a draft found so after a restart may have a question the citizen never
    # saw (see connection_request.in_step). Drafts from before this field were all asked.
    asked: bool = True
    history: list[int] = field(default_factory=list)
    editing: bool = False
    registry_first: bool = False  # a citizen registry is connected: FIN first, then confirm
    registry_match: dict[str, str | None] | None = None
    prefilled: list[int] = field(default_factory=list)  # answered by the fee calculator
    # main info
    first_name: str | None = None
    last_name: str | None = None
    patronymic: str | None = None
    fin: str | None = None
    id_card: str | None = None
    # application info
    execution_period: str | None = None
    phase: int | None = None
    power_kw: str | None = None
    # object info
    object_type: str | None = None
    has_general_conditions: bool | None = None
    district: str | None = None
    registry_number: str | None = None
    registration_number: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    location_shared: bool = False
    #: a shared location far from the district's centre, asked about once (latitude, longitude)
    doubted_location: list[float] | None = None
    distance_m: int | None = None
    power_centre: str | None = None
    # contact info
    phone: str | None = None
    phone_verified: bool = False
    pending_phone: str | None = None
    email: str | None = None
    email_skipped: bool = False

    @property
    def power(self) -> Decimal | None:
        return Decimal(self.power_kw) if self.power_kw is not None else None

    def touch(self, now: datetime) -> None:
        if not self.started_at:
            self.started_at = now.isoformat()
        self.updated_at = now.isoformat()
        self.reminded = False

    def idle_for(self, now: datetime) -> timedelta:
        return now - datetime.fromisoformat(self.updated_at or now.isoformat())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def load_draft(user_data: dict[Any, Any] | None) -> Draft | None:
    raw = user_data.get(DRAFT_KEY) if user_data is not None else None
    return Draft.from_json(raw) if isinstance(raw, dict) else None


def save_draft(user_data: dict[Any, Any], draft: Draft, now: datetime) -> None:
    draft.touch(now)
    draft.locale = current_locale()
    user_data[DRAFT_KEY] = draft.to_json()


def drop_draft(user_data: dict[Any, Any] | None) -> None:
    if user_data is not None:
        user_data.pop(DRAFT_KEY, None)
