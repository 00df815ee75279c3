"""Recalculation of unbilled energy after a violation act (REFERENCE.md §5), from dated rules.

Each ``*.toml`` in :data:`DEFAULT_RULES_DIR` is one wording of the rule: EEIQ item 5.11 (legacy,
lighting + sockets + appliances) and item 8.17 (current, connected receivers × 24 h, at most 3
months). The set in force on the detection day applies unless one is named. The switch date is
data; the loader checks that the sets meet without gap or overlap.

Rule file (the file name is ``<id>.toml``)::

    id, title, source, references = [...], confidence, [effective_from], [effective_to],
    [effective_from_confidence], [effective_to_confidence],
    method = "lighting-and-sockets" | "connected-receivers", [notes]
    [period]      hidden_line_from_account_opening, hidden_line_confidence, limitation_years,
                  limitation_confidence, [max_months, max_months_confidence]
    [lighting]    burning_hours = "by-latitude", confidence          (lighting-and-sockets)
    [sockets]     power_w, hours_per_day, confidence                 (lighting-and-sockets)
    [appliances]  above_w, hours_per_day, confidence,
                  mode = "replace-sockets" | "add-to-sockets", mode_confidence
    [receivers]   hours_per_day, confidence                          (connected-receivers)
    [payment]     due_days, confidence

Choices a reader should know:

- The period is ``[start, detected_on)``: the last inspection day counts, the detection day does
  not, so the number of days is ``detected_on − start``. ``start`` is the last inspection day,
  or the account opening day for a hidden line, moved later by the limitation period (counted
  back from ``issued_on``, the day the claim is made) and by ``max_months`` (counted back from
  the detection day).
- Energy is put into calendar months day by day: constant loads get ``W × h × days / 1000`` in
  each month; lighting gets the load × that month's own burning hours. Each component of each
  month is rounded to 0.01 kWh; period totals are the sums of those month figures.
- ``already_billed_kwh`` is one figure for the whole period; without monthly readings it is
  spread over the months by days (rounded to 0.01 kWh). Each month is charged the price of its
  recalculated kWh minus the price of its billed kWh, both at that month's tariff and tiers
  (the billed kWh filled the low tiers when they were billed). A month may come out negative;
  the total is floored at 0 once, so a month billed too much offsets one billed too little.
- The fixed monthly charge (from 2026) is never added: only energy is recalculated.
- The payment deadline is ``due_days`` after the payment document (``registered_on``, the day
  the amount is computed), or after ``issued_on`` when that is later or not known.
- ``estimate`` is True when lighting hours were computed from the sun, not taken from a table.
"""

from __future__ import annotations

import calendar
import functools
import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Final, Literal

from domain.daylight import BurningHoursTable, burning_hours
from domain.rule_data import RuleReader as _Reader
from domain.rule_data import read_rule_file
from domain.tariffs import Tariffs, TierLine, default_tariffs

DEFAULT_RULES_DIR: Final[Path] = Path(__file__).resolve().parent / "data" / "recalculation"

Method = Literal["lighting-and-sockets", "connected-receivers"]
ApplianceMode = Literal["replace-sockets", "add-to-sockets"]

