"""Parsing and normalising what people type: names, FIN, ID card, power, phone, e-mail, registry.

Every parser takes any ``str`` and either returns the normalised value or raises
:class:`IdentifierError` whose ``reason`` the UI maps to a translated message. No other exception
escapes, whatever the input (emoji, NUL, bidi marks, thousands of characters). Formats and their
confidence: REFERENCE.md §6.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # both are imported where used: a start-up needs neither (bench/startup.py)
    import phonenumbers

__all__ = [
    "IdentifierError",
    "az_lower",
    "az_title_word",
    "az_upper",
    "parse_email",
    "parse_fin",
    "parse_id_card",
    "parse_mobile_phone",
    "parse_person_name",
    "parse_power_kw",
    "parse_registry_number",
]


class IdentifierError(ValueError):
    """Input rejected; ``reason`` is a stable key (``"format"``, ``"too_long"`` …) for the UI."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Invisible marks that copy-paste brings along (bidi controls, zero-width space, BOM). They carry
# no information in any of these fields, so they are removed rather than rejected.
_INVISIBLE: Final = dict.fromkeys(
    map(ord, "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"),
    None,
)


def _clean(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII) without invisible marks."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


# ----------------------------------------------------------------------------- case


def az_upper(text: str) -> str:
    """Upper case the Azerbaijani way: ``i`` → ``İ``, ``ı`` → ``I``; other letters as usual."""
    return text.replace("i", "İ").replace("ı", "I").upper()


def az_lower(text: str) -> str:
    """Lower case the Azerbaijani way: ``I`` → ``ı``, ``İ`` → ``i`` (not ``i̇`` as in Python)."""
    return text.replace("I", "ı").replace("İ", "i").lower()


def _capitalise(part: str) -> str:
    if not part:
        return part
    head, rest = part[0], part[1:]
    # Mixed case after the first letter ("McDonald") is kept as typed; otherwise the rest is
    # lowered, so "MƏMMƏDOVA" and "iLQAR" both come out right.
    mixed = any(c.isupper() for c in rest) and any(c.islower() for c in rest)
    return az_upper(head) + (rest if mixed else az_lower(rest))


def az_title_word(word: str) -> str:
    """Capitalise one word the Azerbaijani way ("ilqar" → "İlqar", "ılğar" → "Ilğar").

    Each hyphen-separated part is capitalised ("əliyeva-məmmədova" → "Əliyeva-Məmmədova");
    a letter after an apostrophe is not.
    """
    return "-".join(_capitalise(part) for part in word.split("-"))


# ----------------------------------------------------------------------------- person name

NAME_MIN: Final = 2
NAME_MAX: Final = 40
_APOSTROPHES: Final = frozenset("'’ʼ")


def _is_name_letter(char: str) -> bool:
    return char not in _APOSTROPHES and unicodedata.category(char)[0] in "LM"


# "Elçin qızı", "Rəşid oğlu": the patronymic's second word stays lower-case.
_PATRONYMIC_SUFFIXES: Final = frozenset({"qızı", "oğlu", "qizi", "oglu"})


def parse_person_name(text: str) -> str:
    """A first name, surname or patronymic: letters of any script, space, hyphen, apostrophe.

    Spaces are collapsed and each word capitalised the Azerbaijani way. Every word must start and
    end with a letter, with single hyphens or apostrophes only between letters.
    """
    words = _clean(text).split()
    if not words:
        raise IdentifierError("empty")
    name = " ".join(words)
    if len(name) > NAME_MAX:
        raise IdentifierError("too_long")
    for word in words:
        previous = ""
        for char in word:
            if _is_name_letter(char):
                if unicodedata.category(char)[0] == "M" and not previous:
                    raise IdentifierError("characters")  # a combining mark with no letter
            elif char == "-" or char in _APOSTROPHES:
                if not previous or not _is_name_letter(previous):
                    raise IdentifierError("characters")
            else:
                raise IdentifierError("characters")
            previous = char
        if not _is_name_letter(previous):
            raise IdentifierError("characters")
    if sum(1 for c in name if unicodedata.category(c)[0] == "L") < NAME_MIN:
        raise IdentifierError("too_short")
    return " ".join(
        az_lower(word) if az_lower(word) in _PATRONYMIC_SUFFIXES else az_title_word(word)
        for word in words
    )


# ----------------------------------------------------------------------------- FIN and ID card

_FIN_RE: Final = re.compile(r"[0-9A-HJ-NP-Z]{7}")


def parse_fin(text: str) -> str:
    """FIN (personal identification number): 7 of ``0-9`` and ``A-Z`` without I and O."""
    compact = "".join(_clean(text).split())
    if not compact:
        raise IdentifierError("empty")
    if len(compact) != 7:
        raise IdentifierError("length")
    fin = compact.upper()
    if any(c in "IOİ" for c in fin):
        raise IdentifierError("forbidden_letters")
    if not _FIN_RE.fullmatch(fin):
        raise IdentifierError("characters")
    return fin


# New cards (since 1 Sep 2018) "AA" + 7 digits, old cards "AZE" + 8 digits (both likely). The
# permits of foreigners (MYİ: permanent, DYİ: temporary residence) + 7 digits is the least sure:
# the letters are known, the 7 digits are an assumption (REFERENCE.md §6, "likely").
_ID_CARD_RE: Final = re.compile(r"AA[0-9]{7}|AZE[0-9]{8}|(?:MYİ|DYİ)[0-9]{7}")


