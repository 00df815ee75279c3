"""Reading rule data files (TOML): typed access where every complaint names the file and key.

Shared by the dated rule sets in `domain/` (connection fees, tariffs, recalculation).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal, NoReturn, cast

Confidence = Literal["confirmed", "likely", "unknown"]
# How sure a figure is (REFERENCE.md): an official or two sources, one source, not found.
CONFIDENCES: Final[tuple[Confidence, ...]] = ("confirmed", "likely", "unknown")


class RuleReader:
    """Typed access to one TOML table; every complaint names the file and the key."""

    def __init__(self, data: Mapping[str, object], path: Path, where: str = "") -> None:
        self._data = data
        self._path = path
        self._where = where
        self._used: set[str] = set()

    def fail(self, key: str, message: str) -> NoReturn:
        place = ".".join(part for part in (self._where, key) if part)
        raise ValueError(f"{self._path}: {place}: {message}")

    def has(self, key: str) -> bool:
        self._used.add(key)
        return key in self._data

    def finish(self) -> None:
        unknown = sorted(set(self._data) - self._used)
        if unknown:
            self.fail(unknown[0], "unknown key (a typo?)")

    def _get(self, key: str) -> object:
        if not self.has(key):
            self.fail(key, "is missing")
        return self._data[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"must be a non-empty string, not {value!r}")
        return value.strip()

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in options:
            self.fail(key, f"must be one of {', '.join(options)}, not {value!r}")
        return value

    def confidence(self, key: str) -> str:
        return self.choice(key, CONFIDENCES)

    def number(self, key: str, *, positive: bool = False) -> Decimal:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.fail(key, f"must be a number, not {value!r}")
        number = Decimal(value)
        if not number.is_finite() or number < 0 or (positive and number == 0):
            self.fail(key, f"must be a {'positive' if positive else 'non-negative'} number")
        return number

    def integer(self, key: str, *, positive: bool = False) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be a whole number, not {value!r}")
        if positive and value <= 0:
            self.fail(key, f"must be positive, not {value}")
        return value

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {value!r}")
        return value

    def day(self, key: str) -> date:
        value = self._get(key)
        if isinstance(value, datetime) or not isinstance(value, date):
            self.fail(key, f"must be a date like 2024-06-03, not {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not value:
            self.fail(key, "must be a non-empty list of strings")
        items = cast(list[object], value)
        if not all(isinstance(item, str) and item.strip() for item in items):
            self.fail(key, "must be a non-empty list of strings")
        return tuple(cast(list[str], items))

    def table(self, key: str) -> RuleReader:
        value = self._get(key)
        if not isinstance(value, dict):
            self.fail(key, "must be a table")
        return RuleReader(cast(dict[str, object], value), self._path, self._place(key))

    def tables(self, key: str) -> list[RuleReader]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(key, "must be a list of tables")
        return [
            RuleReader(cast(dict[str, object], item), self._path, f"{self._place(key)}[{number}]")
            for number, item in enumerate(cast(list[object], value), start=1)
        ]

    def _place(self, key: str) -> str:
        return f"{self._where}.{key}" if self._where else key


def read_rule_file(path: Path) -> RuleReader:
    """Parse a TOML rule file (floats as Decimal); a ValueError names the file."""
    try:
        with path.open("rb") as file:
            data = tomllib.load(file, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from error
    except OSError as error:
        raise ValueError(f"{path}: cannot be read: {error}") from error
    return RuleReader(data, path)
