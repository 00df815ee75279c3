"""Logging: plain or one JSON object per line, always with personal data masked."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from domain.privacy import mask_personal_data


class MaskingFormatter(logging.Formatter):
    """Formats a record, then masks FINs, ID numbers, phones and name fields in the result."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal_data(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return mask_personal_data(json.dumps(entry, ensure_ascii=False))


def configure(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # httpx logs every Bot API call (with the token in the URL) at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
