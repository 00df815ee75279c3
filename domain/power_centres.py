"""Power centres (substations) and the distance from an object to the nearest one.

The distance decides whether a connection can be paid online (≤ 400 m, REFERENCE.md §3). The
company's real substation register is not public: :data:`SAMPLE_POWER_CENTRES_FILE` holds
synthetic centres for development and tests, to be replaced by a real file (POWER_CENTRES_FILE).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "EARTH_RADIUS_M",
    "SAMPLE_POWER_CENTRES_FILE",
    "PowerCentre",
    "haversine_m",
    "load_power_centres",
    "nearest_power_centre",
]

SAMPLE_POWER_CENTRES_FILE: Final = Path(__file__).parent / "data" / "power_centres.sample.csv"
EARTH_RADIUS_M: Final = 6371008.8  # mean Earth radius (IUGG)
_HEADER: Final = ("name", "lat", "lon")


@dataclass(frozen=True, slots=True)
class PowerCentre:
    name: str
    latitude: float
    longitude: float


def load_power_centres(path: Path) -> list[PowerCentre]:
    """Read a ``name,lat,lon`` CSV; lines starting with ``#`` are comments.

    Raises ValueError naming the file and line on a bad header or row, and on a file with no
    centres.
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot be read: {error}") from error
    centres: list[PowerCentre] = []
    header_seen = False
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [field.strip() for field in next(csv.reader([line]))]
        if not header_seen:
            if tuple(field.lower() for field in fields) != _HEADER:
                raise ValueError(f"{path}:{number}: header must be 'name,lat,lon', not {line!r}")
            header_seen = True
            continue
        centres.append(_parse_row(path, number, fields))
    if not centres:
        raise ValueError(f"{path}: no power centres")
    return centres


def _parse_row(path: Path, number: int, fields: list[str]) -> PowerCentre:
    where = f"{path}:{number}"
    if len(fields) != len(_HEADER):
        raise ValueError(f"{where}: expected 3 fields (name,lat,lon), got {len(fields)}")
    name, lat_text, lon_text = fields
    if not name:
        raise ValueError(f"{where}: empty name")
    try:
        latitude, longitude = float(lat_text), float(lon_text)
    except ValueError as error:
        raise ValueError(f"{where}: lat/lon are not numbers: {lat_text!r}, {lon_text!r}") from error
    if not (-90.0 <= latitude <= 90.0) or not (-180.0 <= longitude <= 180.0):
        raise ValueError(f"{where}: ({lat_text}, {lon_text}) is not a latitude and longitude")
    return PowerCentre(name=name, latitude=latitude, longitude=longitude)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (spherical Earth: within about 0.5 % of the ellipsoid)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def nearest_power_centre(
    centres: Sequence[PowerCentre], latitude: float, longitude: float
) -> tuple[PowerCentre, int]:
    """The nearest centre and its distance in whole metres; the first one listed wins a tie."""
    if not centres:
        raise ValueError("no power centres to choose from")
    best = min(centres, key=lambda c: haversine_m(latitude, longitude, c.latitude, c.longitude))
    return best, round(haversine_m(latitude, longitude, best.latitude, best.longitude))
