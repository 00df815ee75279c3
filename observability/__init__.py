"""What the running bot counts, for ``GET /metrics`` (Prometheus text format).

Counters and histograms are updated where things happen (the update processor, the outbox
dispatcher); the gauges that describe the database (outbox depth, broadcast progress) are read
from it when ``/metrics`` is scraped, so they are right whichever process did the work.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY: Final = CollectorRegistry(auto_describe=True)

UPDATES: Final = Counter(
    "azerishiq_updates_handled",
    "Telegram updates handled, by outcome",
    ["outcome"],
    registry=REGISTRY,
)
UPDATE_SECONDS: Final = Histogram(
    "azerishiq_update_handling_seconds",
    "Time from taking an update to having handled and persisted it",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
DELIVERIES: Final = Counter(
    "azerishiq_deliveries",
    "Outbox messages handled by this process's dispatcher, by channel and result",
    ["channel", "result"],
    registry=REGISTRY,
)
TELEGRAM_FLOOD_WAITS: Final = Counter(
    "azerishiq_telegram_flood_waits",
    "429 answers (flood waits) from the Bot API to this process",
    registry=REGISTRY,
)
TELEGRAM_TURN_SECONDS: Final = Histogram(
    "azerishiq_telegram_turn_wait_seconds",
    "Time a message waited in the Telegram governor for its turn, by priority",
    ["priority"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
OUTBOX_DEPTH: Final = Gauge(
    "azerishiq_outbox_messages",
    "Outbox rows by channel and status (read from the database at scrape time)",
    ["channel", "status"],
    registry=REGISTRY,
)
BROADCAST_REMAINING: Final = Gauge(
    "azerishiq_broadcast_remaining",
    "Messages of running broadcasts not yet sent (read at scrape time)",
    ["broadcast"],
    registry=REGISTRY,
)
BROADCAST_SENT: Final = Gauge(
    "azerishiq_broadcast_sent",
    "Messages of running broadcasts sent so far (read at scrape time)",
    ["broadcast"],
    registry=REGISTRY,
)
INBOX_QUARANTINED: Final = Counter(
    "azerishiq_inbox_quarantined",
    "Telegram updates set aside instead of handled: unreadable, or failing on every attempt",
    ["reason"],
    registry=REGISTRY,
)
INBOX_UPDATES: Final = Gauge(
    "azerishiq_inbox_updates",
    "Rows of the update inbox by status (read from the database at scrape time)",
    ["status"],
    registry=REGISTRY,
)
SMS_CODES: Final = Counter(
    "azerishiq_sms_codes",
    "Verification codes asked for in this process, by result: sent, decoy (acts: a number not "
    "on file, no SMS), too_soon, or the cap that refused (account_numbers, account_codes, "
    "phone_codes, daily_budget)",
    ["result"],
    registry=REGISTRY,
)
SMS_CODES_SENT_TODAY: Final = Gauge(
    "azerishiq_sms_codes_sent_today",
    "Verification SMS sent since 00:00 Baku time by all processes (read at scrape time)",
    registry=REGISTRY,
)
SMS_CODES_DAILY_BUDGET: Final = Gauge(
    "azerishiq_sms_codes_daily_budget",
    "The day's budget of verification SMS (SMS_CODES_DAILY_BUDGET)",
    registry=REGISTRY,
)
