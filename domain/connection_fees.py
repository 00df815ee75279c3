"""Connection fee (qoşulma haqqı) for households, from dated rule sets (REFERENCE.md §1, §3).

Every figure is data: each ``*.toml`` file in :data:`DEFAULT_RULES_DIR` is one legal act with
its source, effective dates, confidence marks and figures. Next year's decision is a new file,
not a release. A *base* set prices the connection; a *discount* set (an overlay) takes a
percentage off the base in some districts. Every :class:`Quote` names the sets it used.

Choosing a set for a date: among the base sets in force (``effective_from <= on <=
effective_to``, both inclusive, ``effective_to`` optional), the one with the latest
``effective_from`` wins, so a new decision supersedes the old one without editing its file.
Overlays are independent of the base: for a district, the matching overlay term with the latest
``effective_from`` applies.

Base file (``kind = "base"``; the file name is ``<id>.toml``)::

    kind, id, title, source, effective_from, [effective_to], confidence, [vat_included], [notes]
    [minimum]          kw, confidence, [note]
    [online_payment]   max_distance_m, confidence, [source]
    [phases.1], [phases.3]
        max_kw, max_kw_confidence, [max_kw_source], fee_confidence,
        [above_threshold = "marginal" | "whole"], [above_threshold_confidence],
        [flat = { up_to_kw, amount }], [bands = [{ from_kw, [to_kw], rate }, ...]]
    [[execution_periods]]  id, days, [fee], confidence

Bands are contiguous, starting at the flat fee's ``up_to_kw`` (or 0); only the last may omit
``to_kw`` (it then runs to ``max_kw``). ``"marginal"`` charges each band for the kW inside it;
``"whole"`` charges all of P at the rate of the band P falls in. A phase without a flat fee or
bands has no known fee. Confidence marks are ``confirmed``, ``likely`` or ``unknown``.

Discount file (``kind = "discount"``)::

    kind, id, title, source, effective_from, [effective_to], confidence, [notes]
    districts = [...], districts_confidence
    [[terms]]  phase, percent, [above_kw]   (applies when P > above_kw; the highest match wins)

Numbers are read exactly (TOML floats become ``Decimal``); money is ``Decimal``, each line
rounded to 0.01 half-up.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import IntEnum
from pathlib import Path
from typing import Final, Literal

from domain.rule_data import CONFIDENCES, read_rule_file
from domain.rule_data import RuleReader as _Reader

DEFAULT_RULES_DIR: Final[Path] = Path(__file__).resolve().parent / "data" / "connection_fees"

AboveThreshold = Literal["marginal", "whole"]
FeeErrorReason = Literal[
    "not_positive", "below_minimum", "above_limit", "unknown_fee", "no_rule_set"
]

LINE_BAND: Final = "band"
LINE_FLAT: Final = "flat"
LINE_DISCOUNT: Final = "discount"
LINE_BUILDING: Final = "building"

_CENT: Final = Decimal("0.01")
_ZERO: Final = Decimal("0.00")
_CONFIDENCE_RANK: Final[dict[str, int]] = {mark: rank for rank, mark in enumerate(CONFIDENCES)}


class Phase(IntEnum):
    ONE = 1
    THREE = 3


@dataclass(frozen=True, slots=True)
class ConnectionRequest:
    """What the citizen asks for; ``power_kw`` is meant to carry at most one decimal."""

    phase: Phase
    power_kw: Decimal
    district: str | None = None  # as in districts.csv, e.g. "Şuşa", "Binəqədi (Bakı)"
    execution_period: str | None = None  # an ExecutionPeriod.id; recorded, not priced
    # An apartment in a building that already has general technical conditions needs no
    # separate conditions or fee (REFERENCE.md §3, confirmed).
    covered_by_building: bool = False


class FeeError(ValueError):
    """Why no fee can be quoted; ``limit`` is the kW bound that was crossed, if any."""

    def __init__(
        self, reason: FeeErrorReason, limit: Decimal | None = None, *, rule_set_id: str = ""
    ) -> None:
        self.reason: FeeErrorReason = reason
        self.limit = limit
        self.rule_set_id = rule_set_id
        message = reason if limit is None else f"{reason} (limit {limit} kW)"
        super().__init__(f"{message} under {rule_set_id}" if rule_set_id else message)


@dataclass(frozen=True, slots=True)
class ExecutionPeriod:
    """How soon the company connects after payment; ``fee`` is None when no price is known."""

    id: str
    days: int
    fee: Decimal | None
    confidence: str


@dataclass(frozen=True, slots=True)
class FlatFee:
    up_to_kw: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Band:
    from_kw: Decimal
    to_kw: Decimal | None  # None: up to the phase's max_kw
    rate: Decimal  # AZN per kW

    def holds(self, power: Decimal) -> bool:
        return power > self.from_kw and (self.to_kw is None or power <= self.to_kw)


@dataclass(frozen=True, slots=True)
class PhaseRule:
    phase: Phase
    max_kw: Decimal
    max_kw_confidence: str
    max_kw_source: str
    fee_confidence: str
    above_threshold: AboveThreshold
    above_threshold_confidence: str
    flat: FlatFee | None
    bands: tuple[Band, ...]

    @property
    def has_fee(self) -> bool:
        return self.flat is not None or bool(self.bands)

    def covers(self, power: Decimal) -> bool:
        """Whether the figures reach ``power`` (a table may stop short of ``max_kw``)."""
        if self.flat is not None and power <= self.flat.up_to_kw:
            return True
        return any(band.holds(power) for band in self.bands)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One base legal act: limits, minimum, bands per phase, execution periods."""

    id: str
    title: str  # the legal act, e.g. "Cabinet of Ministers Decision No. 327 of 24 July 2018"
    source: str  # URL or citation
    effective_from: date
    effective_to: date | None  # inclusive; None while in force
    confidence: str
    minimum_kw: Decimal
    minimum_kw_confidence: str
    phases: tuple[PhaseRule, ...]
    execution_periods: tuple[ExecutionPeriod, ...]
    online_payment_max_distance_m: int
    online_payment_confidence: str
    vat_included: bool | None = None
    notes: str = ""
    titles: tuple[tuple[str, str], ...] = ()  # (locale, title) for citizens; `title` otherwise

    def in_force(self, on: date) -> bool:
        return _in_force(self.effective_from, self.effective_to, on)

    def title_in(self, locale: str) -> str:
        return dict(self.titles).get(locale, self.title)

    def phase_rule(self, phase: Phase) -> PhaseRule:
        return next(rule for rule in self.phases if rule.phase == phase)

    def power_limit(self, phase: Phase) -> Decimal:
        return self.phase_rule(phase).max_kw


