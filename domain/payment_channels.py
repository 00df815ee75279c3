"""Where citizens pay, and with which reference (REFERENCE.md §10).

The channels are data the company edits (:data:`DEFAULT_CHANNELS_FILE`)::

    title, source
    [[channels]]  id, for = ["connection" | "act" | "bill", ...], confidence, [source]
      [channels.names]  az, ru, en      (what the channel is called)
      [channels.how]    az, ru, en      (how one pays there, in a few words)

The reference on every payment is the application number (connection fee) or the subscriber
code with the act number (acts): :func:`connection_reference`, :func:`act_reference`, and
:func:`parse_reference` for what a payment gateway sends back.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from domain.rule_data import RuleReader, read_rule_file

DEFAULT_CHANNELS_FILE: Final[Path] = (
    Path(__file__).resolve().parent / "data" / "payments" / "channels.toml"
)
LOCALES: Final = ("az", "ru", "en")
Purpose = Literal["connection", "act", "bill"]
PURPOSES: Final[tuple[Purpose, ...]] = ("connection", "act", "bill")

_APPLICATION = re.compile(r"QM-\d{4}-\d{6}")
_ACT = re.compile(r"(\d{15})-([A-Za-z0-9][A-Za-z0-9/-]{0,31})")


@dataclass(frozen=True, slots=True)
class PaymentChannel:
    id: str
    purposes: frozenset[str]
    confidence: str
    names: tuple[tuple[str, str], ...]  # (locale, name)
    how: tuple[tuple[str, str], ...]  # (locale, how one pays there)

    def name(self, locale: str) -> str:
        return dict(self.names).get(locale) or dict(self.names)["az"]

    def how_to(self, locale: str) -> str:
        return dict(self.how).get(locale) or dict(self.how)["az"]


@dataclass(frozen=True, slots=True)
class PaymentChannels:
    channels: tuple[PaymentChannel, ...]

    def for_purpose(self, purpose: Purpose) -> tuple[PaymentChannel, ...]:
        return tuple(channel for channel in self.channels if purpose in channel.purposes)


def load_channels(path: Path) -> PaymentChannels:
    """Read a channels file; a ValueError names the file and the key."""
    r = read_rule_file(path)
    r.text("title")
    r.text("source")
    channels = tuple(_channel(item) for item in r.tables("channels"))
    r.finish()
    ids = [channel.id for channel in channels]
    if len(set(ids)) != len(ids):
        r.fail("channels", "two channels have the same id")
    for purpose in ("connection", "act"):
        if not any(purpose in channel.purposes for channel in channels):
            r.fail("channels", f"no channel is for {purpose!r}")
    return PaymentChannels(channels)


def _channel(r: RuleReader) -> PaymentChannel:
    purposes = r.strings("for")
    for purpose in purposes:
        if purpose not in PURPOSES:
            r.fail("for", f"must list some of {', '.join(PURPOSES)}, not {purpose!r}")
    channel = PaymentChannel(
        id=r.text("id"),
        purposes=frozenset(purposes),
        confidence=r.confidence("confidence"),
        names=_per_locale(r, "names"),
        how=_per_locale(r, "how"),
    )
    if r.has("source"):
        r.text("source")
    r.finish()
    return channel


def _per_locale(r: RuleReader, key: str) -> tuple[tuple[str, str], ...]:
    table = r.table(key)
    texts = tuple((locale, table.text(locale)) for locale in LOCALES)
    table.finish()
    return texts


@functools.cache
def default_channels() -> PaymentChannels:
    """The channels of :data:`DEFAULT_CHANNELS_FILE`, loaded once (``cache_clear()`` to reload)."""
    return load_channels(DEFAULT_CHANNELS_FILE)


# --------------------------------------------------------------------------- references


@dataclass(frozen=True, slots=True)
class Reference:
    """What a payment is for: an application (``act`` None) or an act of a subscriber code."""

    purpose: Purpose
    number: str  # the application number, or the act number
    subscriber_code: str | None = None

    def __str__(self) -> str:
        if self.subscriber_code is None:
            return self.number
        return f"{self.subscriber_code}-{self.number}"


def connection_reference(application_number: str) -> Reference:
    return Reference("connection", application_number)


def act_reference(subscriber_code: str, act_number: str) -> Reference:
    return Reference("act", act_number, subscriber_code)


def parse_reference(text: str) -> Reference | None:
    """``QM-2026-000123`` or ``<15-digit code>-<act number>``; None for anything else."""
    text = text.strip()
    if _APPLICATION.fullmatch(text.upper()):
        return connection_reference(text.upper())
    match = _ACT.fullmatch(text)
    if match:
        return act_reference(match.group(1), match.group(2))
    return None
