"""Household electricity tariff periods, from dated data (REFERENCE.md §4).

The periods live in :data:`DEFAULT_TARIFF_FILE`; a new Tariff Council decision is a new
``[[periods]]`` entry, not a release. A period is in force from its ``effective_from`` until the
next period's ``effective_from``. Rates are qəpik per kWh; tiers are marginal and per month.

File schema::

    [[periods]]         id, title, source, effective_from, effective_from_confidence,
                        confidence, [notes], tiers = [{ [up_to_kwh], rate }, ...]
    [[fixed_charges]]   id, title, source, effective_from, amount_azn, confidence,
                        used_in_recalculation

Tiers run upwards from 0 kWh without gaps; only the last omits ``up_to_kwh``. Fixed charges are
recorded for the monthly bill only: :func:`price_month` never adds them.

Which tariff prices a month: the one in force on **most days of that month** (a tie goes to the
earlier, cheaper one). The only mid-month change so far, 2 January 2025, puts January 2025 under
Decision No. 19. Splitting a month between two tariffs would need prorated tier thresholds,
which no decision describes.

Money: tier line amounts are exact (kWh × rate / 100); the month total is rounded once, to
0.01 AZN half-up.
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Final

from domain.rule_data import RuleReader as _Reader
from domain.rule_data import read_rule_file

DEFAULT_TARIFF_FILE: Final[Path] = (
    Path(__file__).resolve().parent / "data" / "tariffs" / "household.toml"
)

_CENT: Final = Decimal("0.01")
_QEPIK_PER_AZN: Final = Decimal(100)


@dataclass(frozen=True, slots=True)
class Tier:
    from_kwh: Decimal
    to_kwh: Decimal | None  # None: no upper bound
    rate_qepik: Decimal  # qəpik per kWh


@dataclass(frozen=True, slots=True)
class TierLine:
    """The kWh of one month that fall in one tier; ``amount`` is exact AZN, not rounded."""

    from_kwh: Decimal
    to_kwh: Decimal | None
    rate_qepik: Decimal
    kwh: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TariffPeriod:
    id: str
    title: str
    source: str
    effective_from: date
    effective_to: date | None  # inclusive; the day before the next period, None while in force
    effective_from_confidence: str
    confidence: str
    tiers: tuple[Tier, ...]
    notes: str = ""

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def price(self, kwh: Decimal) -> tuple[Decimal, list[TierLine]]:
        """Marginal tiers over one month's ``kwh``: (AZN rounded to 0.01, tier lines)."""
        if not kwh.is_finite() or kwh < 0:
            raise ValueError(f"kWh must be a non-negative number, not {kwh}")
        lines: list[TierLine] = []
        for tier in self.tiers:
            if kwh <= tier.from_kwh and lines:
                break
            top = kwh if tier.to_kwh is None else min(kwh, tier.to_kwh)
            inside = max(top - tier.from_kwh, Decimal(0))
            amount = inside * tier.rate_qepik / _QEPIK_PER_AZN
            lines.append(TierLine(tier.from_kwh, tier.to_kwh, tier.rate_qepik, inside, amount))
        total = sum((line.amount for line in lines), Decimal(0))
        return total.quantize(_CENT, rounding=ROUND_HALF_UP), lines


@dataclass(frozen=True, slots=True)
class FixedCharge:
    """A charge per household and month; never part of a recalculation."""

    id: str
    title: str
    source: str
    effective_from: date
    amount_azn: Decimal
    confidence: str
    used_in_recalculation: bool


@dataclass(frozen=True, slots=True)
class Tariffs:
    periods: tuple[TariffPeriod, ...]  # by effective_from, contiguous
    fixed_charges: tuple[FixedCharge, ...]

    def tariff_on(self, day: date) -> TariffPeriod:
        for period in self.periods:
            if period.in_force(day):
                return period
        raise LookupError(f"no household tariff is known for {day}")

    def tariff_for_month(self, month_start: date) -> TariffPeriod:
        """The tariff in force on most days of the month (a tie: the earlier one)."""
        _check_month_start(month_start)
        last = month_start.replace(day=calendar.monthrange(month_start.year, month_start.month)[1])
        best: tuple[int, TariffPeriod] | None = None
        for period in self.periods:
            first_day = max(period.effective_from, month_start)
            last_day = last if period.effective_to is None else min(period.effective_to, last)
            days = (last_day - first_day).days + 1
            if days > 0 and (best is None or days > best[0]):
                best = (days, period)
        if best is None:
            raise LookupError(f"no household tariff is known for {month_start:%Y-%m}")
        return best[1]

    def price_month(self, kwh: Decimal, month_start: date) -> tuple[Decimal, list[TierLine]]:
        return self.tariff_for_month(month_start).price(kwh)

    def fixed_charge_on(self, day: date) -> FixedCharge | None:
        found = [c for c in self.fixed_charges if c.effective_from <= day]
        return max(found, key=lambda c: c.effective_from, default=None)