@dataclass(frozen=True, slots=True)
class DiscountTerm:
    phase: Phase
    percent: Decimal
    above_kw: Decimal | None = None  # applies only when P > above_kw

    def applies(self, phase: Phase, power: Decimal) -> bool:
        return phase == self.phase and (self.above_kw is None or power > self.above_kw)


@dataclass(frozen=True, slots=True)
class DiscountRule:
    """An overlay: a percentage off the base fee in some districts."""

    id: str
    title: str
    source: str
    effective_from: date
    effective_to: date | None
    confidence: str
    districts: tuple[str, ...]
    districts_confidence: str
    terms: tuple[DiscountTerm, ...]
    notes: str = ""
    titles: tuple[tuple[str, str], ...] = ()

    def title_in(self, locale: str) -> str:
        return dict(self.titles).get(locale, self.title)

    def in_force(self, on: date) -> bool:
        return _in_force(self.effective_from, self.effective_to, on)

    def term_for(self, request: ConnectionRequest) -> DiscountTerm | None:
        if request.district is None or _district_key(request.district) not in self.districts:
            return None
        matching = [t for t in self.terms if t.applies(request.phase, request.power_kw)]
        return max(matching, key=lambda t: t.above_kw or Decimal(0), default=None)


@dataclass(frozen=True, slots=True)
class QuoteLine:
    """One structured line of a quote; rendering to text happens elsewhere.

    ``band``: ``from_kw``–``to_kw`` (None: open) at ``rate`` AZN/kW for ``kw`` kW (under the
    ``whole`` reading ``kw`` is all of P); ``flat``: ``amount`` up to ``to_kw``; ``discount``:
    ``percent`` off, ``amount`` negative; ``building``: the rest waived, the building's general
    technical conditions cover the apartment. ``rule_set_id`` names the set the line comes from.
    """

    kind: str
    amount: Decimal
    from_kw: Decimal | None = None
    to_kw: Decimal | None = None
    rate: Decimal | None = None
    kw: Decimal | None = None
    percent: Decimal | None = None
    rule_set_id: str | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    request: ConnectionRequest
    amount: Decimal  # AZN, 0.01, never negative
    lines: tuple[QuoteLine, ...]
    rule_set: RuleSet
    discount: DiscountRule | None

    @property
    def rule_set_id(self) -> str:
        if self.discount is None:
            return self.rule_set.id
        return f"{self.rule_set.id}+{self.discount.id}"

    def sources_in(self, locale: str) -> tuple[str, ...]:
        """The titles of every legal act used, in the citizen's language where the data has it."""
        acts: list[RuleSet | DiscountRule] = [self.rule_set]
        if self.discount is not None:
            acts.append(self.discount)
        return tuple(act.title_in(locale) for act in acts)

    @property
    def sources(self) -> tuple[str, ...]:
        """Titles of every legal act used, for the citizen to read."""
        if self.discount is None:
            return (self.rule_set.title,)
        return (self.rule_set.title, self.discount.title)

    @property
    def confidence(self) -> str:
        """The weakest confidence mark among the figures this quote used."""
        rule = self.rule_set.phase_rule(self.request.phase)
        marks = [rule.fee_confidence]
        if len(rule.bands) > 1:
            threshold = rule.bands[0].to_kw
            if threshold is not None and self.request.power_kw > threshold:
                marks.append(rule.above_threshold_confidence)
        if self.discount is not None:
            marks.append(self.discount.confidence)
        return max(marks, key=lambda mark: _CONFIDENCE_RANK.get(mark, len(CONFIDENCES)))


