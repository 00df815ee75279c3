"""How an act reads in the chat: the list line and the detail with its calculation explained.

The detail is built from what was stored with the act (its loads and the recalculation record),
in the citizen's language, so it says exactly what was computed and by which rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final

from babel.dates import format_date as babel_format_date

from chat.telegram_text import pack
from delivery import payment_text
from domain.acts import ActStatus, LoadKind, ViolationType, days_left
from domain.recalculation import RuleSet, default_rules
from i18n import N_, _, current_locale, format_date, format_money, format_number, ngettext
from storage import acts
from storage.models import ViolationAct

VIOLATIONS: Final[dict[str, str]] = {
    ViolationType.METER_BYPASS: N_("the meter was bypassed"),
    ViolationType.SCHEME_CHANGED: N_("the connection scheme was changed"),
    ViolationType.METER_DAMAGED: N_("the meter was damaged"),
    ViolationType.SEALS_BROKEN: N_("the seals were broken"),
    ViolationType.METER_STOPPED: N_("the meter was stopped"),
    ViolationType.HIDDEN_LINE: N_("a hidden line bypassing the meter"),
}
STATUSES: Final[dict[str, str]] = {
    ActStatus.OPEN: N_("to be paid"),
    ActStatus.PAID: N_("paid"),
    ActStatus.DISCONNECTED: N_("unpaid, supply disconnected"),
    ActStatus.COURT: N_("unpaid, referred to court"),
    ActStatus.CANCELLED: N_("cancelled"),
}
RULE_NAMES: Final[dict[str, str]] = {
    "eeiq-5-11-legacy": N_("Electricity Use Rules, item 5.11 (earlier wording)"),
    "eeiq-8-17-current": N_("Electricity Use Rules, item 8.17"),
}


def money(value: str | Decimal) -> str:
    return format_money(Decimal(value))


def kwh(value: str | Decimal) -> str:
    return format_number(Decimal(value))


def due_phrase(act: ViolationAct, today: date) -> str:
    left = days_left(act.due_on, today)
    due = format_date(act.due_on)
    if left > 0:
        return ngettext(
            "pay by {due} ({days} day left)", "pay by {due} ({days} days left)", left
        ).format(due=due, days=left)
    if left == 0:
        return _("pay by today, {due}").format(due=due)
    return _("the due date {due} has passed").format(due=due)


def list_line(act: ViolationAct, today: date) -> str:
    """``AKT-1: 123,45 ₼, pay by 3 December 2026 (3 days left)``, or the status."""
    return _("{number}: {amount}, {state}").format(
        number=act.number,
        amount=format_money(acts.outstanding(act) or act.amount),
        state=status_phrase(act, today),
    )


def list_messages(codes: Sequence[str], found: Sequence[ViolationAct], today: date) -> list[str]:
    """The citizen's subscriber codes and their acts, in as many messages as it takes."""
    lines = [_("Your subscriber codes: {codes}.").format(codes=", ".join(codes))]
    if found:
        lines += [_("Acts:"), *(f"• {list_line(act, today)}" for act in found)]
        if any(payment_text.act_payable(act) for act in found):
            lines.append(payment_text.act_list_line(current_locale()))
        lines.append(_("Choose an act to see how the amount was calculated."))
    else:
        lines.append(
            _("There are no acts for these codes. We will write to you if one is drawn up.")
        )
    return pack(lines)


def status_phrase(act: ViolationAct, today: date) -> str:
    return due_phrase(act, today) if act.status == ActStatus.OPEN else _(STATUSES[act.status])


def rule_name(rule_set: str) -> str:
    name = RULE_NAMES.get(rule_set)
    return _(name) if name else rule_set


def period_lines(calc: dict[str, Any], act: ViolationAct, rules: RuleSet) -> list[str]:
    start = date.fromisoformat(calc["period_start"])
    end = date.fromisoformat(calc["period_end"])
    lines = [
        _("• Period: from {start} to {end}, {days} days.").format(
            start=format_date(start), end=format_date(end), days=calc["days"]
        )
    ]
    if act.violation_type == ViolationType.HIDDEN_LINE and rules.hidden_line_from_account_opening:
        lines.append("  " + _("A hidden line is counted from the day the account was opened."))
    else:
        lines.append("  " + _("It is counted from the last inspection to the day of the finding."))
    if "limitation" in calc["capped_by"]:
        lines.append(
            "  "
            + _("It is limited to the last {years} years (the limitation period).").format(
                years=rules.limitation_years
            )
        )
    if "max_months" in calc["capped_by"]:
        lines.append(
            "  "
            + _("The rule allows at most {months} months back.").format(months=rules.max_months)
        )
    return lines


def load_power(act: ViolationAct, kind: LoadKind, above: Decimal = Decimal(0)) -> Decimal:
    powers = (Decimal(load["power_w"]) for load in act.loads if load["kind"] == kind)
    return sum((p for p in powers if p > above), Decimal(0))


