"""The payment channels file (REFERENCE.md §10) and payment references: pure, no I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.payment_channels import (
    DEFAULT_CHANNELS_FILE,
    act_reference,
    connection_reference,
    default_channels,
    load_channels,
    parse_reference,
)


def test_the_shipped_file_has_the_reference_channels_in_three_languages() -> None:
    channels = default_channels()
    ids = {channel.id for channel in channels.channels}
    assert {"egov-portal", "asan", "azerishiq-app", "bank-transfer", "payment-terminals"} <= ids
    assert [c.id for c in channels.for_purpose("connection")] == ["egov-portal", "asan"]
    assert [c.id for c in channels.for_purpose("act")] == [
        "azerishiq-app", "bank-transfer", "payment-terminals",
    ]  # fmt: skip
    for channel in channels.channels:
        assert channel.confidence in ("confirmed", "likely", "unknown")
        for locale in ("az", "ru", "en"):
            assert channel.name(locale) and channel.how_to(locale)
    terminals = next(c for c in channels.channels if c.id == "payment-terminals")
    assert "komissiya yoxdur" in terminals.how_to("az")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "channels.toml"
    path.write_text(text, encoding="utf-8")
    return path


CHANNEL = """
[[channels]]
id = "{id}"
for = [{purposes}]
confidence = "{confidence}"
[channels.names]
az = "A"
ru = "Б"
en = "C"
[channels.how]
az = "a"
ru = "б"
en = "c"
"""
HEAD = 'title = "t"\nsource = "s"\n'


def test_a_company_edit_is_read(tmp_path: Path) -> None:
    text = HEAD + "".join(
        CHANNEL.format(id=i, purposes=p, confidence="likely")
        for i, p in (("kiosk", '"connection"'), ("bank", '"act", "connection"'))
    )
    channels = load_channels(write(tmp_path, text))
    assert [c.id for c in channels.for_purpose("connection")] == ["kiosk", "bank"]
    assert [c.id for c in channels.for_purpose("act")] == ["bank"]


@pytest.mark.parametrize(
    ("channel", "complaint"),
    [
        (CHANNEL.format(id="x", purposes='"act", "connection"', confidence="sure"), "confidence"),
        (CHANNEL.format(id="x", purposes='"tips"', confidence="likely"), "for"),
        (CHANNEL.format(id="x", purposes='"act"', confidence="likely"), "no channel is for"),
        (CHANNEL.replace('ru = "Б"\n', ""), "names.ru"),
    ],
)
def test_a_bad_file_names_the_file_and_the_key(
    tmp_path: Path, channel: str, complaint: str
) -> None:
    if "{id}" in channel:
        channel = channel.format(id="x", purposes='"act", "connection"', confidence="likely")
    with pytest.raises(ValueError, match=complaint) as raised:
        load_channels(write(tmp_path, HEAD + channel))
    assert str(tmp_path) in str(raised.value)


def test_the_shipped_file_is_the_default() -> None:
    assert load_channels(DEFAULT_CHANNELS_FILE) == default_channels()


def test_references_round_trip() -> None:
    assert str(connection_reference("QM-2026-000123")) == "QM-2026-000123"
    act = act_reference("100200300400500", "AKT-2026-0042")
    assert str(act) == "100200300400500-AKT-2026-0042"
    assert parse_reference(str(act)) == act
    assert parse_reference(" qm-2026-000123 ") == connection_reference("QM-2026-000123")
    for bad in ("", "QM-2026-12", "12345-AKT-1", "100200300400500-", "x" * 80):
        assert parse_reference(bad) is None, bad