# ----------------------------------------------------------------------------- module level


@functools.cache
def default_tariffs() -> Tariffs:
    """The tariffs of :data:`DEFAULT_TARIFF_FILE`, loaded once (``cache_clear()`` to reload)."""
    return load_tariffs(DEFAULT_TARIFF_FILE)


def tariff_on(day: date) -> TariffPeriod:
    return default_tariffs().tariff_on(day)


def tariff_for_month(month_start: date) -> TariffPeriod:
    return default_tariffs().tariff_for_month(month_start)


def price_month(kwh: Decimal, month_start: date) -> tuple[Decimal, list[TierLine]]:
    """One month's household energy at its tariff: (AZN rounded to 0.01, tier lines)."""
    return default_tariffs().price_month(kwh, month_start)


def fixed_charge_on(day: date) -> FixedCharge | None:
    return default_tariffs().fixed_charge_on(day)


def _check_month_start(month_start: date) -> None:
    if month_start.day != 1:
        raise ValueError(f"a month starts on its first day, not {month_start}")


# ----------------------------------------------------------------------------- loading


def load_tariffs(path: Path) -> Tariffs:
    """Parse and check a tariff file; a ValueError names the file and the key."""
    reader = read_rule_file(path)
    raw = [_read_period(table) for table in reader.tables("periods")]
    if not raw:
        reader.fail("periods", "at least one tariff period is needed")
    raw.sort(key=lambda p: p.effective_from)
    periods: list[TariffPeriod] = []
    for number, period in enumerate(raw):
        if number + 1 < len(raw):
            following = raw[number + 1]
            if following.effective_from == period.effective_from:
                reader.fail("periods", f"{following.id} and {period.id} start on the same day")
            end: date | None = following.effective_from - timedelta(days=1)
        else:
            end = None
        if period.id in {p.id for p in periods}:
            reader.fail("periods", f"id {period.id!r} appears twice")
        periods.append(
            TariffPeriod(
                id=period.id,
                title=period.title,
                source=period.source,
                effective_from=period.effective_from,
                effective_to=end,
                effective_from_confidence=period.effective_from_confidence,
                confidence=period.confidence,
                tiers=period.tiers,
                notes=period.notes,
            )
        )
    charges: list[FixedCharge] = []
    if reader.has("fixed_charges"):
        for table in reader.tables("fixed_charges"):
            charges.append(
                FixedCharge(
                    id=table.text("id"),
                    title=table.text("title"),
                    source=table.text("source"),
                    effective_from=table.day("effective_from"),
                    amount_azn=table.number("amount_azn"),
                    confidence=table.confidence("confidence"),
                    used_in_recalculation=table.boolean("used_in_recalculation"),
                )
            )
            if charges[-1].used_in_recalculation:
                table.fail("used_in_recalculation", "recalculation prices energy only")
            table.finish()
    reader.finish()
    return Tariffs(periods=tuple(periods), fixed_charges=tuple(charges))


def _read_period(r: _Reader) -> TariffPeriod:
    tiers: list[Tier] = []
    start = Decimal(0)
    tables = r.tables("tiers")
    for number, table in enumerate(tables, start=1):
        rate = table.number("rate", positive=True)
        to_kwh = table.number("up_to_kwh", positive=True) if table.has("up_to_kwh") else None
        last = number == len(tables)
        if to_kwh is None and not last:
            table.fail("up_to_kwh", "only the last tier may be open")
        if to_kwh is not None and last:
            table.fail("up_to_kwh", "the last tier must be open (no up_to_kwh)")
        if to_kwh is not None and to_kwh <= start:
            table.fail("up_to_kwh", f"{to_kwh} does not rise above {start}")
        table.finish()
        tiers.append(Tier(start, to_kwh, rate))
        start = to_kwh if to_kwh is not None else start
    if not tiers:
        r.fail("tiers", "at least one tier is needed")
    period = TariffPeriod(
        id=r.text("id"),
        title=r.text("title"),
        source=r.text("source"),
        effective_from=r.day("effective_from"),
        effective_to=None,
        effective_from_confidence=r.confidence("effective_from_confidence"),
        confidence=r.confidence("confidence"),
        tiers=tuple(tiers),
        notes=r.text("notes") if r.has("notes") else "",
    )
    r.finish()
    return period