def energy_lines(calc: dict[str, Any], act: ViolationAct, rules: RuleSet) -> list[str]:
    days = calc["days"]
    lines = []
    if Decimal(calc["lighting_kwh"]):
        lines.append(
            _("• Lighting: {watts} W × {hours} hours of darkness = {kwh} kWh.").format(
                watts=kwh(load_power(act, LoadKind.LIGHTING)),
                hours=kwh(calc["burning_hours"]),
                kwh=kwh(calc["lighting_kwh"]),
            )
        )
        if calc["estimate"]:
            lines.append(
                "  "
                + _(
                    "The hours of darkness are an estimate from sunrise and sunset at your "
                    "place, counted between 06:00 and 23:00."
                )
            )
    if Decimal(calc["sockets_kwh"]):
        lines.append(
            _(
                "• Sockets: {watts} W × 24 hours × {days} days = {kwh} kWh, whatever the "
                "number of sockets."
            ).format(watts=kwh(rules.socket_power_w), days=days, kwh=kwh(calc["sockets_kwh"]))
        )
    if Decimal(calc["appliances_kwh"]):
        lines.append(
            _(
                "• Appliances above {limit} W: {watts} W × 24 hours × {days} days = {kwh} kWh."
            ).format(
                limit=kwh(rules.appliance_above_w),
                watts=kwh(load_power(act, LoadKind.APPLIANCE, rules.appliance_above_w)),
                days=days,
                kwh=kwh(calc["appliances_kwh"]),
            )
        )
    if Decimal(calc["receivers_kwh"]):
        total_w = sum((Decimal(load["power_w"]) for load in act.loads), Decimal(0))
        lines.append(
            _("• Connected appliances: {watts} W × 24 hours × {days} days = {kwh} kWh.").format(
                watts=kwh(total_w), days=days, kwh=kwh(calc["receivers_kwh"])
            )
        )
    if Decimal(calc["already_billed_kwh"]):
        lines.append(
            _("• Already billed for this period: {kwh} kWh (deducted).").format(
                kwh=kwh(calc["already_billed_kwh"])
            )
        )
    return lines


def month_lines(calc: dict[str, Any]) -> list[str]:
    lines = [_("Priced month by month at the household tariff of that month:")]
    for month in calc["months"]:
        year, number = month["month"].split("-")
        first = date(int(year), int(number), 1)
        lines.append(
            _("• {month}: {kwh} kWh → {amount}").format(
                month=month_name(first),
                kwh=kwh(month["kwh"]),
                amount=money(month["due"]),
            )
        )
    return lines


def month_name(first: date) -> str:
    """``dekabr 2025`` (the stand-alone month name, as a heading)."""
    return babel_format_date(first, "LLLL y", locale=current_locale())


def detail_messages(act: ViolationAct, today: date) -> list[str]:
    """The act, its calculation in plain words, and what the citizen must know."""
    calc = act.calculation
    rules = default_rules().rule_set(act.rule_set)
    status_line = status_phrase(act, today)
    lines = [
        _("Act {number} of {date}").format(number=act.number, date=format_date(act.issued_on)),
        _("Subscriber code: {code}, {address}").format(
            code=act.subscriber_code, address=act.address
        ),
        _("Found: {violation}.").format(violation=_(VIOLATIONS[act.violation_type])),
        _("Amount: {amount}; {status}.").format(amount=money(act.amount), status=status_line),
    ]
    if act.paid_amount:
        lines.append(
            _("Paid: {paid}; left to pay: {left}.").format(
                paid=money(act.paid_amount), left=money(acts.outstanding(act))
            )
        )
    paying = payment_text.act_lines(act, current_locale())
    if paying:
        lines += ["", *paying]
    lines += ["", _("How the amount was calculated ({rule}):").format(rule=rule_name(act.rule_set))]
    lines += period_lines(calc, act, rules)
    lines += energy_lines(calc, act, rules)
    lines.append(_("• In total: {kwh} kWh.").format(kwh=kwh(calc["kwh"])))
    lines += ["", *month_lines(calc)]
    lines.append(_("Total: {amount}.").format(amount=money(calc["total"])))
    if act.amount < Decimal(calc["total"]):  # lowered since (an upheld objection)
        lines.append(
            _("Lowered after your objection to {amount}.").format(amount=money(act.amount))
        )
    lines += ["", _("Good to know:")]
    if not act.signed:
        lines.append(_("• The act is valid even though it was not signed."))
    else:
        lines.append(_("• The act is valid even if the consumer refuses to sign it."))
    lines.append(_("• An objection does not postpone the payment."))
    lines.append(
        _(
            "• If it is not paid by {due} (10 days after the act), the supply may be "
            "disconnected and the debt claimed in court."
        ).format(due=format_date(act.due_on))
    )
    return pack(lines)
