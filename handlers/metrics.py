"""``GET /metrics``: Prometheus text format; database gauges are read at each scrape."""

from __future__ import annotations

from typing import Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

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
from storage import broadcasts, inbox, phone_verifications
from storage.db import utcnow
from storage.models import Channel, OutboxMessage, OutboxStatus

PATH: Final = "/metrics"


async def read_database_gauges(request: web.Request) -> None:
    services = request.app[SERVICES]
    async with services.sessions() as session:
        SMS_CODES_SENT_TODAY.set(await phone_verifications.sent_today(session, utcnow()))
        SMS_CODES_DAILY_BUDGET.set(services.sms_caps.daily_budget)
        rows = await session.execute(
            select(OutboxMessage.channel, OutboxMessage.status, func.count()).group_by(
                OutboxMessage.channel, OutboxMessage.status
            )
        )
        counts = {(channel, status): int(n) for channel, status, n in rows.all()}
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


async def metrics(request: web.Request) -> web.Response:
    await read_database_gauges(request)
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, metrics, allow_head=False)]
