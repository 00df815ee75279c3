"""Answers to SMS queries: short, private, and one GSM-7 segment each (REFERENCE.md §8).

Lists are filled item by item while the whole answer still fits one segment; what does not fit
is counted ("+2"). Dates are written ``03.12.2026`` and money ``208,40 AZN`` (the manat sign is
not in GSM-7). Nothing personal goes into an answer: no name, FIN or ID card, only numbers,
statuses, amounts and dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Final

from babel.dates import format_date
from babel.numbers import format_decimal

from delivery.notices import baku_day, status_label
from domain.sms import sms_size
from domain.sms import transliterate as to_gsm7
from i18n import N_, translate
from storage import acts
from storage.models import Application, ViolationAct

SEGMENT: Final = 160

HELP: Final = N_(
    "Azərişıq SMS: STATUS - your applications; STATUS QM-2026-000123 - one; BORC - unpaid "
    "acts; STOP - no SMS notices; START - notices again."
)
NOTHING_FOUND: Final = N_("Azərişıq: nothing found for this number.")
NO_DEBT: Final = N_("Azərişıq: no unpaid acts for this number.")
APPLICATIONS: Final = N_("Azərişıq applications: {items}")
APPLICATION_ITEM: Final = N_("{number} {status} ({date})")
DEBTS: Final = N_("Azərişıq unpaid acts: {items}")
DEBT_ITEM: Final = N_("{number} {amount} AZN, pay by {due}")
MORE: Final = N_("+{count} more")
STOPPED: Final = N_("Azərişıq: SMS notices are off. Send START to turn them on again.")
STARTED: Final = N_("Azərişıq: SMS notices are on. Send STOP to turn them off.")
LIMITED: Final = N_("Azərişıq: too many queries. Please write again in an hour.")


def short_date(day: date, locale: str) -> str:
    return format_date(day, "dd.MM.yyyy", locale=locale)


def sms_money(amount: Decimal, locale: str) -> str:
    return format_decimal(amount, format="#,##0.00", locale=locale)


def finish(text: str, transliterate: bool) -> str:
    return to_gsm7(text) if transliterate else text


def fits(text: str) -> bool:
    return sms_size(text).segments <= 1


def listing(template: str, items: Sequence[str], locale: str, *, transliterate: bool) -> str:
    """``template`` with as many ``items`` as fit one segment, then "+N more"."""

    def text(shown: int) -> str:
        left = len(items) - shown
        tail = [translate(MORE, locale).format(count=left)] if left else []
        return finish(template_text(template, [*items[:shown], *tail], locale), transliterate)

    shown = 1  # the first item always goes, even if a very long number needs two segments
    while shown < len(items) and fits(text(shown + 1)):
        shown += 1
    return text(shown)


def template_text(template: str, items: Sequence[str], locale: str) -> str:
    return translate(template, locale).format(items="; ".join(items))


def simple(message: str, locale: str, *, transliterate: bool) -> str:
    return finish(translate(message, locale), transliterate)


def applications_reply(found: Sequence[Application], locale: str, *, transliterate: bool) -> str:
    if not found:
        return simple(NOTHING_FOUND, locale, transliterate=transliterate)
    items = [
        translate(APPLICATION_ITEM, locale).format(
            number=application.number,
            status=status_label(application.status, locale),
            date=short_date(baku_day(application.status_changed_at), locale),
        )
        for application in found
    ]
    return listing(APPLICATIONS, items, locale, transliterate=transliterate)


def debts_reply(found: Sequence[ViolationAct], locale: str, *, transliterate: bool) -> str:
    if not found:
        return simple(NO_DEBT, locale, transliterate=transliterate)
    items = [
        translate(DEBT_ITEM, locale).format(
            number=act.number,
            amount=sms_money(acts.outstanding(act), locale),
            due=short_date(act.due_on, locale),
        )
        for act in found
    ]
    return listing(DEBTS, items, locale, transliterate=transliterate)