_CENT: Final = Decimal("0.01")
_ZERO: Final = Decimal(0)
_WH_PER_KWH: Final = Decimal(1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActFacts:
    """What a violation act records; powers in W, ``latitude`` of the settlement in degrees N."""

    detected_on: date
    last_inspection_on: date
    issued_on: date
    latitude: float
    account_opened_on: date | None = None
    hidden_line: bool = False
    lighting_load_w: Decimal = _ZERO
    sockets_found: bool = False
    appliances_w: tuple[Decimal, ...] = ()
    connected_receivers_w: Decimal | None = None  # item 8.17 only
    already_billed_kwh: Decimal | None = None  # for the whole period, if known
    #: The day the additional payment document is issued (item 5.13): the act's registration,
    #: where the amount is computed. The days to pay run from it, so an act registered late is
    #: never due before the citizen could know the amount. None: the day of issue.
    registered_on: date | None = None


@dataclass(frozen=True, slots=True)
class RuleSet:
    id: str
    title: str
    source: str
    references: tuple[str, ...]
    confidence: str
    effective_from: date | None  # None: since before any data
    effective_to: date | None  # inclusive; None while in force
    effective_from_confidence: str
    effective_to_confidence: str
    method: Method
    hidden_line_from_account_opening: bool
    hidden_line_confidence: str
    limitation_years: int
    limitation_confidence: str
    max_months: int | None
    max_months_confidence: str
    socket_power_w: Decimal
    socket_hours_per_day: Decimal
    appliance_above_w: Decimal
    appliance_hours_per_day: Decimal
    appliance_mode: ApplianceMode
    appliance_mode_confidence: str
    receiver_hours_per_day: Decimal
    due_days: int
    notes: str = ""

    def in_force(self, on: date) -> bool:
        return (self.effective_from is None or self.effective_from <= on) and (
            self.effective_to is None or on <= self.effective_to
        )


@dataclass(frozen=True, slots=True)
class MonthLine:
    """One calendar month of the period; ``due`` = ``amount`` − ``billed_amount`` (may be < 0)."""

    month: date  # its first day
    days: int
    lighting_kwh: Decimal
    sockets_kwh: Decimal
    appliances_kwh: Decimal
    receivers_kwh: Decimal
    kwh: Decimal
    billed_kwh: Decimal
    tariff_id: str
    tiers: tuple[TierLine, ...]
    amount: Decimal  # the recalculated kWh at the month's tariff, AZN 0.01
    billed_amount: Decimal  # the billed kWh at the same tariff
    due: Decimal


@dataclass(frozen=True, slots=True)
class Recalculation:
    rule_set_id: str
    references: tuple[str, ...]
    period_start: date  # counted
    period_end: date  # the detection day, not counted
    days: int
    capped_by: tuple[str, ...]  # "limitation", "max_months"
    burning_hours: Decimal | None  # None when the rule has no lighting component
    lighting_kwh: Decimal
    sockets_kwh: Decimal
    appliances_kwh: Decimal
    receivers_kwh: Decimal
    kwh: Decimal
    already_billed_kwh: Decimal
    months: tuple[MonthLine, ...]
    total: Decimal  # AZN, 0.01, never negative
    due_on: date
    estimate: bool


@dataclass(frozen=True, slots=True)
class RecalculationRules:
    rule_sets: tuple[RuleSet, ...]  # in date order, contiguous

    def rule_set(self, ident: str) -> RuleSet:
        for rule_set in self.rule_sets:
            if rule_set.id == ident:
                return rule_set
        raise LookupError(f"no recalculation rule set {ident!r}")

    def rule_set_on(self, day: date) -> RuleSet:
        for rule_set in self.rule_sets:
            if rule_set.in_force(day):
                return rule_set
        raise LookupError(f"no recalculation rule set in force on {day}")

    def recalculate(
        self,
        act: ActFacts,
        *,
        rule_set: str | None = None,
        tariffs: Tariffs | None = None,
        burning_hours_table: BurningHoursTable | None = None,
    ) -> Recalculation:
        rules = self.rule_set(rule_set) if rule_set else self.rule_set_on(act.detected_on)
        return _recalculate(act, rules, tariffs or default_tariffs(), burning_hours_table)


# ----------------------------------------------------------------------------- module level


@functools.cache
def default_rules() -> RecalculationRules:
    """The rule sets of :data:`DEFAULT_RULES_DIR`, loaded once (``cache_clear()`` to reload)."""
    return load_rule_sets(DEFAULT_RULES_DIR)


def recalculate(
    act: ActFacts,
    *,
    rule_set: str | None = None,
    burning_hours_table: BurningHoursTable | None = None,
) -> Recalculation:
    """Unbilled energy and its price for ``act``; pure apart from reading the data once."""
    return default_rules().recalculate(
        act, rule_set=rule_set, burning_hours_table=burning_hours_table
    )


# ----------------------------------------------------------------------------- the rule


def _recalculate(
    act: ActFacts, rules: RuleSet, tariffs: Tariffs, table: BurningHoursTable | None
) -> Recalculation:
    _check_act(act, rules)
    start, capped_by = _period_start(act, rules)
    end = act.detected_on
    days = max((end - start).days, 0)
    lighting = rules.method == "lighting-and-sockets" and act.lighting_load_w > 0
    socket_w, appliance_w, receiver_w = _powers(act, rules)
    billed_total = act.already_billed_kwh or _ZERO
    months: list[MonthLine] = []
    hours_total = _ZERO
    for month, first, last in _months(start, end):
        month_days = (last - first).days
        hours = burning_hours(act.latitude, first, last, table=table) if lighting else _ZERO
        hours_total += hours
        lighting_kwh = _kwh(act.lighting_load_w * hours)
        sockets_kwh = _kwh(socket_w * rules.socket_hours_per_day * month_days)
        appliances_kwh = _kwh(appliance_w * rules.appliance_hours_per_day * month_days)
        receivers_kwh = _kwh(receiver_w * rules.receiver_hours_per_day * month_days)
        kwh = lighting_kwh + sockets_kwh + appliances_kwh + receivers_kwh
        billed_kwh = (billed_total * month_days / days).quantize(_CENT, rounding=ROUND_HALF_UP)
        tariff = tariffs.tariff_for_month(month)
        amount, tiers = tariff.price(kwh)
        billed_amount, _ = tariff.price(billed_kwh)
        months.append(
            MonthLine(
                month=month,
                days=month_days,
                lighting_kwh=lighting_kwh,
                sockets_kwh=sockets_kwh,
                appliances_kwh=appliances_kwh,
                receivers_kwh=receivers_kwh,
                kwh=kwh,
                billed_kwh=billed_kwh,
                tariff_id=tariff.id,
                tiers=tuple(tiers),
                amount=amount,
                billed_amount=billed_amount,
                due=amount - billed_amount,
            )
        )
    total = max(sum((line.due for line in months), _ZERO), _ZERO)
    return Recalculation(
        rule_set_id=rules.id,
        references=rules.references,
        period_start=start,
        period_end=end,
        days=days,
        capped_by=capped_by,
        burning_hours=hours_total if rules.method == "lighting-and-sockets" else None,
        lighting_kwh=sum((m.lighting_kwh for m in months), _ZERO),
        sockets_kwh=sum((m.sockets_kwh for m in months), _ZERO),
        appliances_kwh=sum((m.appliances_kwh for m in months), _ZERO),
        receivers_kwh=sum((m.receivers_kwh for m in months), _ZERO),
        kwh=sum((m.kwh for m in months), _ZERO),
        already_billed_kwh=sum((m.billed_kwh for m in months), _ZERO),
        months=tuple(months),
        total=total.quantize(_CENT, rounding=ROUND_HALF_UP),
        due_on=max(act.issued_on, act.registered_on or act.issued_on)
        + timedelta(days=rules.due_days),
        estimate=lighting and table is None and days > 0,
    )


def _check_act(act: ActFacts, rules: RuleSet) -> None:
    if act.last_inspection_on > act.detected_on:
        raise ValueError("the last inspection comes after the detection day")
    if act.issued_on < act.detected_on:
        raise ValueError("the act is issued before the violation was detected")
    if act.account_opened_on is not None and act.account_opened_on > act.detected_on:
        raise ValueError("the account is opened after the detection day")
    powers = (act.lighting_load_w, *act.appliances_w, act.connected_receivers_w or _ZERO)
    powers += (act.already_billed_kwh or _ZERO,)
    if any(not p.is_finite() or p < 0 for p in powers):
        raise ValueError("powers and billed kWh must be non-negative numbers")
    if rules.method == "connected-receivers" and act.connected_receivers_w is None:
        raise ValueError(f"{rules.id} needs connected_receivers_w")
    if act.hidden_line and rules.hidden_line_from_account_opening and act.account_opened_on is None:
        raise ValueError(f"{rules.id}: a hidden line is recalculated from account_opened_on")


def _period_start(act: ActFacts, rules: RuleSet) -> tuple[date, tuple[str, ...]]:
    start = act.last_inspection_on
    if act.hidden_line and rules.hidden_line_from_account_opening:
        assert act.account_opened_on is not None  # checked in _check_act
        start = act.account_opened_on
    capped_by: list[str] = []
    floors = [("limitation", _years_before(act.issued_on, rules.limitation_years))]
    if rules.max_months is not None:
        floors.append(("max_months", _months_before(act.detected_on, rules.max_months)))
    for name, floor in floors:
        if floor > start:
            capped_by.append(name)
    start = max([start, *(floor for _, floor in floors)])
    return min(start, act.detected_on), tuple(capped_by)


def _powers(act: ActFacts, rules: RuleSet) -> tuple[Decimal, Decimal, Decimal]:
    """(sockets W, appliances W, receivers W) running all day under ``rules``."""
    if rules.method == "connected-receivers":
        return _ZERO, _ZERO, act.connected_receivers_w or _ZERO
    big = [p for p in act.appliances_w if p > rules.appliance_above_w]
    appliance_w = sum(big, _ZERO)
    socket_w = rules.socket_power_w if act.sockets_found else _ZERO
    if big and rules.appliance_mode == "replace-sockets":
        socket_w = _ZERO
    return socket_w, appliance_w, _ZERO


def _kwh(watt_hours: Decimal) -> Decimal:
    return (watt_hours / _WH_PER_KWH).quantize(_CENT, rounding=ROUND_HALF_UP)


def _months(start: date, end: date) -> list[tuple[date, date, date]]:
    """(month's first day, first counted day, first day not counted) over ``[start, end)``."""
    found: list[tuple[date, date, date]] = []
    if start >= end:
        return found
    month = start.replace(day=1)
    while month < end:
        following = _next_month(month)
        found.append((month, max(month, start), min(following, end)))
        month = following
    return found


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _years_before(day: date, years: int) -> date:
    return _months_before(day, 12 * years)


# ----------------------------------------------------------------------------- loading


def load_rule_sets(directory: Path) -> RecalculationRules:
    """Parse and check every ``*.toml`` in ``directory``; a ValueError names the bad file."""
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory of recalculation rule sets")
    sets = [_load_file(path) for path in sorted(directory.glob("*.toml"))]
    if not sets:
        raise ValueError(f"{directory}: no recalculation rule set found")
    sets.sort(key=lambda s: s.effective_from or date.min)
    for earlier, later in itertools.pairwise(sets):
        if earlier.effective_to is None or later.effective_from is None:
            raise ValueError(
                f"{directory / (later.id + '.toml')}: {earlier.id} must end (effective_to) "
                f"where {later.id} begins (effective_from)"
            )
        if later.effective_from != earlier.effective_to + timedelta(days=1):
            raise ValueError(
                f"{directory / (later.id + '.toml')}: effective_from {later.effective_from} "
                f"must be the day after {earlier.id}'s effective_to {earlier.effective_to}"
            )
    return RecalculationRules(tuple(sets))


def _load_file(path: Path) -> RuleSet:
    r = read_rule_file(path)
    ident = r.text("id")
    if ident != path.stem:
        r.fail("id", f"{ident!r} must match the file name ({path.stem!r})")
    start = r.day("effective_from") if r.has("effective_from") else None
    end = r.day("effective_to") if r.has("effective_to") else None
    if start is not None and end is not None and end < start:
        r.fail("effective_to", f"{end} is before effective_from {start}")
    method: Method = (
        "lighting-and-sockets"
        if r.choice("method", ("lighting-and-sockets", "connected-receivers"))
        == "lighting-and-sockets"
        else "connected-receivers"
    )
    period = r.table("period")
    payment = r.table("payment")
    max_months = period.integer("max_months", positive=True) if period.has("max_months") else None
    socket_w = socket_h = above_w = appliance_h = receiver_h = _ZERO
    mode: ApplianceMode = "replace-sockets"
    mode_confidence = "unknown"
    if method == "lighting-and-sockets":
        lighting = r.table("lighting")
        lighting.choice("burning_hours", ("by-latitude",))
        lighting.confidence("confidence")
        sockets = r.table("sockets")
        socket_w = sockets.number("power_w")
        socket_h = _hours(sockets, "hours_per_day")
        sockets.confidence("confidence")
        appliances = r.table("appliances")
        above_w = appliances.number("above_w")
        appliance_h = _hours(appliances, "hours_per_day")
        appliances.confidence("confidence")
        if appliances.choice("mode", ("replace-sockets", "add-to-sockets")) == "add-to-sockets":
            mode = "add-to-sockets"
        mode_confidence = appliances.confidence("mode_confidence")
        for table in (lighting, sockets, appliances):
            table.finish()
    else:
        receivers = r.table("receivers")
        receiver_h = _hours(receivers, "hours_per_day")
        receivers.confidence("confidence")
        receivers.finish()
    rule_set = RuleSet(
        id=ident,
        title=r.text("title"),
        source=r.text("source"),
        references=r.strings("references"),
        confidence=r.confidence("confidence"),
        effective_from=start,
        effective_to=end,
        effective_from_confidence=(
            r.confidence("effective_from_confidence") if start is not None else "unknown"
        ),
        effective_to_confidence=(
            r.confidence("effective_to_confidence") if end is not None else "unknown"
        ),
        method=method,
        hidden_line_from_account_opening=period.boolean("hidden_line_from_account_opening"),
        hidden_line_confidence=period.confidence("hidden_line_confidence"),
        limitation_years=period.integer("limitation_years", positive=True),
        limitation_confidence=period.confidence("limitation_confidence"),
        max_months=max_months,
        max_months_confidence=(
            period.confidence("max_months_confidence") if max_months is not None else "unknown"
        ),
        socket_power_w=socket_w,
        socket_hours_per_day=socket_h,
        appliance_above_w=above_w,
        appliance_hours_per_day=appliance_h,
        appliance_mode=mode,
        appliance_mode_confidence=mode_confidence,
        receiver_hours_per_day=receiver_h,
        due_days=payment.integer("due_days", positive=True),
        notes=r.text("notes") if r.has("notes") else "",
    )
    payment.confidence("confidence")
    for table in (period, payment, r):
        table.finish()
    return rule_set


def _hours(r: _Reader, key: str) -> Decimal:
    hours = r.number(key, positive=True)
    if hours > 24:
        r.fail(key, f"{hours} is more than 24 hours a day")
    return hours
