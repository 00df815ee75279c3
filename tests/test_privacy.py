"""Personal data never reaches the logs."""

from __future__ import annotations

import pytest

from domain.privacy import MASK, mask_personal_data


@pytest.mark.parametrize(
    "secret",
    [
        "5ABCD7K",  # FIN
        "AA1234567",  # new ID card
        "AZE12345678",  # old ID card
        "+994 50 123 45 67",
        "+994501234567",
        "050 123 45 67",
        "0501234567",
        "994 (55) 123-45-67",
    ],
)
def test_identifiers_are_masked(secret: str) -> None:
    masked = mask_personal_data(f"citizen sent {secret} today")
    assert secret not in masked
    assert masked == f"citizen sent {MASK} today"


def test_named_fields_are_masked() -> None:
    text = "{'first_name': 'Əli', 'last_name': \"Məmmədov\", 'username': ali_m, 'id': 42}"
    masked = mask_personal_data(text)
    assert "Əli" not in masked and "Məmmədov" not in masked and "ali_m" not in masked
    assert "'id': 42" in masked


@pytest.mark.parametrize(
    "harmless", ["update 123456789 handled", "year 2026", "HELLO12", "status QM-2026-000123"]
)
def test_ordinary_text_is_left_alone(harmless: str) -> None:
    assert mask_personal_data(harmless) == harmless
