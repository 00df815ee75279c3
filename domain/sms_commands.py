"""What a text message asks for: ``STATUS [QM-2026-000123]``, ``AKT``/``BORC``, ``KOMEK``/``HELP``,
``STOP``/``DAYAN``, ``START`` — in Azerbaijani (with or without ə ş ç …), Russian or English.

Case, extra spaces and punctuation do not matter; anything else is a request for help. The
keyword's language, when it has one, is the language of the answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class SmsCommand(StrEnum):
    STATUS = "status"
    DEBT = "debt"
    HELP = "help"
    STOP = "stop"
    START = "start"


@dataclass(frozen=True, slots=True)
class SmsRequest:
    command: SmsCommand
    application_number: str | None = None  # STATUS QM-…: that one application
    locale: str | None = None  # the keyword's language; None when it is shared or unknown


# Folded keyword → (command, language). Folding drops case and Azerbaijani/Russian diacritics.
KEYWORDS: Final[dict[str, tuple[SmsCommand, str | None]]] = {
    "status": (SmsCommand.STATUS, None),
    "veziyyet": (SmsCommand.STATUS, "az"),
    "статус": (SmsCommand.STATUS, "ru"),
    "akt": (SmsCommand.DEBT, "az"),
    "aktlar": (SmsCommand.DEBT, "az"),
    "borc": (SmsCommand.DEBT, "az"),
    "borcum": (SmsCommand.DEBT, "az"),
    "act": (SmsCommand.DEBT, "en"),
    "acts": (SmsCommand.DEBT, "en"),
    "debt": (SmsCommand.DEBT, "en"),
    "акт": (SmsCommand.DEBT, "ru"),
    "акты": (SmsCommand.DEBT, "ru"),
    "долг": (SmsCommand.DEBT, "ru"),
    "komek": (SmsCommand.HELP, "az"),
    "help": (SmsCommand.HELP, "en"),
    "помощь": (SmsCommand.HELP, "ru"),
    "stop": (SmsCommand.STOP, None),
    "dayan": (SmsCommand.STOP, "az"),
    "стоп": (SmsCommand.STOP, "ru"),
    "start": (SmsCommand.START, None),
    "basla": (SmsCommand.START, "az"),
    "старт": (SmsCommand.START, "ru"),
}

_AZ_FOLD: Final = str.maketrans({"ə": "e", "ı": "i", "ş": "s", "ç": "c", "ğ": "g", "ö": "o",
                                 "ü": "u", "ё": "е"})  # fmt: skip
_NOT_WORD: Final = re.compile(r"[^\w]+")
_APPLICATION: Final = re.compile(r"QM(\d{4})(\d{6})")
TEXT_MAX: Final = 1600  # ten segments: longer bodies are not commands


def fold(text: str) -> str:
    """Lower case without marks: ``KÖMƏK`` → ``komek``, ``İ`` → ``i``, ``Ё`` → ``е``."""
    lowered = text.casefold().translate(_AZ_FOLD)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def parse_sms(text: str) -> SmsRequest:
    words = _NOT_WORD.sub(" ", fold(text[:TEXT_MAX])).split()
    if not words or words[0] not in KEYWORDS:
        return SmsRequest(SmsCommand.HELP)
    command, locale = KEYWORDS[words[0]]
    rest = words[1:]
    if command == SmsCommand.STATUS and rest:
        number = _APPLICATION.fullmatch("".join(rest).upper())
        if number is None:
            return SmsRequest(SmsCommand.HELP, locale=locale)
        return SmsRequest(command, f"QM-{number[1]}-{number[2]}", locale)
    if rest:
        return SmsRequest(SmsCommand.HELP, locale=locale)
    return SmsRequest(command, locale=locale)
