"""Household tariff periods and monthly pricing against hand-computed figures (REFERENCE.md §4)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.tariffs import (
    DEFAULT_TARIFF_FILE,
    fixed_charge_on,
    load_tariffs,
    price_month,
    tariff_for_month,
    tariff_on,
)


@pytest.mark.parametrize(
    ("day", "tariff_id"),
    [
        (date(2016, 7, 15), "tc-11-2016"),
        (date(2016, 11, 30), "tc-11-2016"),
        (date(2016, 12, 1), "tc-17-2016"),
        (date(2021, 10, 31), "tc-17-2016"),
        (date(2021, 11, 1), "tc-14-2021"),
        (date(2025, 1, 1), "tc-14-2021"),
        (date(2025, 1, 2), "tc-19-2024"),
        (date(2030, 1, 1), "tc-19-2024"),
    ],
)
def test_tariff_on_day(day: date, tariff_id: str) -> None:
    assert tariff_on(day).id == tariff_id


def test_no_tariff_before_the_first_period() -> None:
    with pytest.raises(LookupError):
        tariff_on(date(2016, 7, 14))
    with pytest.raises(LookupError):
        tariff_for_month(date(2016, 6, 1))


def test_a_month_takes_the_tariff_of_most_of_its_days() -> None:
    # January 2025: 1 day under No. 14, 30 days under No. 19.
    assert tariff_for_month(date(2025, 1, 1)).id == "tc-19-2024"
    # July 2016: 14 days without a known tariff, 17 days (15–31) under No. 11.
    assert tariff_for_month(date(2016, 7, 1)).id == "tc-11-2016"
    with pytest.raises(ValueError, match="first day"):
        price_month(D(1), date(2025, 1, 2))


# (month, kWh, AZN): tiers are marginal, qəpik / 100 = AZN
EDGES = [
    # 2016-07: one rate, 7 qəpik
    (date(2016, 8, 1), D(200), D(200) * 7 / 100),  # 14.00
    (date(2016, 8, 1), D(301), D(301) * 7 / 100),  # 21.07
    # 2016-12: 7 up to 300, 11 above
    (date(2017, 1, 1), D(200), D(200) * 7 / 100),  # 14.00
    (date(2017, 1, 1), D(300), D(300) * 7 / 100),  # 21.00
    (date(2017, 1, 1), D(301), D(300) * 7 / 100 + 1 * D(11) / 100),  # 21.11
    # 2021-11: 8 / 9 / 13
    (date(2022, 1, 1), D(200), D(200) * 8 / 100),  # 16.00
    (date(2022, 1, 1), D(201), D(16) + D(9) / 100),  # 16.09
    (date(2022, 1, 1), D(300), D(16) + 100 * D(9) / 100),  # 25.00
    (date(2022, 1, 1), D(301), D(25) + D(13) / 100),  # 25.13
    # 2025-01-02: 8.4 / 10 / 15
    (date(2025, 2, 1), D(200), 200 * D("8.4") / 100),  # 16.80
    (date(2025, 2, 1), D(201), D("16.80") + D(10) / 100),  # 16.90
    (date(2025, 2, 1), D(300), D("16.80") + 100 * D(10) / 100),  # 26.80
    (date(2025, 2, 1), D(301), D("26.80") + D(15) / 100),  # 26.95
    (date(2025, 2, 1), D(350), D("26.80") + 50 * D(15) / 100),  # 34.30
]


@pytest.mark.parametrize(("month", "kwh", "azn"), EDGES)
def test_tier_edges(month: date, kwh: D, azn: D) -> None:
    amount, lines = price_month(kwh, month)
    assert amount == azn.quantize(D("0.01"))
    assert sum(line.kwh for line in lines) == kwh


def test_tier_lines_and_rounding() -> None:
    # 123.45 kWh × 8.4 qəpik = 10.36980 AZN → 10.37 (rounded once, half-up)
    amount, lines = price_month(D("123.45"), date(2025, 3, 1))
    assert amount == D("10.37")
    assert [(line.from_kwh, line.kwh, line.amount) for line in lines] == [
        (D(0), D("123.45"), D("123.45") * D("8.4") / 100)
    ]
    # 0.0625 kWh × 8 qəpik = 0.005 AZN → 0.01 (half-up)
    assert price_month(D("0.0625"), date(2022, 3, 1))[0] == D("0.01")
    assert price_month(D(0), date(2022, 3, 1))[0] == D("0.00")


@given(
    a=st.decimals(min_value=0, max_value=5000, places=2),
    b=st.decimals(min_value=0, max_value=5000, places=2),
    month=st.sampled_from([date(2017, 5, 1), date(2022, 5, 1), date(2025, 5, 1)]),
)
def test_price_grows_with_kwh(a: D, b: D, month: date) -> None:
    low, high = sorted((a, b))
    assert price_month(low, month)[0] <= price_month(high, month)[0]


def test_fixed_charge_is_recorded_not_for_recalculation() -> None:
    assert fixed_charge_on(date(2025, 12, 31)) is None
    charge = fixed_charge_on(date(2026, 1, 1))
    assert charge is not None
    assert charge.amount_azn == D(1)
    assert charge.used_in_recalculation is False
    # price_month prices energy only: 100 kWh × 8.4 qəpik, no 1 AZN added
    assert price_month(D(100), date(2026, 1, 1))[0] == D("8.40")


def test_default_file_loads_with_sources_and_marks() -> None:
    tariffs = load_tariffs(DEFAULT_TARIFF_FILE)
    assert [p.effective_from for p in tariffs.periods] == sorted(
        p.effective_from for p in tariffs.periods
    )
    for period in tariffs.periods:
        assert period.source and period.title
        assert period.confidence in ("confirmed", "likely", "unknown")
    assert tariffs.periods[0].effective_to == date(2016, 11, 30)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("tiers = [{ rate = 7 }]", None),
        ("tiers = [{ up_to_kwh = 200, rate = 7 }]", "tiers[1].up_to_kwh: the last tier"),
        ("tiers = [{ rate = 7 }, { rate = 9 }]", "tiers[1].up_to_kwh: only the last"),
        ("tiers = [{ up_to_kwh = 0, rate = 7 }, { rate = 9 }]", "tiers[1].up_to_kwh"),
        ('tiers = [{ rate = 7, colour = "red" }]', "tiers[1].colour: unknown key"),
        ("tiers = [{ rate = -7 }]", "tiers[1].rate"),
    ],
)
def test_bad_tariff_file_names_file_and_key(
    tmp_path: Path, change: str, message: str | None
) -> None:
    text = f"""
[[periods]]
id = "x"
title = "X"
source = "X"
effective_from = 2020-01-01
effective_from_confidence = "confirmed"
confidence = "confirmed"
{change}
"""
    path = tmp_path / "household.toml"
    path.write_text(text, encoding="utf-8")
    if message is None:
        assert load_tariffs(path).tariff_on(date(2020, 1, 1)).id == "x"
        return
    with pytest.raises(ValueError, match=re.escape(f"household.toml: periods[1].{message}")):
        load_tariffs(path)