@dataclass(frozen=True, slots=True)
class Rules:
    """All rule sets of one directory; the module-level functions use the default one."""

    rule_sets: tuple[RuleSet, ...]  # by effective_from
    discounts: tuple[DiscountRule, ...]  # by effective_from

    def rule_set_in_force(self, on: date) -> RuleSet:
        in_force = [s for s in self.rule_sets if s.in_force(on)]
        if not in_force:
            raise FeeError("no_rule_set")
        return max(in_force, key=lambda s: s.effective_from)

    def power_limit(self, phase: Phase, on: date) -> Decimal:
        return self.rule_set_in_force(on).power_limit(phase)

    def minimum_power(self, on: date) -> Decimal:
        return self.rule_set_in_force(on).minimum_kw

    def execution_periods(self, on: date) -> tuple[ExecutionPeriod, ...]:
        return self.rule_set_in_force(on).execution_periods

    def online_payment_max_distance_m(self, on: date) -> int:
        return self.rule_set_in_force(on).online_payment_max_distance_m

    def discount_for(
        self, request: ConnectionRequest, on: date
    ) -> tuple[DiscountRule, DiscountTerm] | None:
        found = None
        for rule in self.discounts:
            term = rule.term_for(request) if rule.in_force(on) else None
            if term is not None:
                found = (rule, term)
        return found

    def quote_fee(self, request: ConnectionRequest, *, on: date) -> Quote:
        rule_set = self.rule_set_in_force(on)
        rule = rule_set.phase_rule(request.phase)
        _check_power(request.power_kw, rule_set, rule)
        lines = _base_lines(rule, request.power_kw, rule_set.id)
        found = self.discount_for(request, on)
        if found is not None:
            overlay, term = found
            base = sum((line.amount for line in lines), _ZERO)
            cut = _money(base * term.percent / 100)
            lines.append(
                QuoteLine(LINE_DISCOUNT, _ZERO - cut, percent=term.percent, rule_set_id=overlay.id)
            )
        if request.covered_by_building:
            due = max(sum((line.amount for line in lines), _ZERO), _ZERO)
            lines.append(QuoteLine(LINE_BUILDING, _ZERO - due))
        total = max(sum((line.amount for line in lines), _ZERO), _ZERO)
        return Quote(
            request=request,
            amount=_money(total),
            lines=tuple(lines),
            rule_set=rule_set,
            discount=found[0] if found is not None else None,
        )


