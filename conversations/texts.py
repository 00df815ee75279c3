"""Texts the dialogues share: why an answer was refused, the answer given before."""

from __future__ import annotations

from typing import Final

from i18n import N_, _

#: Under a question asked again («Geri», «Düzəliş et»), with a ✓ button that keeps the answer.
EARLIER_ANSWER: Final = N_("Your earlier answer: {value}. Press ✓ to keep it, or send a new one.")

# Why an answer was refused, by the `reason` the domain gives.
REASONS: Final[dict[str, str]] = {
    "empty": N_("The answer is empty."),
    "too_long": N_("The answer is too long."),
    "too_short": N_("The answer is too short."),
    "characters": N_("The answer has characters that cannot be used here."),
    "length": N_("The FIN has exactly 7 characters."),
    "forbidden_letters": N_("A FIN never contains the letters I or O; check the 1 and 0 digits."),
    "format": N_("The format is not right."),
    "id_card_format": N_(
        "An ID card number is AA and 7 digits (AA1234567), or AZE and 8 digits on an old card "
        "(AZE12345678); a residence permit is MYİ or DYİ and 7 digits."
    ),
    "not_a_number": N_("Please write a number, e.g. 7.5."),
    "not_positive": N_("The power must be more than 0 kW."),
    "precision": N_("Please give the power with at most one decimal, e.g. 7.5."),
    "not_mobile": N_("This is not a mobile number. Please give an active mobile number."),
    "not_azerbaijani": N_("Please give an Azerbaijani mobile number (+994)."),
    "invalid": N_("This is not a valid value."),
}


def reason_text(error: Exception) -> str:
    reason = getattr(error, "reason", "invalid")
    return _(REASONS.get(reason, REASONS["invalid"]))
