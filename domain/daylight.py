"""Burning hours of lighting by latitude: an ESTIMATE (REFERENCE.md §5).

No official table of burning hours was found, so they are computed: for each day, the hours of
darkness at the settlement's latitude that fall inside a waking window (default 06:00–23:00
local clock time), summed over the days. Sunrise and sunset come from the standard sunrise
equation (solar declination, −0.833° for refraction and the sun's disc) with a simple equation
of time; the clock is Baku's (49.87° E, UTC+4, no summer time since 2016). Across Azerbaijan
(about 38.4°–41.9° N, 44.8°–50.4° E) the longitude moves sunrise by under 25 minutes; it is
ignored on purpose. Expect an error of a few minutes a day against an almanac.

An official table, when one turns up, overrides the computation: a CSV ``month,hours_per_day``
with one row per month (``#`` starts a comment), read by :func:`load_burning_hours_table`.

Ranges are half-open: ``[start, end)``, the ``end`` day is not counted.
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Final

BAKU_LONGITUDE: Final = 49.87
BAKU_UTC_OFFSET_HOURS: Final = 4.0
WINDOW_START_HOUR: Final = 6.0
WINDOW_END_HOUR: Final = 23.0

_CENT: Final = Decimal("0.01")
_HORIZON_DEG: Final = -0.833


@dataclass(frozen=True, slots=True)
class BurningHoursTable:
    """Official burning hours per day, by calendar month (index 0 is January)."""

    hours_per_day: tuple[Decimal, ...]
    source: str

    def hours_on(self, day: date) -> Decimal:
        return self.hours_per_day[day.month - 1]


def sun_times(
    latitude: float,
    day: date,
    *,
    longitude: float = BAKU_LONGITUDE,
    utc_offset_hours: float = BAKU_UTC_OFFSET_HOURS,
) -> tuple[float, float]:
    """(sunrise, sunset) in local clock hours, e.g. 7.5 for 07:30."""
    n = day.timetuple().tm_yday
    declination = math.radians(-23.44 * math.cos(math.radians(360 / 365 * (n + 10))))
    b = math.radians(360 / 365 * (n - 81))
    equation_of_time_min = 9.87 * math.sin(2 * b) - 7.53 * math.cos(b) - 1.5 * math.sin(b)
    phi = math.radians(latitude)
    cos_hour_angle = (
        math.sin(math.radians(_HORIZON_DEG)) - math.sin(phi) * math.sin(declination)
    ) / (math.cos(phi) * math.cos(declination))
    hour_angle = math.degrees(math.acos(max(-1.0, min(1.0, cos_hour_angle))))
    noon = 12 + (15 * utc_offset_hours - longitude) / 15 - equation_of_time_min / 60
    return noon - hour_angle / 15, noon + hour_angle / 15


@functools.lru_cache(maxsize=65536)
def darkness_hours(
    latitude: float,
    day: date,
    *,
    window_start: float = WINDOW_START_HOUR,
    window_end: float = WINDOW_END_HOUR,
) -> float:
    """Hours of darkness on ``day`` inside the waking window: 0 to window length (17 h)."""
    if not 0 <= window_start < window_end <= 24:
        raise ValueError(f"bad waking window {window_start}–{window_end}")
    sunrise, sunset = sun_times(latitude, day)
    light = max(0.0, min(sunset, window_end) - max(sunrise, window_start))
    return (window_end - window_start) - light


def burning_hours(
    latitude: float,
    start: date,
    end: date,
    *,
    table: BurningHoursTable | None = None,
    window_start: float = WINDOW_START_HOUR,
    window_end: float = WINDOW_END_HOUR,
) -> Decimal:
    """Lighting hours over ``[start, end)``, rounded to 0.01 h; from ``table`` when given.

    Without a table the result is an estimate (see the module docstring).
    """
    if end < start:
        raise ValueError(f"range ends ({end}) before it starts ({start})")
    days = (start + timedelta(days=offset) for offset in range((end - start).days))
    if table is not None:
        exact = sum((table.hours_on(day) for day in days), Decimal(0))
        return exact.quantize(_CENT, rounding=ROUND_HALF_UP)
    if not -66 < latitude < 66:
        raise ValueError(f"latitude {latitude} is outside the range this estimate supports")
    total = math.fsum(
        darkness_hours(latitude, day, window_start=window_start, window_end=window_end)
        for day in days
    )
    return Decimal(repr(total)).quantize(_CENT, rounding=ROUND_HALF_UP)


def load_burning_hours_table(path: Path) -> BurningHoursTable:
    """Read ``month,hours_per_day`` (months 1–12, each once); a ValueError names file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{path}: cannot be read: {error}") from error
    rows = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    reader = csv.DictReader(rows)
    if reader.fieldnames is None or set(reader.fieldnames) != {"month", "hours_per_day"}:
        raise ValueError(f"{path}: the header must be month,hours_per_day")
    hours: dict[int, Decimal] = {}
    for number, row in enumerate(reader, start=2):
        place = f"{path}: data row {number - 1}"
        try:
            month = int(row["month"])
            value = Decimal(row["hours_per_day"].strip())
        except (ValueError, ArithmeticError, AttributeError) as error:
            raise ValueError(f"{place}: month and hours_per_day must be numbers") from error
        if not 1 <= month <= 12:
            raise ValueError(f"{place}: month {month} is not 1–12")
        if month in hours:
            raise ValueError(f"{place}: month {month} appears twice")
        if not value.is_finite() or not 0 <= value <= 24:
            raise ValueError(f"{place}: hours_per_day {value} is not within 0–24")
        hours[month] = value
    missing = sorted(set(range(1, 13)) - set(hours))
    if missing:
        raise ValueError(f"{path}: months missing: {', '.join(map(str, missing))}")
    return BurningHoursTable(tuple(hours[m] for m in range(1, 13)), source=str(path))