# ----------------------------------------------------------------------------- module level


@functools.cache
def default_rules() -> Rules:
    """The rule sets of :data:`DEFAULT_RULES_DIR`, loaded once (``cache_clear()`` to reload)."""
    return load_rule_sets(DEFAULT_RULES_DIR)


def quote_fee(request: ConnectionRequest, *, on: date) -> Quote:
    return default_rules().quote_fee(request, on=on)


def power_limit(phase: Phase, on: date) -> Decimal:
    """The most a household may ask for on ``phase`` under the set in force."""
    return default_rules().power_limit(phase, on)


def minimum_power(on: date) -> Decimal:
    return default_rules().minimum_power(on)


def execution_periods(on: date) -> tuple[ExecutionPeriod, ...]:
    return default_rules().execution_periods(on)


def rule_set_in_force(on: date) -> RuleSet:
    return default_rules().rule_set_in_force(on)


def online_payment_max_distance_m(on: date) -> int:
    """Farther than this from the power source, technical conditions come before payment."""
    return default_rules().online_payment_max_distance_m(on)


# ----------------------------------------------------------------------------- pricing


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _in_force(start: date, end: date | None, on: date) -> bool:
    return start <= on and (end is None or on <= end)


def _district_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip()


def _check_power(power: Decimal, rule_set: RuleSet, rule: PhaseRule) -> None:
    if power.is_nan() or power <= 0:
        raise FeeError("not_positive", rule_set_id=rule_set.id)
    if power < rule_set.minimum_kw:
        raise FeeError("below_minimum", rule_set.minimum_kw, rule_set_id=rule_set.id)
    if power > rule.max_kw:
        raise FeeError("above_limit", rule.max_kw, rule_set_id=rule_set.id)
    if not rule.covers(power):
        raise FeeError("unknown_fee", rule_set_id=rule_set.id)


def _base_lines(rule: PhaseRule, power: Decimal, rule_set_id: str) -> list[QuoteLine]:
    lines: list[QuoteLine] = []
    if rule.flat is not None:
        lines.append(
            QuoteLine(
                LINE_FLAT,
                _money(rule.flat.amount),
                to_kw=rule.flat.up_to_kw,
                rule_set_id=rule_set_id,
            )
        )
        if power <= rule.flat.up_to_kw:
            return lines
    if rule.above_threshold == "whole":
        band = next(b for b in rule.bands if b.holds(power))
        return [_band_line(band, power, rule_set_id)]
    for band in rule.bands:
        if power <= band.from_kw:
            break
        top = power if band.to_kw is None else min(power, band.to_kw)
        lines.append(_band_line(band, top - band.from_kw, rule_set_id))
    return lines


def _band_line(band: Band, kw: Decimal, rule_set_id: str) -> QuoteLine:
    return QuoteLine(
        LINE_BAND,
        _money(band.rate * kw),
        from_kw=band.from_kw,
        to_kw=band.to_kw,
        rate=band.rate,
        kw=kw,
        rule_set_id=rule_set_id,
    )


# ----------------------------------------------------------------------------- loading


