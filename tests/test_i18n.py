"""Catalogs: complete in az and ru, in sync with the code, and formatting in Baku time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import i18n

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "handlers", "conversations", "chat", "delivery", "domain", "i18n")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extracted_ids() -> set[str]:
    ids: set[str] = set()
    for folder in SOURCE_DIRS:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def _first(value: object) -> str:
    if isinstance(value, list | tuple):
        value = value[0]
    return str(value or "")


def catalog(locale: str) -> dict[str, str]:
    path = ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po_file:
        parsed = read_po(po_file, locale=locale)
    return {_first(m.id): _first(m.string) for m in parsed if m.id and not m.fuzzy}


def test_source_has_messages() -> None:
    assert "Connection request" in extracted_ids()


@pytest.mark.parametrize("locale", ["az", "ru"])
def test_every_message_is_translated(locale: str) -> None:
    translated = catalog(locale)
    missing = sorted(mid for mid in extracted_ids() if not translated.get(mid))
    assert not missing, (
        f"{len(missing)} message(s) lack a {locale} translation; run the catalog update "
        f"from the README and translate them: {missing}"
    )


@pytest.mark.parametrize("locale", ["az", "ru", "en"])
def test_catalog_has_no_obsolete_messages(locale: str) -> None:
    stale = sorted(set(catalog(locale)) - extracted_ids())
    assert not stale, f"{locale} catalog has messages no code uses any more: {stale}"


def test_translation_follows_the_current_locale() -> None:
    with i18n.use_locale("az"):
        assert i18n.gettext("Connection request") == "Qoşulma müraciəti"
    with i18n.use_locale("ru"):
        assert i18n.gettext("Connection request") == "Заявка на подключение"
    with i18n.use_locale("en"):
        assert i18n.gettext("Connection request") == "Connection request"


@pytest.mark.parametrize(
    ("saved", "client", "expected"),
    [
        ("ru", "en", "ru"),
        (None, "ru-RU", "ru"),
        (None, "en", "en"),
        (None, "de", "az"),
        (None, None, "az"),
        ("xx", "en", "en"),
    ],
)
def test_resolve_locale(saved: str | None, client: str | None, expected: str) -> None:
    assert i18n.resolve_locale(saved, client) == expected


def test_money_is_manat_in_each_locale() -> None:
    assert i18n.format_money(Decimal("1234.5"), "az") == "1.234,50\xa0₼"
    assert i18n.format_money(Decimal("1234.5"), "ru").replace("\xa0", " ") == "1 234,50 AZN"


def test_times_are_shown_in_baku() -> None:
    moment = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 00:30 next day in Baku (UTC+4)
    assert i18n.format_datetime(moment, "az") == "24 noyabr 2026, 00:30"
    assert i18n.format_date(date(2026, 1, 5), "ru") == "5 января 2026"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        i18n.format_datetime(datetime(2026, 1, 1), "az")
