"""Connection fee quotes against hand-computed figures (REFERENCE.md §3).

Every expected amount is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.connection_fees import (
    DEFAULT_RULES_DIR,
    ConnectionRequest,
    ExecutionPeriod,
    FeeError,
    Phase,
    Quote,
    QuoteLine,
    Rules,
    default_rules,
    execution_periods,
    load_rule_sets,
    minimum_power,
    online_payment_max_distance_m,
    power_limit,
    quote_fee,
    rule_set_in_force,
)

DAY_2018_SET = date(2020, 1, 1)
DAY_2024_SET = date(2025, 1, 1)
DAY_DISCOUNT = date(2026, 3, 1)

CM_327 = "cm-327-2018"
TC_4 = "tariff-council-4-2024"
LIBERATED = "liberated-territories-2026"
CM_327_TITLE = "Cabinet of Ministers Decision No. 327 of 24 July 2018"
TC_4_TITLE = "Tariff Council Decision No. 4 of 3 May 2024"

LIBERATED_DISTRICTS = (
    "Ağdam",
    "Ağdərə",
    "Cəbrayıl",
    "Füzuli",
    "Kəlbəcər",
    "Laçın",
    "Qubadlı",
    "Şuşa",
    "Xankəndi",
    "Xocalı",
    "Xocavənd",
    "Zəngilan",
)


def quote(
    phase: Phase,
    power: str,
    on: date,
    district: str | None = None,
    rules: Rules | None = None,
) -> Quote:
    request = ConnectionRequest(phase=phase, power_kw=Decimal(power), district=district)
    return (rules or default_rules()).quote_fee(request, on=on)


def fee_error(phase: Phase, power: str, on: date) -> FeeError:
    with pytest.raises(FeeError) as caught:
        quote(phase, power, on)
    return caught.value


def copy_of_rules(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, directory)
    return directory


def edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# ----------------------------------------------------------------------------- 2018 (No. 327)


@pytest.mark.parametrize(
    ("power", "expected"),
    [
        ("0.1", "160.00"),  # flat
        ("5", "160.00"),  # flat, top edge
        ("5.1", "164.00"),  # 160 + 40 × 0.1
        ("7.5", "260.00"),  # 160 + 40 × 2.5
        ("10", "360.00"),  # 160 + 40 × 5
        ("10.1", "366.06"),  # 360 + 60.6 × 0.1
        ("12.3", "499.38"),  # 360 + 60.6 × 2.3 = 360 + 139.38
        ("15", "663.00"),  # 360 + 60.6 × 5
        ("15.1", "672.48"),  # 663 + 94.8 × 0.1
        ("20", "1137.00"),  # 663 + 94.8 × 5
    ],
)
def test_2018_household_table(power: str, expected: str) -> None:
    result = quote(Phase.ONE, power, DAY_2018_SET)
    assert str(result.amount) == expected
    assert result.rule_set_id == CM_327
    assert result.sources == (CM_327_TITLE,)
    assert result.discount is None


def test_2018_lines_are_flat_then_marginal_bands() -> None:
    result = quote(Phase.ONE, "15.1", DAY_2018_SET)
    assert result.lines == (
        QuoteLine("flat", Decimal("160.00"), to_kw=Decimal(5), rule_set_id=CM_327),
        QuoteLine(
            "band",
            Decimal("200.00"),  # 40 × 5
            from_kw=Decimal(5),
            to_kw=Decimal(10),
            rate=Decimal(40),
            kw=Decimal(5),
            rule_set_id=CM_327,
        ),
        QuoteLine(
            "band",
            Decimal("303.00"),  # 60.6 × 5
            from_kw=Decimal(10),
            to_kw=Decimal(15),
            rate=Decimal("60.6"),
            kw=Decimal(5),
            rule_set_id=CM_327,
        ),
        QuoteLine(
            "band",
            Decimal("9.48"),  # 94.8 × 0.1
            from_kw=Decimal(15),
            to_kw=Decimal(20),
            rate=Decimal("94.8"),
            kw=Decimal("0.1"),
            rule_set_id=CM_327,
        ),
    )
    assert result.amount == sum((line.amount for line in result.lines), Decimal(0))


def test_2018_flat_fee_alone_up_to_5_kw() -> None:
    result = quote(Phase.ONE, "5", DAY_2018_SET)
    assert [line.kind for line in result.lines] == ["flat"]


@pytest.mark.parametrize(
    ("phase", "power", "reason", "limit"),
    [
        (Phase.ONE, "20.1", "above_limit", Decimal(20)),
        (Phase.ONE, "0", "not_positive", None),
        (Phase.ONE, "-1", "not_positive", None),
        (Phase.THREE, "10", "unknown_fee", None),  # No. 327 has no 3-phase figures
        (Phase.THREE, "150", "unknown_fee", None),
        (Phase.THREE, "150.1", "above_limit", Decimal(150)),  # Decree No. 1313
    ],
)
def test_2018_refusals(phase: Phase, power: str, reason: str, limit: Decimal | None) -> None:
    error = fee_error(phase, power, DAY_2018_SET)
    assert (error.reason, error.limit) == (reason, limit)
    assert error.rule_set_id == CM_327


# ----------------------------------------------------------------------------- 2024 (No. 4)


@pytest.mark.parametrize(
    ("power", "expected"),
    [
        ("1", "40.00"),  # 40 × 1
        ("7.5", "300.00"),  # 40 × 7.5
        ("10", "400.00"),  # 40 × 10
        ("10.1", "406.00"),  # 400 + 60 × 0.1
        ("12.3", "538.00"),  # 400 + 60 × 2.3
        ("20", "1000.00"),  # 400 + 60 × 10
    ],
)
def test_2024_one_phase_marginal(power: str, expected: str) -> None:
    result = quote(Phase.ONE, power, DAY_2024_SET)
    assert str(result.amount) == expected
    assert result.rule_set_id == TC_4
    assert result.sources == (TC_4_TITLE,)


def test_2024_one_phase_lines_above_10_kw() -> None:
    result = quote(Phase.ONE, "10.1", DAY_2024_SET)
    assert result.lines == (
        QuoteLine(
            "band",
            Decimal("400.00"),
            from_kw=Decimal(0),
            to_kw=Decimal(10),
            rate=Decimal(40),
            kw=Decimal(10),
            rule_set_id=TC_4,
        ),
        QuoteLine(
            "band",
            Decimal("6.00"),
            from_kw=Decimal(10),
            to_kw=None,
            rate=Decimal(60),
            kw=Decimal("0.1"),
            rule_set_id=TC_4,
        ),
    )


@pytest.mark.parametrize(
    ("power", "expected"),
    [
        ("1", "293.00"),  # 293 × 1
        ("12.3", "3603.90"),  # 293 × 12.3
        ("20", "5860.00"),  # 293 × 20
        ("30", "8790.00"),  # 293 × 30
        ("200", "58600.00"),  # 293 × 200
    ],
)
def test_2024_three_phase(power: str, expected: str) -> None:
    assert str(quote(Phase.THREE, power, DAY_2024_SET).amount) == expected


@pytest.mark.parametrize(
    ("phase", "power", "reason", "limit"),
    [
        (Phase.ONE, "20.1", "above_limit", Decimal(20)),
        (Phase.THREE, "200.1", "above_limit", Decimal(200)),
        (Phase.ONE, "0", "not_positive", None),
        (Phase.ONE, "-1", "not_positive", None),
        (Phase.THREE, "0", "not_positive", None),
        (Phase.ONE, "NaN", "not_positive", None),
        (Phase.ONE, "0.5", "below_minimum", Decimal(1)),
        (Phase.THREE, "0.9", "below_minimum", Decimal(1)),
        (Phase.THREE, "Infinity", "above_limit", Decimal(200)),
    ],
)
def test_2024_refusals(phase: Phase, power: str, reason: str, limit: Decimal | None) -> None:
    error = fee_error(phase, power, DAY_2024_SET)
    assert (error.reason, error.limit) == (reason, limit)
    assert isinstance(error, ValueError)


def test_whole_reading_is_a_switch_in_the_data(tmp_path: Path) -> None:
    directory = copy_of_rules(tmp_path)
    edit(directory, f"{TC_4}.toml", 'above_threshold = "marginal"', 'above_threshold = "whole"')
    rules = load_rule_sets(directory)
    assert str(quote(Phase.ONE, "10", DAY_2024_SET, rules=rules).amount) == "400.00"  # 40 × 10
    whole = quote(Phase.ONE, "10.1", DAY_2024_SET, rules=rules)
    assert str(whole.amount) == "606.00"  # 60 × 10.1
    assert whole.lines == (
        QuoteLine(
            "band",
            Decimal("606.00"),
            from_kw=Decimal(10),
            to_kw=None,
            rate=Decimal(60),
            kw=Decimal("10.1"),
            rule_set_id=TC_4,
        ),
    )
    assert str(quote(Phase.ONE, "20", DAY_2024_SET, rules=rules).amount) == "1200.00"  # 60 × 20


def test_confidence_of_a_quote_follows_the_reading_used() -> None:
    assert quote(Phase.ONE, "10", DAY_2024_SET).confidence == "confirmed"
    assert quote(Phase.ONE, "10.1", DAY_2024_SET).confidence == "likely"  # marginal is a reading
    assert quote(Phase.ONE, "20", DAY_2018_SET).confidence == "confirmed"


# ----------------------------------------------------------------------------- choosing by date


def test_rule_set_changes_on_3_june_2024() -> None:
    before = quote(Phase.ONE, "7.5", date(2024, 6, 2))
    after = quote(Phase.ONE, "7.5", date(2024, 6, 3))
    assert (before.rule_set_id, str(before.amount)) == (CM_327, "260.00")  # 160 + 40 × 2.5
    assert (after.rule_set_id, str(after.amount)) == (TC_4, "300.00")  # 40 × 7.5
    assert rule_set_in_force(date(2024, 6, 2)).title == CM_327_TITLE
    assert rule_set_in_force(date(2024, 6, 3)).title == TC_4_TITLE
    assert rule_set_in_force(date(2018, 7, 24)).id == CM_327


def test_no_rule_set_before_2018() -> None:
    error = fee_error(Phase.ONE, "5", date(2018, 7, 23))
    assert error.reason == "no_rule_set"
    with pytest.raises(FeeError, match="no_rule_set"):
        power_limit(Phase.ONE, date(2018, 7, 23))


def test_power_limits_and_minimum_per_set() -> None:
    assert power_limit(Phase.THREE, date(2024, 6, 2)) == Decimal(150)
    assert power_limit(Phase.THREE, date(2024, 6, 3)) == Decimal(200)
    assert power_limit(Phase.ONE, date(2024, 6, 2)) == Decimal(20)
    assert power_limit(Phase.ONE, date(2024, 6, 3)) == Decimal(20)
    assert minimum_power(date(2024, 6, 2)) == Decimal("0.1")
    assert minimum_power(date(2024, 6, 3)) == Decimal(1)


def test_execution_periods_and_online_payment_distance() -> None:
    assert execution_periods(DAY_2018_SET) == (
        ExecutionPeriod(id="standard-24d", days=24, fee=None, confidence="confirmed"),
    )
    assert execution_periods(DAY_2024_SET) == (
        ExecutionPeriod(id="standard-24d", days=24, fee=None, confidence="likely"),
    )
    assert online_payment_max_distance_m(DAY_2018_SET) == 400
    assert online_payment_max_distance_m(DAY_2024_SET) == 400


def test_execution_period_is_recorded_not_priced() -> None:
    request = ConnectionRequest(Phase.ONE, Decimal("7.5"), execution_period="standard-24d")
    assert str(quote_fee(request, on=DAY_2024_SET).amount) == "300.00"


# ------------------------------------------------------------------------ liberated territories


def test_shusha_one_phase_is_free() -> None:
    result = quote(Phase.ONE, "7.5", DAY_DISCOUNT, "Şuşa")
    assert str(result.amount) == "0.00"
    assert result.lines == (
        QuoteLine(
            "band",
            Decimal("300.00"),  # 40 × 7.5
            from_kw=Decimal(0),
            to_kw=Decimal(10),
            rate=Decimal(40),
            kw=Decimal("7.5"),
            rule_set_id=TC_4,
        ),
        QuoteLine("discount", Decimal("-300.00"), percent=Decimal(100), rule_set_id=LIBERATED),
    )
    assert result.rule_set_id == f"{TC_4}+{LIBERATED}"
    assert result.discount is not None and result.discount.id == LIBERATED
    assert result.sources == (TC_4_TITLE, result.discount.title)
    assert result.rule_set.id == TC_4


def test_shusha_one_phase_at_the_limit_is_free() -> None:
    assert str(quote(Phase.ONE, "20", DAY_DISCOUNT, "Şuşa").amount) == "0.00"


def test_shusha_three_phase_at_20_kw_has_no_discount() -> None:
    result = quote(Phase.THREE, "20", DAY_DISCOUNT, "Şuşa")
    assert str(result.amount) == "5860.00"  # 293 × 20
    assert result.discount is None
    assert result.rule_set_id == TC_4
    assert [line.kind for line in result.lines] == ["band"]


@pytest.mark.parametrize(
    ("power", "base", "cut", "expected"),
    [
        ("30", "8790.00", "-5713.50", "3076.50"),  # 293 × 30 = 8790; 65 % = 5713.50
        ("30.1", "8819.30", "-5732.55", "3086.75"),  # 65 % of 8819.30 = 5732.545 → 5732.55
        ("200", "58600.00", "-38090.00", "20510.00"),  # 35 % of 58600
    ],
)
def test_shusha_three_phase_above_20_kw_is_65_percent_off(
    power: str, base: str, cut: str, expected: str
) -> None:
    result = quote(Phase.THREE, power, DAY_DISCOUNT, "Şuşa")
    assert [str(line.amount) for line in result.lines] == [base, cut]
    assert result.lines[1].percent == Decimal(65)
    assert str(result.amount) == expected


def test_discount_starts_on_1_january_2026() -> None:
    before = quote(Phase.ONE, "7.5", date(2025, 12, 31), "Şuşa")
    assert (str(before.amount), before.discount, before.rule_set_id) == ("300.00", None, TC_4)
    assert str(quote(Phase.ONE, "7.5", date(2026, 1, 1), "Şuşa").amount) == "0.00"


@pytest.mark.parametrize("district", [None, "Bakı", "Binəqədi (Bakı)", "Gəncə"])
def test_no_discount_elsewhere(district: str | None) -> None:
    result = quote(Phase.ONE, "7.5", DAY_DISCOUNT, district)
    assert (str(result.amount), result.discount, result.rule_set_id) == ("300.00", None, TC_4)
    assert [line.kind for line in result.lines] == ["band"]


@pytest.mark.parametrize("district", LIBERATED_DISTRICTS)
def test_every_liberated_district_is_discounted(district: str) -> None:
    assert quote(Phase.ONE, "5", DAY_DISCOUNT, district).amount == 0


def test_district_names_are_compared_after_unicode_normalisation() -> None:
    decomposed = unicodedata.normalize("NFD", " Şuşa ")
    assert decomposed.strip() != "Şuşa"
    assert quote(Phase.ONE, "5", DAY_DISCOUNT, decomposed).amount == 0


# ----------------------------------------------------------------------------- loading


def test_default_rules_carry_sources_and_dates() -> None:
    rules = default_rules()
    assert [s.id for s in rules.rule_sets] == [CM_327, TC_4]
    assert [d.id for d in rules.discounts] == [LIBERATED]
    assert rules.rule_sets[0].effective_from == date(2018, 7, 24)
    assert rules.rule_sets[0].effective_to == date(2024, 6, 2)
    assert rules.rule_sets[1].effective_from == date(2024, 6, 3)
    assert rules.rule_sets[1].effective_to is None
    assert rules.discounts[0].effective_from == date(2026, 1, 1)
    assert all(s.source and s.title for s in rules.rule_sets)
    assert all(d.source and d.title for d in rules.discounts)
    assert rules.rule_sets[1].phase_rule(Phase.ONE).above_threshold == "marginal"
    assert rules.rule_sets[1].phase_rule(Phase.ONE).above_threshold_confidence == "likely"
    assert rules.rule_sets[1].phase_rule(Phase.ONE).max_kw_confidence == "likely"
    assert set(rules.discounts[0].districts) == set(LIBERATED_DISTRICTS)


def test_a_dropped_in_decision_supersedes_the_old_one(tmp_path: Path) -> None:
    directory = copy_of_rules(tmp_path)
    text = (directory / f"{TC_4}.toml").read_text(encoding="utf-8")
    new = (
        text.replace(TC_4, "tariff-council-9-2027")
        .replace("effective_from = 2024-06-03", "effective_from = 2027-01-01")
        .replace("{ from_kw = 0, to_kw = 10, rate = 40 }", "{ from_kw = 0, to_kw = 10, rate = 45 }")
    )
    (directory / "tariff-council-9-2027.toml").write_text(new, encoding="utf-8")
    rules = load_rule_sets(directory)
    old = quote(Phase.ONE, "2", date(2026, 12, 31), rules=rules)
    assert (old.rule_set_id, str(old.amount)) == (TC_4, "80.00")  # 40 × 2
    fresh = quote(Phase.ONE, "2", date(2027, 1, 1), rules=rules)
    assert (fresh.rule_set_id, str(fresh.amount)) == ("tariff-council-9-2027", "90.00")  # 45 × 2
    overlaid = quote(Phase.ONE, "2", date(2027, 1, 1), "Laçın", rules=rules)
    assert overlaid.rule_set_id == f"tariff-council-9-2027+{LIBERATED}"
    assert overlaid.amount == 0


@pytest.mark.parametrize(
    ("name", "old", "new", "complaint"),
    [
        (f"{CM_327}.toml", 'kind = "base"', 'kind = "base', "not valid TOML"),
        (f"{TC_4}.toml", 'title = "Tariff', 'titel = "Tariff', "title: is missing"),
        (
            f"{TC_4}.toml",
            "effective_from = 2024-06-03",
            "effective_from = 2024-06-03\nefective_to = 2030-01-01",
            "efective_to: unknown key",
        ),
        (
            f"{TC_4}.toml",
            "effective_from = 2024-06-03",
            'effective_from = "2024"',
            "must be a date",
        ),
        (f"{TC_4}.toml", f'id = "{TC_4}"', 'id = "tc-4"', "must match the file name"),
        (
            f"{CM_327}.toml",
            'confidence = "confirmed"\nvat_included',
            'confidence = "sure"\nvat_included',
            "confidence: must be one of",
        ),
        (
            f"{CM_327}.toml",
            "{ from_kw = 10, to_kw = 15",
            "{ from_kw = 11, to_kw = 15",
            "phases.1.bands: band 2 starts at 11 kW, expected 10 kW",
        ),
        (
            f"{TC_4}.toml",
            "rate = 60 }",
            'rate = "60" }',
            "phases.1.bands[2].rate: must be a number",
        ),
        (f"{TC_4}.toml", "max_kw = 200", "max_kw = 0", "phases.3.max_kw: must be a positive"),
        (f"{LIBERATED}.toml", "percent = 65", "percent = 165", "terms[2].percent"),
        (
            f"{TC_4}.toml",
            "effective_from = 2024-06-03",
            "effective_from = 2018-07-24",
            "neither supersedes",
        ),
    ],
)
def test_broken_file_is_named_in_the_error(
    tmp_path: Path, name: str, old: str, new: str, complaint: str
) -> None:
    directory = copy_of_rules(tmp_path)
    edit(directory, name, old, new)
    with pytest.raises(ValueError, match=re.escape(complaint)) as caught:
        load_rule_sets(directory)
    assert name in str(caught.value)


def test_directory_without_rule_sets_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no base rule set"):
        load_rule_sets(tmp_path)
    with pytest.raises(ValueError, match="not a directory"):
        load_rule_sets(tmp_path / "missing")


# ----------------------------------------------------------------------------- properties


def _with_whole_reading(rules: Rules) -> Rules:
    current = rules.rule_sets[-1]
    phases = tuple(
        dataclasses.replace(rule, above_threshold="whole") if rule.phase == Phase.ONE else rule
        for rule in current.phases
    )
    return dataclasses.replace(
        rules, rule_sets=(*rules.rule_sets[:-1], dataclasses.replace(current, phases=phases))
    )


PRICED = [
    (default_rules(), DAY_2018_SET, Phase.ONE),
    (default_rules(), DAY_2024_SET, Phase.ONE),
    (default_rules(), DAY_2024_SET, Phase.THREE),
    (_with_whole_reading(default_rules()), DAY_2024_SET, Phase.ONE),
]


@given(case=st.sampled_from(PRICED), data=st.data())
def test_amount_is_non_negative_and_non_decreasing(
    case: tuple[Rules, date, Phase], data: st.DataObject
) -> None:
    rules, on, phase = case
    tenths = st.integers(int(rules.minimum_power(on) * 10), int(rules.power_limit(phase, on) * 10))
    low, high = sorted((data.draw(tenths), data.draw(tenths)))
    cheaper = quote(phase, str(Decimal(low) / 10), on, rules=rules).amount
    dearer = quote(phase, str(Decimal(high) / 10), on, rules=rules).amount
    assert Decimal(0) <= cheaper <= dearer
    assert cheaper == cheaper.quantize(Decimal("0.01"))


@given(phase=st.sampled_from(Phase), tenths=st.integers(10, 2000))
def test_discounted_amount_is_never_negative(phase: Phase, tenths: int) -> None:
    power = Decimal(tenths) / 10
    if power > power_limit(phase, DAY_DISCOUNT):
        return
    result = quote(phase, str(power), DAY_DISCOUNT, "Şuşa")
    assert result.amount >= 0
    assert result.amount <= quote(phase, str(power), DAY_DISCOUNT).amount


def test_an_apartment_covered_by_the_building_conditions_pays_nothing() -> None:
    request = ConnectionRequest(Phase.ONE, Decimal("10"), covered_by_building=True)
    quote = quote_fee(request, on=date(2026, 3, 1))
    assert quote.amount == Decimal("0.00")
    assert [(line.kind, line.amount) for line in quote.lines] == [
        ("band", Decimal("400.00")),
        ("building", Decimal("-400.00")),
    ]


def test_the_acts_are_named_in_the_citizens_language() -> None:
    quote = quote_fee(
        ConnectionRequest(Phase.ONE, Decimal("5"), district="Şuşa"), on=date(2026, 3, 1)
    )
    assert quote.sources_in("az") == (
        "Tarif (qiymət) Şurasının 3 may 2024-cü il tarixli 4 nömrəli Qərarı",
        "Tarif (qiymət) Şurasının 30 dekabr 2025-ci il tarixli qərarı (işğaldan azad edilmiş "
        "ərazilərdə qoşulma haqqı)",
    )
    assert quote.sources_in("ru")[0] == "Решение Тарифного (ценового) совета № 4 от 3 мая 2024 года"
    assert quote.sources_in("xx") == quote.sources  # no title for that language: the main one
