"""A refused status change: one shape for every lifecycle (applications, violation acts)."""

from __future__ import annotations

from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)


class TransitionError(ValueError, Generic[S]):
    """Why ``current`` may not change to ``target``; ``reason`` is a stable code (the staff
    API's ``error``), from the lifecycle's own list."""

    def __init__(self, reason: str, current: S, target: str) -> None:
        super().__init__(f"{reason}: {current} → {target}")
        self.reason = reason
        self.current = current
        self.target = target
