"""Burning hours by latitude (an estimate) and the official-table override (REFERENCE.md §5)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.daylight import (
    burning_hours,
    darkness_hours,
    load_burning_hours_table,
    sun_times,
)

SOUTH = 38.5  # Astara, Lənkəran
NORTH = 41.5  # Qusar, Zaqatala


def test_baku_winter_solstice_matches_the_almanac_within_minutes() -> None:
    # Baku (40.4° N), 21 Dec: sunrise ≈ 08:00, sunset ≈ 17:19 (UTC+4)
    sunrise, sunset = sun_times(40.4, date(2024, 12, 21))
    assert abs(sunrise - 8.0) < 0.1
    assert abs(sunset - (17 + 19 / 60)) < 0.1


def test_darkness_longer_in_winter_than_summer_and_longer_north_in_winter() -> None:
    winter, summer = date(2024, 12, 21), date(2024, 6, 21)
    for lat in (SOUTH, NORTH):
        assert darkness_hours(lat, winter) > darkness_hours(lat, summer)
    # Higher latitude: longer winter nights, shorter summer nights.
    assert darkness_hours(NORTH, winter) > darkness_hours(SOUTH, winter)
    assert darkness_hours(NORTH, summer) < darkness_hours(SOUTH, summer)


def test_two_latitudes_give_different_december_hours() -> None:
    # December 2024, 31 days: ≈ 7.5 h a day at 38.5°, ≈ 7.8 h at 41.5° (06:00–23:00 window)
    south = burning_hours(SOUTH, date(2024, 12, 1), date(2025, 1, 1))
    north = burning_hours(NORTH, date(2024, 12, 1), date(2025, 1, 1))
    assert D(31) * 7 < south < north < D(31) * 8
    assert north - south > D(3)  # about 6–7 minutes a day more in the north
    assert south == south.quantize(D("0.01"))


@given(
    lat=st.floats(min_value=38.4, max_value=41.9),
    offset=st.integers(min_value=0, max_value=3 * 366),
)
def test_darkness_within_the_waking_window(lat: float, offset: int) -> None:
    hours = darkness_hours(lat, date(2023, 1, 1) + timedelta(days=offset))
    assert 0 <= hours <= 17


def test_range_is_half_open_and_additive() -> None:
    a, b, c = date(2024, 3, 1), date(2024, 3, 11), date(2024, 4, 1)
    assert burning_hours(NORTH, a, a) == D(0)
    whole = burning_hours(NORTH, a, c)
    parts = burning_hours(NORTH, a, b) + burning_hours(NORTH, b, c)
    assert abs(whole - parts) <= D("0.01")
    with pytest.raises(ValueError):
        burning_hours(NORTH, c, a)


def test_table_override(tmp_path: Path) -> None:
    path = tmp_path / "hours.csv"
    rows = "\n".join(f"{m},{D(8) - D(m) / 4}" for m in range(1, 13))
    path.write_text(f"# official table\nmonth,hours_per_day\n{rows}\n", encoding="utf-8")
    table = load_burning_hours_table(path)
    # 30 Jan – 2 Feb: 2 days × 7.75 h + 1 day × 7.5 h = 23.00 h, latitude ignored
    assert burning_hours(SOUTH, date(2024, 1, 30), date(2024, 2, 2), table=table) == (
        2 * D("7.75") + 1 * D("7.5")
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("month,hours\n1,5\n", "header"),
        ("month,hours_per_day\n1,5\n", "months missing: 2"),
        ("month,hours_per_day\n13,5\n", "month 13"),
        ("month,hours_per_day\n1,25\n", "not within 0–24"),
        ("month,hours_per_day\n1,x\n", "must be numbers"),
        ("month,hours_per_day\n1,5\n1,6\n", "appears twice"),
    ],
)
def test_bad_table_names_the_file(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "hours.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as error:
        load_burning_hours_table(path)
    assert str(path) in str(error.value)
