"""Recalculation after a violation act against hand-computed figures (REFERENCE.md §5).

Every expected figure is worked out in the comment beside it. Conventions (domain/recalculation.py):
the period is [start, detected_on), so days = detected_on − start; constant loads give
W × 24 h × days / 1000 kWh in each month; each month is priced at its own tariff (tiers marginal,
qəpik / 100 = AZN) and rounded to 0.01 AZN. Tariffs: No. 14 (from 1 Nov 2021) 8 / 9 / 13 qəpik,
No. 19 (from 2 Jan 2025, January 2025 included) 8.4 / 10 / 15, thresholds 200 and 300 kWh.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.daylight import BurningHoursTable
from domain.recalculation import (
    DEFAULT_RULES_DIR,
    ActFacts,
    default_rules,
    load_rule_sets,
    recalculate,
)

LEGACY = "eeiq-5-11-legacy"
CURRENT = "eeiq-8-17-current"
BAKU = 40.4


def tc14(kwh: D) -> D:
    """No. 14 of 2021 by hand: 8 qəpik to 200, 9 to 300, 13 above."""
    return (
        min(kwh, D(200)) * 8 + max(min(kwh, D(300)) - 200, D(0)) * 9 + max(kwh - 300, D(0)) * 13
    ) / 100


def tc19(kwh: D) -> D:
    """No. 19 of 2024 by hand: 8.4 qəpik to 200, 10 to 300, 15 above."""
    return (
        min(kwh, D(200)) * D("8.4")
        + max(min(kwh, D(300)) - 200, D(0)) * 10
        + max(kwh - 300, D(0)) * 15
    ) / 100


def cents(value: D) -> D:
    return value.quantize(D("0.01"), rounding="ROUND_HALF_UP")


def act(**changes: object) -> ActFacts:
    base = ActFacts(
        detected_on=date(2024, 5, 1),
        last_inspection_on=date(2024, 3, 1),
        issued_on=date(2024, 5, 1),
        latitude=BAKU,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- worked examples


def test_1_legacy_heater_replaces_the_socket_allowance() -> None:
    # 1 Mar – 30 Apr 2024 = 61 days (31 + 30). Sockets found and a 2000 W heater: the heater's
    # actual power replaces the 600 W allowance ("isə"), 2000 W × 24 h = 48 kWh a day.
    # March: 48 × 31 = 1488 kWh → 200 × 8 + 100 × 9 + 1188 × 13 = 16 + 9 + 154.44 = 179.44 AZN
    # April: 48 × 30 = 1440 kWh → 16 + 9 + 1140 × 0.13 = 25 + 148.20        = 173.20 AZN
    result = recalculate(act(sockets_found=True, appliances_w=(D(2000), D(400))), rule_set=LEGACY)
    assert result.days == 61
    assert (result.sockets_kwh, result.appliances_kwh) == (D(0), 48 * D(61))
    assert [m.kwh for m in result.months] == [48 * D(31), 48 * D(30)]
    assert [m.amount for m in result.months] == [cents(tc14(D(1488))), cents(tc14(D(1440)))]
    assert result.total == D("179.44") + D("173.20") == D("352.64")
    assert result.due_on == date(2024, 5, 11)  # issued 1 May + 10 days
    assert result.references[0] == "EEIQ item 5.11"
    assert result.estimate is False  # no lighting load: nothing estimated


def test_2_legacy_lighting_from_a_table_and_sockets() -> None:
    # 10 Jun – 4 Jul 2023: June 21 days, July 4 days. Table: June 3.5 h/day, July 3.25 h/day.
    # June: lighting 200 W × 3.5 × 21 = 14.70 kWh; sockets 600 W × 24 × 21 = 302.40 kWh
    #       317.10 kWh → 16 + 9 + 17.10 × 0.13 = 27.223 → 27.22 AZN
    # July: lighting 200 × 3.25 × 4 = 2.60 kWh; sockets 600 × 24 × 4 = 57.60 kWh
    #       60.20 kWh × 0.08 = 4.816 → 4.82 AZN
    hours = tuple(D("3.5") if m == 6 else D("3.25") for m in range(1, 13))
    table = BurningHoursTable(hours, source="test")
    facts = act(
        detected_on=date(2023, 7, 5),
        last_inspection_on=date(2023, 6, 10),
        issued_on=date(2023, 7, 5),
        lighting_load_w=D(200),
        sockets_found=True,
    )
    result = recalculate(facts, rule_set=LEGACY, burning_hours_table=table)
    assert result.burning_hours == D("3.5") * 21 + D("3.25") * 4 == D("86.50")
    assert result.lighting_kwh == D("14.70") + D("2.60")
    assert result.sockets_kwh == D("302.40") + D("57.60")
    assert [m.amount for m in result.months] == [
        cents(tc14(D("317.10"))),
        cents(tc14(D("60.20"))),
    ]
    assert result.total == D("27.22") + D("4.82") == D("32.04")
    assert result.estimate is False  # a table, not the sun


def test_3_hidden_line_from_account_opening() -> None:
    # Hidden line: from the account's opening (15 Sep 2024), not the last inspection (20 Oct).
    # Sockets only, 600 W × 24 h = 14.4 kWh a day.
    # September 15–30: 16 days → 230.40 kWh → 16 + 30.40 × 0.09 = 18.736 → 18.74 AZN
    # October: 31 days       → 446.40 kWh → 25 + 146.40 × 0.13 = 44.032 → 44.03 AZN
    facts = act(
        detected_on=date(2024, 11, 1),
        last_inspection_on=date(2024, 10, 20),
        issued_on=date(2024, 11, 1),
        account_opened_on=date(2024, 9, 15),
        hidden_line=True,
        sockets_found=True,
    )
    result = recalculate(facts, rule_set=LEGACY)
    assert (result.period_start, result.days) == (date(2024, 9, 15), 47)
    assert result.kwh == D("14.4") * 47 == D("676.80")
    assert result.total == cents(tc14(D("230.40"))) + cents(tc14(D("446.40"))) == D("62.77")
    # Without the hidden line: 20–31 Oct, 12 days × 14.4 = 172.80 kWh × 0.08 = 13.824 → 13.82
    plain = recalculate(dataclasses.replace(facts, hidden_line=False), rule_set=LEGACY)
    assert plain.total == D("13.82")
    # A hidden line needs the opening day.
    with pytest.raises(ValueError, match="account_opened_on"):
        recalculate(dataclasses.replace(facts, account_opened_on=None), rule_set=LEGACY)


CROSSING = ActFacts(
    detected_on=date(2025, 2, 10),
    last_inspection_on=date(2024, 11, 20),
    issued_on=date(2025, 2, 12),
    latitude=BAKU,
    connected_receivers_w=D(1500),
)


def test_4_current_rule_across_the_2_january_2025_tariff_change() -> None:
    # Item 8.17 (in force on the detection day): 1500 W × 24 h = 36 kWh a day.
    # 20 Nov 2024 – 9 Feb 2025 = 11 + 31 + 31 + 9 = 82 days (3 months back from 10 Feb is
    # 10 Nov, before the inspection: no cap).
    # Nov: 396 kWh, No. 14:  25 + 96 × 0.13   = 37.48
    # Dec: 1116 kWh, No. 14: 25 + 816 × 0.13  = 131.08
    # Jan: 1116 kWh, No. 19: 26.80 + 816 × 0.15 = 149.20
    # Feb: 324 kWh, No. 19:  26.80 + 24 × 0.15  = 30.40
    result = recalculate(CROSSING)
    assert result.rule_set_id == CURRENT
    assert (result.days, result.capped_by) == (82, ())
    assert [m.tariff_id for m in result.months] == [
        "tc-14-2021",
        "tc-14-2021",
        "tc-19-2024",
        "tc-19-2024",
    ]
    assert [m.amount for m in result.months] == [
        D("37.48"),
        D("131.08"),
        D("149.20"),
        D("30.40"),
    ]
    assert [m.amount for m in result.months] == [
        cents(tc14(36 * D(11))),
        cents(tc14(36 * D(31))),
        cents(tc19(36 * D(31))),
        cents(tc19(36 * D(9))),
    ]
    assert result.receivers_kwh == 36 * D(82)
    assert result.total == D("348.16")
    assert result.due_on == date(2025, 2, 22)
    assert result.burning_hours is None and result.estimate is False


def test_5_already_billed_kwh_spread_by_days_and_priced_by_month() -> None:
    # 820 kWh billed over the 82 days of example 4 = 10 kWh a day:
    # Nov 110 kWh × 0.08 = 8.80; Dec 310: 25 + 10 × 0.13 = 26.30;
    # Jan 310: 26.80 + 10 × 0.15 = 28.30; Feb 90 × 0.084 = 7.56 → 70.96 already paid
    result = recalculate(dataclasses.replace(CROSSING, already_billed_kwh=D(820)))
    assert [m.billed_kwh for m in result.months] == [D(110), D(310), D(310), D(90)]
    assert [m.billed_amount for m in result.months] == [
        D("8.80"),
        D("26.30"),
        D("28.30"),
        D("7.56"),
    ]
    assert result.total == D("348.16") - D("70.96") == D("277.20")
    # Billed more than recalculated: nothing is due, never a negative amount.
    assert recalculate(dataclasses.replace(CROSSING, already_billed_kwh=D(99999))).total == 0


def test_6_current_rule_cut_to_three_months() -> None:
    # Inspected 1 Jun 2024, detected 15 Mar 2025: item 8.17 keeps 15 Dec 2024 – 14 Mar 2025.
    # 1000 W × 24 h = 24 kWh a day; days 17 + 31 + 28 + 14 = 90.
    # Dec 408 kWh (No. 14): 25 + 108 × 0.13 = 39.04;  Jan 744 (No. 19): 26.80 + 444 × 0.15 = 93.40
    # Feb 672: 26.80 + 372 × 0.15 = 82.60;            Mar 336: 26.80 + 36 × 0.15 = 32.20
    facts = act(
        detected_on=date(2025, 3, 15),
        last_inspection_on=date(2024, 6, 1),
        issued_on=date(2025, 3, 15),
        connected_receivers_w=D(1000),
    )
    result = recalculate(facts)
    assert (result.period_start, result.days, result.capped_by) == (
        date(2024, 12, 15),
        90,
        ("max_months",),
    )
    assert result.total == D("39.04") + D("93.40") + D("82.60") + D("32.20") == D("247.24")


def test_7_legacy_rule_cut_by_the_three_year_limitation() -> None:
    # Inspected 1 May 2019, detected 20 Apr 2025, issued 21 Apr 2025: the claim reaches back to
    # 21 Apr 2022, so 21 Apr 2022 – 19 Apr 2025 = 10 + 245 + 365 + 366 + 109 = 1095 days.
    # Sockets only, 14.4 kWh a day. Month prices:
    #   No. 14: 31 days 446.40 kWh → 25 + 146.40 × 0.13 = 44.03 (19 months)
    #           30 days 432.00 kWh → 25 + 132 × 0.13    = 42.16 (11 months)
    #           Feb 2023 403.20 → 38.42; Feb 2024 (29 days) 417.60 → 40.29;
    #           21–30 Apr 2022 144.00 × 0.08 = 11.52
    #   No. 19: Jan 2025 446.40 → 26.80 + 146.40 × 0.15 = 48.76; Feb 403.20 → 42.28;
    #           Mar 48.76; 1–19 Apr 273.60 → 16.80 + 73.60 × 0.10 = 24.16
    facts = act(
        detected_on=date(2025, 4, 20),
        last_inspection_on=date(2019, 5, 1),
        issued_on=date(2025, 4, 21),
        sockets_found=True,
    )
    result = recalculate(facts, rule_set=LEGACY)
    assert (result.period_start, result.days, result.capped_by) == (
        date(2022, 4, 21),
        1095,
        ("limitation",),
    )
    assert result.kwh == D("14.4") * 1095 == D("15768.00")
    tc14_part = 19 * D("44.03") + 11 * D("42.16") + D("38.42") + D("40.29") + D("11.52")  # 1390.56
    tc19_part = D("48.76") + D("42.28") + D("48.76") + D("24.16")  # 163.96
    assert result.total == tc14_part + tc19_part == D("1554.52")


def test_8_lighting_by_latitude_is_an_estimate_and_differs_north_to_south() -> None:
    # December 2024 with 500 W of lighting: darkness is longer at 41.5° than at 38.5°.
    facts = act(
        detected_on=date(2025, 1, 1),
        last_inspection_on=date(2024, 12, 1),
        issued_on=date(2025, 1, 1),
        lighting_load_w=D(500),
    )
    south = recalculate(dataclasses.replace(facts, latitude=38.5), rule_set=LEGACY)
    north = recalculate(dataclasses.replace(facts, latitude=41.5), rule_set=LEGACY)
    assert south.estimate and north.estimate
    assert south.burning_hours is not None and north.burning_hours is not None
    assert 31 * 7 < south.burning_hours < north.burning_hours < 31 * 8
    # kWh = 500 W × hours / 1000, to 0.01
    assert north.lighting_kwh == cents(500 * north.burning_hours / 1000)
    assert north.total > south.total > 0


def test_rule_set_follows_the_detection_day() -> None:
    rules = default_rules()
    assert rules.rule_set_on(date(2005, 2, 1)).id == LEGACY
    assert rules.rule_set_on(date(2005, 2, 2)).id == CURRENT
    legacy = rules.rule_set(LEGACY)
    assert (legacy.socket_power_w, legacy.socket_hours_per_day, legacy.limitation_years) == (
        D(600),
        D(24),
        3,
    )
    assert legacy.limitation_confidence == "likely"
    assert rules.rule_set(CURRENT).effective_from_confidence == "unknown"
    with pytest.raises(ValueError, match="connected_receivers_w"):
        recalculate(act())  # item 8.17 needs the receivers' power


def test_nothing_to_recalculate_on_the_inspection_day() -> None:
    facts = act(last_inspection_on=date(2024, 5, 1), sockets_found=True)
    result = recalculate(facts, rule_set=LEGACY)
    assert (result.days, result.months, result.total) == (0, (), D(0))


def test_the_days_to_pay_run_from_the_registration() -> None:
    # Item 5.13: the payment document is issued from the act; here that is the registration,
    # where the amount is computed. Entered 25 days after issue, the act is due 10 days later.
    late = recalculate(act(sockets_found=True, registered_on=date(2024, 5, 26)), rule_set=LEGACY)
    assert late.due_on == date(2024, 6, 5)
    same_day = recalculate(act(sockets_found=True, registered_on=date(2024, 5, 1)), rule_set=LEGACY)
    assert (
        same_day.due_on
        == date(2024, 5, 11)
        == recalculate(act(sockets_found=True), rule_set=LEGACY).due_on
    )
    # a registration day before the act's issue cannot move the deadline before the issue
    early = recalculate(act(sockets_found=True, registered_on=date(2024, 4, 1)), rule_set=LEGACY)
    assert early.due_on == date(2024, 5, 11)


def test_fixed_charge_is_not_added() -> None:
    # January 2026: 10 days × 14.4 kWh = 144 kWh × 0.084 = 12.096 → 12.10 AZN, no 1 AZN charge.
    facts = act(
        detected_on=date(2026, 1, 11),
        last_inspection_on=date(2026, 1, 1),
        issued_on=date(2026, 1, 11),
        sockets_found=True,
    )
    assert recalculate(facts, rule_set=LEGACY).total == D("12.10")


# ----------------------------------------------------------------------------- rule files


def test_rule_sets_must_meet_at_the_switch_date(tmp_path: Path) -> None:
    for path in DEFAULT_RULES_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path)
    assert len(load_rule_sets(tmp_path).rule_sets) == 2
    current = tmp_path / f"{CURRENT}.toml"
    current.write_text(
        current.read_text(encoding="utf-8").replace(
            "effective_from = 2005-02-02", "effective_from = 2005-03-01"
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"eeiq-8-17-current\.toml: effective_from 2005-03-01"):
        load_rule_sets(tmp_path)


def test_bad_rule_file_names_file_and_key(tmp_path: Path) -> None:
    shutil.copy(DEFAULT_RULES_DIR / f"{LEGACY}.toml", tmp_path)
    path = tmp_path / f"{LEGACY}.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("power_w = 600", "power_watts = 600"),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"eeiq-5-11-legacy\.toml: sockets\.power_w: is missing"):
        load_rule_sets(tmp_path)


# ----------------------------------------------------------------------------- properties

DETECTED = date(2025, 6, 15)
watts = st.decimals(min_value=0, max_value=5000, places=0)


@settings(max_examples=40, deadline=None)
@given(
    lighting=watts,
    extra=watts,
    appliance=watts,
    back=st.integers(min_value=0, max_value=400),
    rule_set=st.sampled_from([LEGACY, CURRENT]),
)
def test_amount_grows_with_power(
    lighting: D, extra: D, appliance: D, back: int, rule_set: str
) -> None:
    facts = act(
        detected_on=DETECTED,
        last_inspection_on=DETECTED - timedelta(days=back),
        issued_on=DETECTED,
        lighting_load_w=lighting,
        sockets_found=True,
        appliances_w=(appliance,),
        connected_receivers_w=appliance,
    )
    more = dataclasses.replace(
        facts,
        lighting_load_w=lighting + extra,
        appliances_w=(appliance + extra,),
        connected_receivers_w=appliance + extra,
    )
    low = recalculate(facts, rule_set=rule_set).total
    assert 0 <= low <= recalculate(more, rule_set=rule_set).total


@settings(max_examples=40, deadline=None)
@given(
    power=watts,
    back=st.integers(min_value=0, max_value=1500),
    further=st.integers(min_value=0, max_value=400),
    billed=st.none() | st.decimals(min_value=0, max_value=50000, places=2),
    rule_set=st.sampled_from([LEGACY, CURRENT]),
)
def test_amount_grows_with_the_period_up_to_the_cap(
    power: D, back: int, further: int, billed: D | None, rule_set: str
) -> None:
    def facts(days_back: int) -> ActFacts:
        return act(
            detected_on=DETECTED,
            last_inspection_on=DETECTED - timedelta(days=days_back),
            issued_on=DETECTED,
            sockets_found=True,
            appliances_w=(power,),
            connected_receivers_w=power,
            already_billed_kwh=billed,
        )

    short = recalculate(facts(back), rule_set=rule_set)
    long = recalculate(facts(back + further), rule_set=rule_set)
    assert short.total >= 0
    if billed is None:
        assert short.total <= long.total
    # The cap: never beyond 3 years (item 5.11) or 3 months (item 8.17).
    floor = date(2022, 6, 15) if rule_set == LEGACY else date(2025, 3, 15)
    assert long.period_start >= floor
    at_cap = recalculate(facts((DETECTED - floor).days), rule_set=rule_set)
    if back + further >= (DETECTED - floor).days:
        # reaching further back than the cap changes nothing but the "capped_by" note
        assert (long.period_start, long.months, long.total) == (
            at_cap.period_start,
            at_cap.months,
            at_cap.total,
        )
    elif billed is None:
        assert long.total <= at_cap.total