def load_rule_sets(directory: Path) -> Rules:
    """Parse and check every ``*.toml`` in ``directory``; a ValueError names the bad file."""
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory of connection fee rule sets")
    bases: list[RuleSet] = []
    discounts: list[DiscountRule] = []
    for path in sorted(directory.glob("*.toml")):
        loaded = _load_file(path)
        if isinstance(loaded, RuleSet):
            bases.append(loaded)
        else:
            discounts.append(loaded)
    if not bases:
        raise ValueError(f'{directory}: no base rule set (kind = "base") found')
    bases.sort(key=lambda s: s.effective_from)
    discounts.sort(key=lambda s: s.effective_from)
    for i, a in enumerate(bases):
        for b in bases[i + 1 :]:
            if a.effective_from == b.effective_from:
                raise ValueError(
                    f"{directory / (b.id + '.toml')}: takes effect on {b.effective_from} like "
                    f"{a.id}.toml, so neither supersedes the other"
                )
    for i, c in enumerate(discounts):
        for d in discounts[i + 1 :]:
            shared = sorted(set(c.districts) & set(d.districts))
            if c.effective_from == d.effective_from and shared:
                raise ValueError(
                    f"{directory / (d.id + '.toml')}: takes effect on {d.effective_from} like "
                    f"{c.id}.toml for the same districts ({', '.join(shared)})"
                )
    return Rules(rule_sets=tuple(bases), discounts=tuple(discounts))


def _load_file(path: Path) -> RuleSet | DiscountRule:
    reader = read_rule_file(path)
    kind = reader.choice("kind", ("base", "discount"))
    ident = reader.text("id")
    if ident != path.stem:
        reader.fail("id", f"{ident!r} must match the file name ({path.stem!r})")
    loaded = _read_base(reader, ident) if kind == "base" else _read_discount(reader, ident)
    reader.finish()
    return loaded


def _read_base(r: _Reader, ident: str) -> RuleSet:
    start, end = _read_dates(r)
    minimum = r.table("minimum")
    online = r.table("online_payment")
    phases = r.table("phases")
    rule_set = RuleSet(
        id=ident,
        title=r.text("title"),
        titles=_read_titles(r),
        source=r.text("source"),
        effective_from=start,
        effective_to=end,
        confidence=r.confidence("confidence"),
        minimum_kw=minimum.number("kw", positive=True),
        minimum_kw_confidence=minimum.confidence("confidence"),
        phases=tuple(_read_phase(phases.table(str(int(phase))), phase) for phase in Phase),
        execution_periods=_read_periods(r),
        online_payment_max_distance_m=online.integer("max_distance_m", positive=True),
        online_payment_confidence=online.confidence("confidence"),
        vat_included=r.boolean("vat_included") if r.has("vat_included") else None,
        notes=r.text("notes") if r.has("notes") else "",
    )
    if minimum.has("note"):
        minimum.text("note")
    if online.has("source"):
        online.text("source")
    for table in (minimum, online, phases):
        table.finish()
    return rule_set


def _read_dates(r: _Reader) -> tuple[date, date | None]:
    start = r.day("effective_from")
    end = r.day("effective_to") if r.has("effective_to") else None
    if end is not None and end < start:
        r.fail("effective_to", f"{end} is before effective_from {start}")
    return start, end


def _read_phase(r: _Reader, phase: Phase) -> PhaseRule:
    fee_confidence = r.confidence("fee_confidence")
    flat = None
    if r.has("flat"):
        table = r.table("flat")
        flat = FlatFee(table.number("up_to_kw", positive=True), table.number("amount"))
        table.finish()
    bands = tuple(_read_band(t) for t in r.tables("bands")) if r.has("bands") else ()
    above: AboveThreshold = "marginal"
    if r.has("above_threshold"):
        above = "whole" if r.choice("above_threshold", ("marginal", "whole")) == "whole" else above
    rule = PhaseRule(
        phase=phase,
        max_kw=r.number("max_kw", positive=True),
        max_kw_confidence=r.confidence("max_kw_confidence"),
        max_kw_source=r.text("max_kw_source") if r.has("max_kw_source") else "",
        fee_confidence=fee_confidence,
        above_threshold=above,
        above_threshold_confidence=(
            r.confidence("above_threshold_confidence")
            if r.has("above_threshold_confidence")
            else fee_confidence
        ),
        flat=flat,
        bands=bands,
    )
    _check_bands(r, rule)
    r.finish()
    return rule


