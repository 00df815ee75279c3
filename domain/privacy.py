"""Masking of personal data in text that leaves a citizen's own conversation (logs)."""

from __future__ import annotations

import re
from typing import Final

# FIN: 7 upper-case letters/digits without I and O, containing at least one digit and one
# letter (so plain words and numbers are left alone).
_FIN: Final = re.compile(
    r"\b(?=[0-9A-HJ-NP-Z]*\d)(?=[0-9A-HJ-NP-Z]*[A-HJ-NP-Z])[0-9A-HJ-NP-Z]{7}\b"
)
_ID_CARD: Final = re.compile(r"\b(?:AA\d{7}|AZE\d{8}|(?:MYİ|DYİ|MYI|DYI)\d{6,8})\b", re.IGNORECASE)
# Phone numbers: +994…, 994…, 0XX… with optional spaces, dashes or brackets.
_PHONE: Final = re.compile(r"(?<![\w+])(?:\+?994|0)[\s\-()]*\d{2}(?:[\s\-()]*\d){7}(?!\d)")
_NAME_FIELD: Final = re.compile(
    r"""(?P<key>['"]?(?:first_name|last_name|patronymic|username|full_name|phone_number|"""
    r"""phone|fin|id_card|email)['"]?\s*[:=]\s*)(?P<value>'[^']*'|"[^"]*"|[^\s,;)}]+)""",
    re.IGNORECASE,
)

MASK: Final = "***"


def mask_personal_data(text: str) -> str:
    """Replace FINs, ID card numbers, phone numbers and named personal fields with ***."""
    text = _NAME_FIELD.sub(lambda m: m.group("key") + MASK, text)
    text = _ID_CARD.sub(MASK, text)
    text = _PHONE.sub(MASK, text)
    return _FIN.sub(MASK, text)
