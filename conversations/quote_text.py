"""How a fee quote, a distance and the review read to a citizen, in the current language."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from domain.connection_fees import ExecutionPeriod, FeeError, Phase, Quote, QuoteLine
from i18n import N_, _, current_locale, format_money, format_number, ngettext
from integrations.power_centres import NearestCentre

if TYPE_CHECKING:
    from conversations.connection_draft import Draft


REVIEW_HEADER: Final = N_("Please check your application:")
#: One question per phase: Russian says "однофазного/трёхфазного подключения", which a
#: phase label in a placeholder cannot give.
POWER_QUESTIONS: Final[dict[Phase, str]] = {
    Phase.ONE: N_(
        "The power you need, in kW (for example 7.5). The most for a single-phase connection "
        "is {limit} kW:"
    ),
    Phase.THREE: N_(
        "The power you need, in kW (for example 7.5). The most for a three-phase connection "
        "is {limit} kW:"
    ),
}
NEAREST_CENTRE: Final = N_("The nearest power centre, {name}, is {distance} from the object.")
#: The portal's four sections of the application form, in its order.
MAIN_INFO: Final = N_("Main information")
APPLICATION_INFO: Final = N_("Application information")
OBJECT_INFO: Final = N_("Object information")
CONTACT_INFO: Final = N_("Contact information")
SECTIONS: Final = (MAIN_INFO, APPLICATION_INFO, OBJECT_INFO, CONTACT_INFO)


def section_line(section: str) -> str:
    """Where the citizen is: "Əsas məlumatlar · 1/4"."""
    return f"{_(section)} · {SECTIONS.index(section) + 1}/{len(SECTIONS)}"


def phase_label(phase: Phase) -> str:
    return _("1 phase") if phase == Phase.ONE else _("3 phases")


def period_label(option: ExecutionPeriod) -> str:
    text = ngettext("{days} day", "{days} days", option.days).format(days=option.days)
    if option.fee is not None:
        text += f" ({format_money(option.fee)})"
    return text


def kilowatts(value: Decimal) -> str:
    return _("{power} kW").format(power=format_number(value))


def line_text(line: QuoteLine) -> str:
    if line.kind == "flat":
        return _("up to {to}: fixed {amount}").format(
            to=kilowatts(line.to_kw or Decimal(0)), amount=format_money(line.amount)
        )
    if line.kind == "building":
        return _("the building's general technical conditions cover it: {amount}").format(
            amount=format_money(line.amount)
        )
    if line.kind == "discount":
        return _("discount {percent} %: {amount}").format(
            percent=format_number(line.percent or Decimal(0)), amount=format_money(line.amount)
        )
    band = (
        _("{start}–{end}").format(
            start=format_number(line.from_kw or Decimal(0)), end=kilowatts(line.to_kw)
        )
        if line.to_kw is not None
        else _("above {start}").format(start=kilowatts(line.from_kw or Decimal(0)))
    )
    return _("{band}: {power} × {rate} = {amount}").format(
        band=band,
        power=kilowatts(line.kw or Decimal(0)),
        rate=format_money(line.rate or Decimal(0)),
        amount=format_money(line.amount),
    )


def render(quote: Quote) -> str:
    """The amount, each line of its breakdown, and the legal acts it comes from."""
    header = _("Connection fee for {phase}, {power}: {amount}").format(
        phase=phase_label(quote.request.phase),
        power=kilowatts(quote.request.power_kw),
        amount=format_money(quote.amount),
    )
    lines = [f"• {line_text(line)}" for line in quote.lines]
    sources = _("Rules: {sources}.").format(sources="; ".join(quote.sources_in(current_locale())))
    return "\n".join([header, *lines, sources])


def fee_error(error: FeeError, phase: Phase) -> str:
    limit = format_number(error.limit) if error.limit is not None else ""
    if error.reason == "above_limit":
        return _("The most you can ask for {phase} is {limit} kW.").format(
            phase=phase_label(phase), limit=limit
        )
    if error.reason == "below_minimum":
        return _("The least you can ask is {limit} kW.").format(limit=limit)
    if error.reason == "not_positive":
        return _("The power must be more than 0 kW.")
    return _("There is no fee for this choice in the rules in force. Please call 199.")


def distance_value(metres: int) -> str:
    if metres < 1000:
        return _("{metres} m").format(metres=format_number(metres))
    kilometres = (Decimal(metres) / 1000).quantize(Decimal("0.1"))
    return _("{km} km").format(km=format_number(kilometres))


def distance(found: NearestCentre, *, estimated: bool, limit_m: int) -> str:
    """The distance and what it means for the citizen (REFERENCE.md §3)."""
    parts = [_(NEAREST_CENTRE).format(name=found.name, distance=distance_value(found.distance_m))]
    if found.distance_m <= limit_m:
        parts.append(
            _(
                "That is within {limit} m: once the application is approved, the connection "
                "fee can be paid online."
            ).format(limit=limit_m)
        )
    else:
        parts.append(
            _(
                "That is farther than {limit} m: technical conditions and a project are needed "
                "before the connection; the company prepares them after your application."
            ).format(limit=limit_m)
        )
    if estimated:
        parts.append(_("Measured from the district centre, so it is only an estimate."))
    if found.sample_data:
        parts.append(
            _(
                "(Demo data: the company's register of power centres is not connected to this "
                "bot yet.)"
            )
        )
    return " ".join(parts)


def yes_no(value: bool | None) -> str:
    if value is None:
        return _("not known")
    return _("yes") if value else _("no")


def review(draft: Draft, quote: Quote, period: str | None = None) -> str:
    """Every answer by the portal's four sections, and the quote, before submitting."""
    none = "—"
    object_type = {"house": _("Private house"), "apartment": _("Apartment")}.get(
        draft.object_type or "", none
    )
    main: list[tuple[str, Any]] = [
        (_("First name"), draft.first_name),
        (_("Last name"), draft.last_name),
        (_("Patronymic"), draft.patronymic),
        (_("FIN"), draft.fin),
        (_("ID card"), draft.id_card),
    ]
    application: list[tuple[str, Any]] = [
        (_("Execution period of the work"), period),
        (_("Phase"), phase_label(Phase(draft.phase or 1))),
        (_("Power"), kilowatts(draft.power or Decimal(0))),
    ]
    objects: list[tuple[str, Any]] = [(_("Object"), object_type)]
    if draft.object_type == "apartment":
        objects.append((_("General technical conditions"), yes_no(draft.has_general_conditions)))
    objects += [
        (_("District"), draft.district),
        (_("Registry number"), draft.registry_number),
        (_("Registration number"), draft.registration_number),
        (
            _("Distance to the power centre"),
            distance_value(draft.distance_m) if draft.distance_m is not None else None,
        ),
    ]
    contact: list[tuple[str, Any]] = [
        (_("Mobile number"), draft.phone),
        (_("E-mail"), draft.email),
    ]
    blocks = [
        "\n".join([_(section), *(f"{label}: {value if value else none}" for label, value in rows)])
        for section, rows in zip(SECTIONS, (main, application, objects, contact), strict=True)
    ]
    return "\n\n".join([_(REVIEW_HEADER), *blocks, render(quote)])


def quote_record(quote: Quote) -> dict[str, Any]:
    """The quote as stored with the application (JSON)."""

    def number(value: Decimal | None) -> str | None:
        return str(value) if value is not None else None

    return {
        "amount": str(quote.amount),
        "rule_set": quote.rule_set_id,
        "sources": list(quote.sources),
        "phase": int(quote.request.phase),
        "power_kw": str(quote.request.power_kw),
        "district": quote.request.district,
        "lines": [
            {
                "kind": line.kind,
                "from_kw": number(line.from_kw),
                "to_kw": number(line.to_kw),
                "kw": number(line.kw),
                "rate": number(line.rate),
                "percent": number(line.percent),
                "amount": str(line.amount),
            }
            for line in quote.lines
        ],
    }
