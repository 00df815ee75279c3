"""``GET /metrics``: Prometheus text format; database gauges are read at each scrape.

Open by default (local use); with ``METRICS_TOKEN`` set it wants ``Authorization: Bearer
<token>`` (compared in constant time, as bytes) and answers 401 otherwise.
"""

from __future__ import annotations

import hmac
import logging
from typing import Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr

from handlers.health import SERVICES
from observability import (
    BROADCAST_REMAINING,
    BROADCAST_SENT,
    INBOX_UPDATES,
    OUTBOX_DEPTH,
    REGISTRY,
    SMS_CODES_DAILY_BUDGET,
    SMS_CODES_SENT_TODAY,
)
from observability.log_limits import LogLimit
from storage import broadcasts, inbox, outbox, phone_verifications
from storage.db import utcnow
from storage.models import Channel, OutboxStatus

log = logging.getLogger(__name__)

PATH: Final = "/metrics"


async def read_database_gauges(request: web.Request) -> None:
    services = request.app[SERVICES]
    async with services.sessions() as session:
        SMS_CODES_SENT_TODAY.set(await phone_verifications.sent_today(session, utcnow()))
        SMS_CODES_DAILY_BUDGET.set(services.sms_caps.daily_budget)
        counts = await outbox.counts_by_channel_and_status(session)
        for channel in Channel:
            for status in OutboxStatus:
                OUTBOX_DEPTH.labels(channel, status).set(counts.get((channel, status), 0))
        for inbox_status, count in (await inbox.counts(session)).items():
            INBOX_UPDATES.labels(inbox_status).set(count)
        BROADCAST_REMAINING.clear()
        BROADCAST_SENT.clear()
        for broadcast in await broadcasts.active(session):
            progress = await broadcasts.progress(session, broadcast.id)
            BROADCAST_REMAINING.labels(str(broadcast.id)).set(progress.remaining)
            BROADCAST_SENT.labels(str(broadcast.id)).set(progress.sent)


def bearer(request: web.Request) -> bytes | None:
    """The token of ``Authorization: Bearer <token>`` as the bytes received, or None."""
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return given.strip().encode("utf-8", "surrogateescape")


def routes(token: SecretStr | None = None) -> list[web.RouteDef]:
    secret = token.get_secret_value().strip() if token is not None else ""
    expected = secret.encode() if secret else None
    refusals = LogLimit()

    async def metrics(request: web.Request) -> web.Response:
        if expected is not None:
            given = bearer(request)
            if given is None or not hmac.compare_digest(given, expected):
                refusals.warning(
                    log, "metrics-bad-token", "/metrics without a valid token from %s",
                    request.remote,
                )  # fmt: skip
                return web.Response(
                    status=401,
                    text="send Authorization: Bearer <METRICS_TOKEN>\n",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        await read_database_gauges(request)
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get(PATH, metrics, allow_head=False)]
