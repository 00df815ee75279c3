"""A shared location must be in Azerbaijan: (0, 0) or a point abroad is refused, asked again."""

from __future__ import annotations

import math

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from chat.context import BotApplication
from conversations import connection_request as cr
from conversations import quote_text
from conversations.connection_draft import DRAFT_KEY
from domain.districts import all_districts
from domain.geography import in_azerbaijan
from domain.power_centres import SAMPLE_POWER_CENTRES_FILE, load_power_centres
from emulator import BotApiEmulator
from i18n import translate
from tests.harness import Citizen
from tests.test_connection_request import SUMQAYIT_HOME, choose_language, head, walk_to_review

ABROAD = {
    "null island": (0.0, 0.0),
    "Moscow": (55.7558, 37.6173),
    "Tehran": (35.6892, 51.3890),
    "Yerevan": (40.1792, 44.4991),
    "Aktau, across the Caspian": (43.65, 51.17),
    "Baku with latitude and longitude swapped": (49.8671, 40.4093),
}


def test_every_district_centre_and_power_centre_is_inside() -> None:
    places = [(d.latitude, d.longitude) for d in all_districts()]  # Nakhchivan's too
    places += [(c.latitude, c.longitude) for c in load_power_centres(SAMPLE_POWER_CENTRES_FILE)]
    assert len(places) > 300
    assert [p for p in places if not in_azerbaijan(*p)] == []


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        (40.2167, 50.8333),  # Neft Daşları, in the Caspian: the east
        (38.4, 48.87),  # Astara: the south
        (41.9, 48.4),  # Qusar's mountains: the north
        (39.4, 44.8),  # Sədərək, Nakhchivan: the west
    ],
)
def test_the_extreme_points_are_inside(latitude: float, longitude: float) -> None:
    assert in_azerbaijan(latitude, longitude)


@pytest.mark.parametrize(("latitude", "longitude"), [*ABROAD.values(), (math.nan, 49.8)])
def test_points_abroad_are_outside(latitude: float, longitude: float) -> None:
    assert not in_azerbaijan(latitude, longitude)


async def test_a_location_abroad_is_refused_with_the_reason_and_asked_again(
    emulator: BotApiEmulator, bot: BotApplication, engine: AsyncEngine
) -> None:
    aysel = Citizen(emulator, user_id=4701)
    await choose_language(aysel, "az")
    await walk_to_review(aysel, "az", district="Bakı", phone_by_code=False, engine=engine)
    before = dict(bot.user_data[aysel.user_id][DRAFT_KEY])
    await aysel.presses("cr:edit")
    while f"cr:editfield:{cr.LOCATION}" not in (await aysel.reply()).callback_data():
        pass
    await aysel.presses(f"cr:editfield:{cr.LOCATION}")
    await aysel.sees(head(cr.LOCATION_QUESTION, "az"))

    for place, (latitude, longitude) in ABROAD.items():
        await aysel.shares_location(latitude, longitude)
        refusal = await aysel.sees(head(cr.OUTSIDE_AZERBAIJAN, "az"))
        reason, _, asked = (refusal.text or "").partition("\n\n")
        assert reason == "⚠️ " + translate(cr.OUTSIDE_AZERBAIJAN, "az"), place
        assert asked.endswith(translate(cr.LOCATION_QUESTION, "az")), place  # the same message
        draft = bot.user_data[aysel.user_id][DRAFT_KEY]
        assert (draft["latitude"], draft["longitude"], draft["state"]) == (
            before["latitude"], before["longitude"], cr.LOCATION
        ), place  # fmt: skip

    await aysel.shares_location(*SUMQAYIT_HOME)
    await aysel.sees(head(quote_text.NEAREST_CENTRE, "az"))
    await aysel.sees(head(quote_text.REVIEW_HEADER, "az"))  # back where the edit began
    draft = bot.user_data[aysel.user_id][DRAFT_KEY]
    assert (draft["latitude"], draft["longitude"]) == pytest.approx(SUMQAYIT_HOME)