def parse_id_card(text: str) -> str:
    """Identity card or residence permit number, upper-cased the Azerbaijani way."""
    compact = "".join(_clean(text).split()).replace("-", "")
    if not compact:
        raise IdentifierError("empty")
    number = az_upper(compact)
    if number.startswith(("MYI", "DYI")):  # typed without the dot above İ
        number = number[:2] + "İ" + number[3:]
    if not _ID_CARD_RE.fullmatch(number):
        raise IdentifierError("id_card_format")  # its own reason: the answer says the forms
    return number


# ----------------------------------------------------------------------------- power

POWER_MAX_KW: Final = Decimal(100000)
_POWER_TEXT_MAX: Final = 40
_POWER_UNIT_RE: Final = re.compile(
    r"\s*(?:kvt|kw|квт|kilovat|kilowatt|киловатт|киловат)\.?\s*$", re.IGNORECASE
)
_POWER_NUMBER_RE: Final = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")
_TENTH: Final = Decimal("0.1")


def parse_power_kw(text: str) -> Decimal:
    """Requested power in kW, with at most one decimal: "7,5 kVt" → ``Decimal("7.5")``.

    Only plain decimals are numbers: no exponents, NaN, infinity or thousands separators
    ("1.000,5" is rejected; "1.000" is read as 1 because a single separator is a decimal one).
    """
    cleaned = _clean(text).strip()
    if not cleaned:
        raise IdentifierError("empty")
    if len(cleaned) > _POWER_TEXT_MAX:
        raise IdentifierError("too_long")
    number = _POWER_UNIT_RE.sub("", cleaned)
    if not _POWER_NUMBER_RE.fullmatch(number):
        raise IdentifierError("not_a_number")
    try:
        value = Decimal(number.replace(",", "."))
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only decimals
        raise IdentifierError("not_a_number") from error
    if value <= 0:
        raise IdentifierError("not_positive")
    if value > POWER_MAX_KW:
        raise IdentifierError("too_long")
    rounded = value.quantize(_TENTH)
    if rounded != value:
        raise IdentifierError("precision")
    return rounded if rounded != rounded.to_integral_value() else rounded.quantize(Decimal(1))


# ----------------------------------------------------------------------------- phone and e-mail

PHONE_TEXT_MAX: Final = 40
_PHONE_CHARS_RE: Final = re.compile(r"[0-9+\-(). /]+")


def _parse_phone(text: str) -> phonenumbers.PhoneNumber | None:
    import phonenumbers

    try:
        return phonenumbers.parse(text, "AZ")
    except Exception:  # third-party parser on untrusted input: any failure means "not a number"
        return None


def parse_mobile_phone(text: str) -> str:
    """An Azerbaijani mobile number in E.164 ("+994501234567").

    Accepts the international, local ("050 123 45 67") and Telegram-contact ("994501234567")
    forms. Numbers are portable, so any mobile code libphonenumber knows for AZ is accepted.
    """
    import phonenumbers

    cleaned = _clean(text).strip()
    if not cleaned:
        raise IdentifierError("empty")
    if len(cleaned) > PHONE_TEXT_MAX:
        raise IdentifierError("too_long")
    if not _PHONE_CHARS_RE.fullmatch(cleaned) or not any(c.isdigit() for c in cleaned):
        raise IdentifierError("format")
    number = _parse_phone(cleaned)
    invalid = number is None or not phonenumbers.is_valid_number(number)
    if invalid and cleaned[0] in "123456789":
        # Telegram contacts carry international numbers without the "+".
        number = _parse_phone("+" + cleaned)
    if number is None or not phonenumbers.is_valid_number(number):
        raise IdentifierError("format")
    if phonenumbers.region_code_for_number(number) != "AZ":
        raise IdentifierError("not_azerbaijani")
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        raise IdentifierError("not_mobile")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


EMAIL_MAX: Final = 254


def parse_email(text: str) -> str:
    """An e-mail address, syntax only (no DNS look-up), normalised by email-validator."""
    from email_validator import EmailNotValidError, validate_email

    cleaned = _clean(text).strip()
    if not cleaned:
        raise IdentifierError("empty")
    if len(cleaned) > EMAIL_MAX:
        raise IdentifierError("too_long")
    try:
        return validate_email(cleaned, check_deliverability=False).normalized
    except (EmailNotValidError, UnicodeError, ValueError) as error:
        raise IdentifierError("format") from error


# ----------------------------------------------------------------------------- registry number

REGISTRY_MAX: Final = 30


def parse_registry_number(text: str) -> str:
    """Real-estate registry or registration number; the format is unknown (REFERENCE.md §6).

    Letters, digits, ``-``, ``/`` and ``.`` with single inner spaces, upper-cased the
    Azerbaijani way.
    """
    words = _clean(text).split()
    if not words:
        raise IdentifierError("empty")
    number = az_upper(" ".join(words))
    if len(number) > REGISTRY_MAX:
        raise IdentifierError("too_long")
    for char in number:
        if not (
            char in "-/. "
            or "0" <= char <= "9"
            or (unicodedata.category(char)[0] == "L" and char not in _APOSTROPHES)
        ):
            raise IdentifierError("characters")
    if not any(char.isalnum() for char in number):
        raise IdentifierError("characters")
    return number


# ----------------------------------------------------------------------------- subscriber code

SUBSCRIBER_CODE_DIGITS: Final = 15


def parse_subscriber_code(text: str) -> str:
    """The 15-digit subscriber code (abonent kodu); spaces and dashes between groups forgiven."""
    compact = "".join(_clean(text).split()).replace("-", "")
    if not compact:
        raise IdentifierError("empty")
    if not compact.isascii() or not compact.isdigit():
        raise IdentifierError("characters")
    if len(compact) != SUBSCRIBER_CODE_DIGITS:
        raise IdentifierError("length")
    return compact
