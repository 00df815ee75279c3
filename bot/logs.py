"""Logging: plain or one JSON object per line, always with personal data masked.

Lines an outsider can repeat at will are written at most once a minute per kind
(observability/log_limits.py; aiohttp's malformed-request lines too, by a filter the HTTP
server installs); loggers that repeat themselves are kept at WARNING.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Final

from domain.privacy import mask_personal_data

#: Loggers that repeat themselves: httpx logs every Bot API call (with the token in the URL),
#: apscheduler every run of a job (the inbox sweep runs every few seconds).
QUIET_LOGGERS: Final = ("httpx", "aiohttp.access", "apscheduler.executors", "apscheduler.scheduler")


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
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
