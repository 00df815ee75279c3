"""The button on a staff message about an objection: it opens the answer dialogue."""

from __future__ import annotations

from typing import Final

from i18n import N_, translate

#: ``oa:ET-2026-000123`` (handlers/objection_answers.py answers it; 64 bytes is far off).
ANSWER_CALLBACK: Final = "oa:"
ANSWER_BUTTON: Final = N_("Answer the objection")


def answer_buttons(receipt: str, locale: str) -> dict[str, list[list[dict[str, str]]]]:
    """The outbox payload's ``buttons`` (delivery/dispatcher.py) for this objection."""
    label = translate(ANSWER_BUTTON, locale)
    return {"buttons": [[{"text": label, "callback_data": ANSWER_CALLBACK + receipt}]]}
