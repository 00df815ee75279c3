"""What every handler can reach: settings, the database, and the citizen's locale."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any, cast

from telegram.ext import Application, CallbackContext, ExtBot

from chat.locales import SavedLocales, update_saved_locale
from integrations.citizen_registry import CitizenRegistry
from integrations.payments import PaymentChannelsOnly, Payments
from integrations.power_centres import PowerCentres
from integrations.subscribers import SubscriberDirectory
from storage.phone_verifications import SmsCaps
from storage.types import AsyncEngine, AsyncSession, async_sessionmaker

SERVICES_KEY = "services"


@dataclass(frozen=True, slots=True)
class Services:
    """Long-lived collaborators, built once by the composition root."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    staff_ids: Set[int]
    power_centres: PowerCentres
    citizen_registry: CitizenRegistry
    subscribers: SubscriberDirectory
    locales: SavedLocales
    sms_caps: SmsCaps = field(default_factory=SmsCaps)
    payments: Payments = field(default_factory=PaymentChannelsOnly)


#: The bot's rate limiter arguments are delivery.governor.Pace (chat/ may not import delivery/).
BotExt = ExtBot[Any]


class BotContext(CallbackContext[BotExt, dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Callback context with typed access to the services."""

    @property
    def services(self) -> Services:
        return cast(Services, self.application.bot_data[SERVICES_KEY])

    @property
    def saved_locale(self) -> str | None:
        """The language saved for the citizen of this update (None: we have no record).

        Looked up once per update, before any other handler (:mod:`handlers.locale`).
        """
        return update_saved_locale()

    def is_staff(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.services.staff_ids


BotApplication = Application[
    BotExt, BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]


def attach_services(application: BotApplication, services: Services) -> None:
    application.bot_data[SERVICES_KEY] = services
