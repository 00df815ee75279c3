"""How every staff-API route writes its values: the path prefix, instants (UTC, ``Z``), amounts
(plain decimal text, never a float) and a row of a status history (an application's or an
act's)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from storage.models import StatusChangeRow

PREFIX: Final = "/api"


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def history_item(change: StatusChangeRow) -> dict[str, Any]:
    """A row of a status history, an application's or an act's."""
    return {
        "from_status": change.from_status,
        "to_status": change.to_status,
        "actor": change.actor,
        "comment": change.comment,
        "changed_at": timestamp(change.changed_at),
    }


def decimal_text(value: Decimal) -> str:
    return format(value, "f")
