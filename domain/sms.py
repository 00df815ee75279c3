"""SMS text: transliteration to GSM-7 and segment counting (REFERENCE.md §8).

One letter outside GSM-7 (ə ğ ı İ ş …) turns a whole SMS into UCS-2: 70 characters per
segment instead of 160. Azerbaijani text is therefore transliterated by default, and Russian
(Cyrillic is never GSM-7) is written in Latin letters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# GSM 03.38 basic character set and its extension table (each extension char costs 2 septets).
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION: Final = frozenset("^{}\\[~]|€\f")

# ç is transliterated too: the GSM table has only the capital Ç and phones disagree.
AZ_TO_GSM7: Final = str.maketrans(
    {
        "ə": "e",
        "Ə": "E",
        "ğ": "g",
        "Ğ": "G",
        "ı": "i",
        "İ": "I",
        "ş": "s",
        "Ş": "S",
        "ç": "c",
        "Ç": "C",
        "«": '"',
        "»": '"',
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "—": "-",
        "–": "-",
        "…": "...",
        "№": "No",
        "₼": "AZN",
        "\u00a0": " ",
        "\u202f": " ",
    }
)

# Russian in Latin letters (a simple, readable scheme close to ICAO/passport transliteration).
_RU: Final = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
RU_TO_GSM7: Final = str.maketrans(
    {**_RU, **{upper: latin.capitalize() for lower, latin in _RU.items()
               if (upper := lower.upper()) != lower}}
)  # fmt: skip

SINGLE_LIMITS: Final = {"gsm7": 160, "ucs2": 70}
MULTI_LIMITS: Final = {"gsm7": 153, "ucs2": 67}


def transliterate(text: str) -> str:
    """Azerbaijani, Russian and typographic letters replaced by their closest GSM-7 letters."""
    return text.translate(AZ_TO_GSM7).translate(RU_TO_GSM7)


@dataclass(frozen=True, slots=True)
class SmsSize:
    encoding: Literal["gsm7", "ucs2"]
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def sms_size(text: str) -> SmsSize:
    """How a gateway will encode ``text`` and how many segments it will bill."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        encoding: Literal["gsm7", "ucs2"] = "gsm7"
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
    else:
        encoding = "ucs2"
        units = len(text.encode("utf-16-le")) // 2
    if units <= SINGLE_LIMITS[encoding]:
        return SmsSize(encoding, units, 1 if units else 0)
    per_part = MULTI_LIMITS[encoding]
    return SmsSize(encoding, units, -(-units // per_part))