def _read_band(r: _Reader) -> Band:
    band = Band(
        from_kw=r.number("from_kw"),
        to_kw=r.number("to_kw", positive=True) if r.has("to_kw") else None,
        rate=r.number("rate"),
    )
    r.finish()
    return band


def _check_bands(r: _Reader, rule: PhaseRule) -> None:
    """Bands contiguous from the flat fee (or 0); only the last open; ``whole`` stays monotone."""
    expected: Decimal | None = rule.flat.up_to_kw if rule.flat is not None else Decimal(0)
    for number, band in enumerate(rule.bands, start=1):
        if expected is None:
            r.fail("bands", f"band {number} follows an open band (only the last may omit to_kw)")
        if band.from_kw != expected:
            r.fail("bands", f"band {number} starts at {band.from_kw} kW, expected {expected} kW")
        if band.to_kw is not None and band.to_kw <= band.from_kw:
            r.fail("bands", f"band {number} ends at {band.to_kw} kW, not after its start")
        expected = band.to_kw
    if rule.above_threshold == "whole":
        if rule.flat is not None:
            r.fail("above_threshold", '"whole" cannot be combined with a flat fee')
        rates = [band.rate for band in rule.bands]
        if rates != sorted(rates):
            r.fail("above_threshold", '"whole" needs rising rates, or the fee would fall with P')
    if not rule.has_fee and rule.fee_confidence != "unknown":
        r.fail("fee_confidence", 'a phase without flat fee or bands must be "unknown"')


def _read_periods(r: _Reader) -> tuple[ExecutionPeriod, ...]:
    periods: list[ExecutionPeriod] = []
    for table in r.tables("execution_periods"):
        period = ExecutionPeriod(
            id=table.text("id"),
            days=table.integer("days", positive=True),
            fee=table.number("fee") if table.has("fee") else None,
            confidence=table.confidence("confidence"),
        )
        if period.id in {p.id for p in periods}:
            table.fail("id", f"{period.id!r} appears twice")
        table.finish()
        periods.append(period)
    if not periods:
        r.fail("execution_periods", "at least one execution period is needed")
    return tuple(periods)


def _read_discount(r: _Reader, ident: str) -> DiscountRule:
    start, end = _read_dates(r)
    districts = tuple(_district_key(name) for name in r.strings("districts"))
    if len(set(districts)) != len(districts):
        r.fail("districts", "a district is listed twice")
    terms: list[DiscountTerm] = []
    for table in r.tables("terms"):
        phase_number = table.integer("phase")
        if phase_number not in (1, 3):
            table.fail("phase", f"must be 1 or 3, not {phase_number}")
        term = DiscountTerm(
            phase=Phase(phase_number),
            percent=table.number("percent", positive=True),
            above_kw=table.number("above_kw") if table.has("above_kw") else None,
        )
        if term.percent > 100:
            table.fail("percent", f"{term.percent} is more than 100")
        if any((t.phase, t.above_kw) == (term.phase, term.above_kw) for t in terms):
            table.fail("above_kw", "another term has the same phase and above_kw")
        table.finish()
        terms.append(term)
    if not terms:
        r.fail("terms", "at least one term is needed")
    return DiscountRule(
        id=ident,
        title=r.text("title"),
        titles=_read_titles(r),
        source=r.text("source"),
        effective_from=start,
        effective_to=end,
        confidence=r.confidence("confidence"),
        districts=districts,
        districts_confidence=r.confidence("districts_confidence"),
        terms=tuple(terms),
        notes=r.text("notes") if r.has("notes") else "",
    )


def _read_titles(r: _Reader) -> tuple[tuple[str, str], ...]:
    """Optional ``[titles]`` table: the act's title per locale (az, ru, en)."""
    if not r.has("titles"):
        return ()
    table = r.table("titles")
    titles = tuple(
        (locale, table.text(locale)) for locale in ("az", "ru", "en") if table.has(locale)
    )
    table.finish()
    return titles
