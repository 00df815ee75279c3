"""Distance from an object to the nearest power centre.

Embedded default: a CSV of power centres, nearest by haversine (the repository ships a
clearly labelled *sample* file; operators replace it with their export via
POWER_CENTRES_FILE). Network: the company GIS over HTTP (GIS_URL), which answers
``GET {GIS_URL}?lat=..&lon=..`` with ``{"name": str, "distance_m": int}``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from domain.power_centres import PowerCentre, load_power_centres, nearest_power_centre

log = logging.getLogger(__name__)

FARTHEST_M = 20_100_000  # half the Earth's circumference: no distance on Earth is larger


@dataclass(frozen=True, slots=True)
class NearestCentre:
    name: str
    distance_m: int
    sample_data: bool  # True while the shipped sample file is in use: say so to the citizen


class PowerCentres(Protocol):
    async def nearest(self, latitude: float, longitude: float) -> NearestCentre: ...


class CsvPowerCentres:
    """Nearest centre from a CSV file, loaded once."""

    def __init__(self, path: Path, *, sample: bool) -> None:
        self._centres: list[PowerCentre] = load_power_centres(path)
        self._sample = sample

    async def nearest(self, latitude: float, longitude: float) -> NearestCentre:
        centre, metres = nearest_power_centre(self._centres, latitude, longitude)
        return NearestCentre(centre.name, metres, self._sample)


class HttpGis:
    """The company GIS; falls back to the CSV when the GIS does not answer."""

    def __init__(self, url: str, fallback: PowerCentres, timeout_seconds: float = 5.0) -> None:
        self._url = url
        self._fallback = fallback
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def nearest(self, latitude: float, longitude: float) -> NearestCentre:
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as http,
                http.get(self._url, params={"lat": str(latitude), "lon": str(longitude)}) as reply,
            ):
                reply.raise_for_status()
                return _gis_answer(await reply.json())
        except (aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError) as error:
            log.warning("GIS did not answer (%s); using the power-centre file", error)
            return await self._fallback.nearest(latitude, longitude)


def _gis_answer(body: Any) -> NearestCentre:
    """The GIS answer; ValueError unless it has a centre name and a distance on Earth."""
    name, distance = body["name"], body["distance_m"]
    if not isinstance(name, str) or not name.strip():
        raise ValueError("no power-centre name")
    if isinstance(distance, bool) or not isinstance(distance, int | float):
        raise ValueError("no distance")
    if not 0 <= distance <= FARTHEST_M:  # also false for NaN
        raise ValueError(f"distance out of range: {distance!r:.20}")
    return NearestCentre(name, int(distance), False)
