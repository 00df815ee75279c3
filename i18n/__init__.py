"""Translations and local formatting: one place for the citizen's language.

The locale is resolved once per update (saved choice → Telegram ``language_code`` → ``az``)
and kept in a context variable, so every message in that update reads it without passing it
around. Catalogs are the ``.po`` files under ``locales/``, compiled in memory at first use: no
generated binaries in the repository and no build step.

Message ids are English source text and are never f-strings: format after translating.
"""

from __future__ import annotations

import gettext as _gettext
import io
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_currency_symbol

LOCALES: Final = ("az", "ru", "en")
DEFAULT_LOCALE: Final = "az"
BAKU: Final = ZoneInfo("Asia/Baku")
LOCALES_DIR: Final = Path(__file__).resolve().parent.parent / "locales"
DOMAIN: Final = "messages"

LANGUAGE_NAMES: Final = {"az": "Azərbaycanca", "ru": "Русский", "en": "English"}

_current_locale: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


def N_(message: str) -> str:
    """Mark a message for extraction without translating it now."""
    return message


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalog of a locale (the English one is the source text itself)."""
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return _gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


#: Test-only stand-ins for a locale's catalog (see :func:`catalog_stand_in`); empty in service.
_stand_ins: dict[str, _gettext.NullTranslations] = {}


@contextmanager
def catalog_stand_in(locale: str, catalog: _gettext.NullTranslations) -> Iterator[None]:
    """For tests: render ``locale`` from another compiled catalog, e.g. a pseudo-locale whose
    every string is marked, so a test can find text that bypassed gettext. The locale code
    (storage, babel formatting, menus) stays a real one; nothing offers it to citizens."""
    _stand_ins[locale] = catalog
    try:
        yield
    finally:
        _stand_ins.pop(locale, None)


def _catalog(locale: str) -> _gettext.NullTranslations:
    return _stand_ins.get(locale) or translations(locale)


def normalize_locale(code: str | None) -> str | None:
    """``ru-RU`` → ``ru``; None for anything we do not speak."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LOCALES else None


def resolve_locale(saved: str | None, language_code: str | None) -> str:
    """Saved choice, else the Telegram client's language, else Azerbaijani."""
    return normalize_locale(saved) or normalize_locale(language_code) or DEFAULT_LOCALE


def current_locale() -> str:
    return _current_locale.get()


def set_locale(locale: str) -> None:
    """Set the locale for the rest of the current task (one update)."""
    _current_locale.set(normalize_locale(locale) or DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Render in another locale for a block (notices to another citizen, jobs)."""
    token = _current_locale.set(normalize_locale(locale) or DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current_locale.reset(token)


def gettext(message: str) -> str:
    return _catalog(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog(current_locale()).ngettext(singular, plural, n)


def translate(message: str, locale: str) -> str:
    """One message in a named locale, whatever the current one is."""
    return _catalog(normalize_locale(locale) or DEFAULT_LOCALE).gettext(message)


_ = gettext


CURRENCY: Final = "AZN"
#: CLDR's currency spacing (root ``currencySpacing``, which az, ru and en keep): between a
#: currency symbol that ends (or starts) with neither a symbol nor a space and a digit, a
#: no-break space. Babel applies the locale's pattern (``¤#,##0.00`` in English) but not this
#: rule, so English read "AZN300.00"; with it, "AZN 300.00", as ICU writes it.
CURRENCY_SPACE: Final = "\xa0"


def _needs_space(symbol_end: str) -> bool:
    return unicodedata.category(symbol_end)[0] not in "SZ"  # not a symbol (₼, $), not a space


def format_money(amount: Decimal, locale: str | None = None) -> str:
    """Manat amounts as the locale writes them: ``1.234,50 ₼`` (az), ``1 234,50 AZN`` (ru),
    ``AZN 1,234.50`` (en); the spaces are no-break ones."""
    locale = locale or current_locale()
    text = format_currency(amount, CURRENCY, locale=locale)
    symbol = get_currency_symbol(CURRENCY, locale)
    at = text.find(symbol)
    if not symbol or at < 0:
        return text
    before, after = text[:at], text[at + len(symbol) :]
    if after[:1].isdigit() and _needs_space(symbol[-1]):
        after = CURRENCY_SPACE + after
    if before[-1:].isdigit() and _needs_space(symbol[0]):
        before += CURRENCY_SPACE
    return before + symbol + after


def format_number(value: Decimal | int | float, locale: str | None = None) -> str:
    return format_decimal(value, locale=locale or current_locale())


def format_datetime(moment: datetime, locale: str | None = None) -> str:
    """A UTC moment shown in Baku time, e.g. ``23 noyabr 2026, 13:00``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: store and pass times in UTC")
    return _babel_format_datetime(
        moment, "d MMMM y, HH:mm", tzinfo=BAKU, locale=locale or current_locale()
    )


def format_date(day: date, locale: str | None = None) -> str:
    return _babel_format_date(day, "d MMMM y", locale=locale or current_locale())
