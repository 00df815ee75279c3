"""Hostile bytes at the HTTP door: the webhooks' secret headers holding any bytes are 401 (never
a 500, never a traceback), Twilio's HMAC-SHA256 signatures next to HMAC-SHA1, log lines an
outsider can repeat written at most once a minute, and ``/metrics`` behind an optional token.

Requests go over a plain socket, so the server really receives bytes such as ``\\xff`` that an
HTTP client would refuse to put in a header.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import bot.logs
import handlers.http_api
import handlers.sms_inbound
import handlers.staff_api
from bot.runtime import http_server, make_inbox, make_services
from observability import log_limits
from observability.log_limits import LogLimit
from storage.models import InboxUpdate, SmsInbound
from tests.harness import settings_for
from tests.test_crash_recovery import free_port

SMS_SECRET = "twilio-auth-token"
SHARED_KEY = "twilio-shared-key-secret"
STAFF_TOKEN = "staff-token-0123456789"
TELEGRAM_SECRET = "telegram-webhook-secret"
METRICS_TOKEN = "metrics-token-abc"
# Twilio signs the URL it was given, query string included: so must SMS_WEBHOOK_PUBLIC_URL be.
PUBLIC_URL = "https://bot.azerishiq.example/sms/inbound?gateway=twilio"
PHONE = "+994501234567"
FORM = b"application/x-www-form-urlencoded"
JSON = b"application/json"

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Server:
    port: int
    sessions: Sessions

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def server(engine: AsyncEngine, database_url: str) -> AsyncIterator[Server]:
    """`serve`'s HTTP server with every door open: SMS, staff API, webhook, /metrics."""
    port = free_port()
    config = settings_for(
        database_url,
        http_port=port,
        sms_webhook_secret=SecretStr(SMS_SECRET),
        sms_webhook_shared_key=SecretStr(SHARED_KEY),
        sms_webhook_public_url=PUBLIC_URL,
        staff_api_token=SecretStr(STAFF_TOKEN),
        webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
        webhook_secret_token=SecretStr(TELEGRAM_SECRET),
        metrics_token=SecretStr(METRICS_TOKEN),
    )
    services = make_services(config, engine)
    async with http_server(config, services, make_inbox(config, services)):
        yield Server(port, services.sessions)


async def raw_request(
    port: int,
    path: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes = b"",
    method: bytes = b"POST",
) -> list[int]:
    """Send the bytes as they are; the status of every answer on the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (method, path)
    if method == b"POST":
        head += b"Content-Length: %d\r\n" % len(body)
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    try:
        writer.write(head + b"\r\n" + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return [int(code) for code in re.findall(rb"(?m)^HTTP/1\.[01] (\d{3}) ", answer)]


def twilio_params(sid: str = "SM0001") -> dict[str, str]:
    return {"MessageSid": sid, "From": PHONE, "To": "+9949191", "Body": "KOMEK", "NumMedia": "0"}


def sign_twilio(secret: str, url: str, params: dict[str, str], digest: str = "sha1") -> str:
    """Twilio's scheme, written out here independently of the handler: base64 of the HMAC of
    the URL followed by every parameter name and value, sorted by name."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    mac = hmac.new(secret.encode(), payload.encode(), getattr(hashlib, digest))
    return base64.b64encode(mac.digest()).decode()


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert "Traceback" not in caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def stored(sessions: Sessions, model: type[SmsInbound] | type[InboxUpdate]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --------------------------------------------------------------------------- 1. any bytes


JSON_BODY = b'{"id": "m1", "from": "+994501234567", "text": "STATUS"}'
FORM_BODY = urlencode(twilio_params()).encode()
UPDATE = b'{"update_id": 1}'


@pytest.mark.parametrize(
    ("path", "content_type", "body", "header", "value"),
    [
        (b"/sms/inbound", JSON, JSON_BODY, b"X-Signature", b"sha256=\xff"),
        (b"/sms/inbound", JSON, JSON_BODY, b"X-Signature", b"\xff\xfe"),
        (b"/sms/inbound", JSON, JSON_BODY, b"X-Signature", b"sha256=" + b"0" * 63 + b"\xe9"),
        (b"/sms/inbound", JSON, JSON_BODY, b"X-Signature", "sha256=é".encode()),
        (b"/sms/inbound", FORM, FORM_BODY, b"X-Twilio-Signature", b"abc\xe9"),
        (b"/sms/inbound", FORM, FORM_BODY, b"X-Twilio-Signature", b"\xff"),
        (b"/sms/inbound", FORM, FORM_BODY, b"X-Twilio-Signature", "abcé=".encode()),
        (b"/telegram/webhook", JSON, UPDATE, b"X-Telegram-Bot-Api-Secret-Token", b"\xff"),
        (b"/telegram/webhook", JSON, UPDATE, b"X-Telegram-Bot-Api-Secret-Token", b"sec\xe9"),
        (b"/telegram/webhook", JSON, UPDATE, b"X-Telegram-Bot-Api-Secret-Token", "ə".encode()),
        (b"/api/applications", JSON, b"", b"Authorization", b"Bearer \xff"),
    ],
)  # fmt: skip
async def test_a_secret_header_with_any_bytes_is_401_without_a_traceback(
    server: Server,
    caplog: pytest.LogCaptureFixture,
    path: bytes,
    content_type: bytes,
    body: bytes,
    header: bytes,
    value: bytes,
) -> None:
    method = b"GET" if path.startswith(b"/api") else b"POST"
    headers = [(b"Content-Type", content_type), (header, value)]
    with caplog.at_level(logging.INFO):
        statuses = await raw_request(server.port, path, headers, body, method=method)
    assert statuses == [401]
    no_traceback(caplog)
    assert await stored(server.sessions, SmsInbound) == 0
    assert await stored(server.sessions, InboxUpdate) == 0


@pytest.mark.parametrize("encoding", [b"gzip", b"deflate", b"br"])
@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (b"/sms/inbound", [(b"Content-Type", JSON), (b"X-Signature", b"sha256=00")]),
        (b"/sms/inbound", [(b"Content-Type", FORM), (b"X-Twilio-Signature", b"x")]),
        (b"/telegram/webhook", [(b"Content-Type", JSON),
                                (b"X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET.encode())]),
        (b"/api/applications/QM-2026-000001/status",
         [(b"Content-Type", JSON), (b"Authorization", b"Bearer " + STAFF_TOKEN.encode())]),
    ],
)  # fmt: skip
async def test_a_body_that_does_not_decompress_is_400_without_a_traceback(
    server: Server,
    caplog: pytest.LogCaptureFixture,
    path: bytes,
    headers: list[tuple[bytes, bytes]],
    encoding: bytes,
) -> None:
    """``Content-Encoding`` is a header too: a body that is not what it says is the sender's
    mistake, not a 500."""
    headers = [*headers, (b"Content-Encoding", encoding)]
    with caplog.at_level(logging.INFO):
        statuses = await raw_request(server.port, path, headers, b"not compressed at all")
    assert statuses == [400]
    no_traceback(caplog)
    assert await stored(server.sessions, InboxUpdate) == 0


# A header value as the network may carry it: any bytes, often behind a plausible start.
HEADER_BYTES = st.one_of(
    st.binary(max_size=80),
    st.tuples(st.sampled_from([b"sha256=", b"Bearer ", b"key=KS1,algorithm=", b""]),
              st.binary(max_size=60)).map(b"".join),
)  # fmt: skip
DOORS = [
    (b"POST", b"/sms/inbound", JSON, JSON_BODY, [b"X-Signature"]),
    (b"POST", b"/sms/inbound", FORM, FORM_BODY,
     [b"X-Twilio-Signature", b"X-Twilio-Webhooks-Signature-Settings"]),
    (b"POST", b"/telegram/webhook", JSON, UPDATE, [b"X-Telegram-Bot-Api-Secret-Token"]),
    (b"GET", b"/api/applications", JSON, b"", [b"Authorization"]),
    (b"GET", b"/metrics", JSON, b"", [b"Authorization"]),
]  # fmt: skip


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    door=st.sampled_from(DOORS),
    values=st.lists(HEADER_BYTES, min_size=2, max_size=2),
    content_type=st.one_of(st.none(), HEADER_BYTES),
    encoding=st.one_of(st.none(), st.sampled_from([b"gzip", b"deflate", b"br"]), HEADER_BYTES),
)
async def test_any_bytes_in_the_doors_headers_never_5xx_nor_a_traceback(
    server: Server,
    caplog: pytest.LogCaptureFixture,
    door: tuple[bytes, bytes, bytes, bytes, list[bytes]],
    values: list[bytes],
    content_type: bytes | None,
    encoding: bytes | None,
) -> None:
    method, path, usual_type, body, names = door
    headers = [(b"Content-Type", usual_type if content_type is None else content_type)]
    if encoding is not None:
        headers.append((b"Content-Encoding", encoding))
    headers += list(zip(names, values, strict=False))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        statuses = await raw_request(server.port, path, headers, body, method=method)
    assert statuses and all(status < 500 for status in statuses), (headers, statuses)
    no_traceback(caplog)
    assert await stored(server.sessions, SmsInbound) == 0
    assert await stored(server.sessions, InboxUpdate) == 0


# --------------------------------------------------------------------------- 7. Twilio


def test_twilio_signatures_match_twilios_published_vector_and_its_sha256_twin() -> None:
    """The example of Twilio's own validator tests (auth token 12345): SHA-1 as published;
    SHA-256 is the same text under HMAC-SHA256, here computed by hand."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}  # fmt: skip
    pairs = list(params.items())
    assert handlers.sms_inbound.twilio_signature(b"12345", url, pairs) == (
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )
    assert sign_twilio("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    sha256 = handlers.sms_inbound.twilio_signature(b"12345", url, pairs, "HMAC_SHA256")
    assert sha256 == sign_twilio("12345", url, params, "sha256")
    assert sha256 == "033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s="


async def post_twilio(
    server: Server, params: dict[str, str], signature: str, settings_header: str | None
) -> int:
    headers = {"Content-Type": FORM.decode(), "X-Twilio-Signature": signature}
    if settings_header is not None:
        headers["X-Twilio-Webhooks-Signature-Settings"] = settings_header
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            server.url("/sms/inbound?gateway=twilio"), data=urlencode(params), headers=headers
        ) as reply,
    ):
        return reply.status


SHA256_SETTINGS = "key=KS0123456789abcdef0123456789abcdef,algorithm=HMAC_SHA256"


@pytest.mark.parametrize(
    ("secret", "digest", "settings_header", "expected"),
    [
        (SMS_SECRET, "sha1", None, 200),  # the auth token, as before
        (SHARED_KEY, "sha256", SHA256_SETTINGS, 200),  # a Webhook Setting with HMAC_SHA256
        (SHARED_KEY, "sha1", "key=KS1,algorithm=HMAC_SHA1", 200),  # ... with HMAC_SHA1
        (SHARED_KEY, "sha256", " algorithm = hmac_sha256 , key=KS1", 200),
        (SHARED_KEY, "sha256", None, 401),  # no settings header: the auth token and SHA-1
        (SMS_SECRET, "sha256", SHA256_SETTINGS, 401),  # the shared key signs, not the token
        (SMS_SECRET, "sha1", SHA256_SETTINGS, 401),  # no downgrade to the header's silence
        (SHARED_KEY, "sha1", SHA256_SETTINGS, 401),  # the hash the header names
        (SHARED_KEY, "md5", "key=KS1,algorithm=HMAC_MD5", 401),
        (SHARED_KEY, "sha256", "key=KS1", 401),
        (SHARED_KEY, "sha256", "", 401),
    ],
)
async def test_twilio_hmac_sha256_next_to_hmac_sha1(
    server: Server, secret: str, digest: str, settings_header: str | None, expected: int
) -> None:
    params = twilio_params(f"SM-{digest}-{expected}")
    status = await post_twilio(
        server, params, sign_twilio(secret, PUBLIC_URL, params, digest), settings_header
    )
    assert status == expected
    assert await stored(server.sessions, SmsInbound) == (1 if expected == 200 else 0)


async def test_without_a_shared_key_the_sha256_signature_uses_the_auth_token(
    engine: AsyncEngine, database_url: str
) -> None:
    port = free_port()
    config = settings_for(
        database_url, http_port=port, sms_webhook_secret=SecretStr(SMS_SECRET),
        sms_webhook_public_url=PUBLIC_URL,
    )  # fmt: skip
    services = make_services(config, engine)
    params = twilio_params("SM-token-256")
    async with http_server(config, services, None):
        status = await post_twilio(
            Server(port, services.sessions), params,
            sign_twilio(SMS_SECRET, PUBLIC_URL, params, "sha256"), SHA256_SETTINGS,
        )  # fmt: skip
    assert status == 200


async def test_the_query_string_is_signed_so_it_belongs_in_the_public_url(server: Server) -> None:
    params = twilio_params("SM-no-query")
    without_query = PUBLIC_URL.partition("?")[0]
    status = await post_twilio(server, params, sign_twilio(SMS_SECRET, without_query, params), None)
    assert status == 401


# --------------------------------------------------------------------------- 8. logs


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_log_limit_lets_one_line_a_minute_per_kind_and_counts_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    limit = LogLimit(every=60, clock=clock)
    logger = logging.getLogger("tests.log_limit")
    with caplog.at_level(logging.WARNING, logger="tests.log_limit"):
        for _ in range(100):
            limit.warning(logger, "bad-token", "bad token from %s", "10.0.0.1")
        limit.warning(logger, "bad-signature", "bad signature from %s", "10.0.0.2")
        clock.now += 59.9
        limit.warning(logger, "bad-token", "bad token from %s", "10.0.0.3")
        clock.now += 0.2
        limit.warning(logger, "bad-token", "bad token from %s", "10.0.0.4")
        limit.warning(logger, "bad-token", "bad token from %s", "10.0.0.5")
        clock.now += 61
        limit.warning(logger, "bad-token", "bad token from %s", "10.0.0.6")
    assert [r.getMessage() for r in caplog.records] == [
        "bad token from 10.0.0.1",
        "bad signature from 10.0.0.2",
        "bad token from 10.0.0.4 (100 more like it held back)",
        "bad token from 10.0.0.6 (1 more like it held back)",
    ]


def warnings_of(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


async def test_many_bad_staff_tokens_write_one_line_then_a_count(
    server: Server, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(handlers.http_api, "BAD_TOKENS", LogLimit(clock=clock))
    url = server.url("/api/applications")
    with caplog.at_level(logging.INFO):
        async with aiohttp.ClientSession() as http:
            for attempt in range(60):
                auth = {"Authorization": f"Bearer guess-{attempt}"}
                async with http.get(url, headers=auth) as reply:
                    assert reply.status == 401
            clock.now += 61
            async with http.get(url, headers={"Authorization": "Bearer again"}) as reply:
                assert reply.status == 401
            async with http.get(url, headers={"Authorization": f"Bearer {STAFF_TOKEN}"}) as ok:
                assert ok.status == 200
    assert warnings_of(caplog, "handlers.http_api") == [
        "Staff API call without a valid token from 127.0.0.1",
        "Staff API call without a valid token from 127.0.0.1 (59 more like it held back)",
    ]


async def test_many_bad_webhook_signatures_write_one_line_each_door(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        for attempt in range(40):
            json_door = [(b"Content-Type", JSON), (b"X-Signature", b"sha256=%d" % attempt)]
            twilio_door = [(b"Content-Type", FORM), (b"X-Twilio-Signature", b"x%d" % attempt)]
            telegram = [(b"Content-Type", JSON),
                        (b"X-Telegram-Bot-Api-Secret-Token", b"guess-%d" % attempt)]  # fmt: skip
            for path, headers, body in [
                (b"/sms/inbound", json_door, JSON_BODY),
                (b"/sms/inbound", twilio_door, FORM_BODY),
                (b"/telegram/webhook", telegram, UPDATE),
            ]:
                assert await raw_request(server.port, path, headers, body) == [401]
    assert warnings_of(caplog, "handlers.sms_inbound") == [
        "SMS webhook: bad_signature from 127.0.0.1"
    ]
    assert warnings_of(caplog, "bot.webhook") == [
        "Webhook call with a wrong secret token from 127.0.0.1"
    ]


async def test_malformed_requests_write_one_warning_without_a_traceback(
    server: Server, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_limits.MALFORMED_REQUESTS, "limit", LogLimit())
    with caplog.at_level(logging.INFO):
        for attempt in range(30):
            headers = [(b"X-Junk", b"a\x00b%d" % attempt)]
            assert await raw_request(server.port, b"/healthz", headers, method=b"GET") == [400]
        line = await raw_request(server.port, b"/heal thz", [], method=b"GET")
        assert line == [400]
    no_traceback(caplog)
    [warning] = warnings_of(caplog, "aiohttp.server")
    assert warning.startswith("Malformed HTTP request from 127.0.0.1 (BadHttpMessage")


@contextlib.contextmanager
def saved_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers_before, level_before = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in bot.logs.QUIET_LOGGERS}
    try:
        yield
    finally:
        root.handlers[:] = handlers_before
        root.setLevel(level_before)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_apschedulers_line_per_job_run_is_quiet_at_info() -> None:
    with saved_logging():
        bot.logs.configure("INFO")
        for name in ("apscheduler.executors.default", "apscheduler.scheduler"):
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
            assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
        assert logging.getLogger("bot.runtime").isEnabledFor(logging.INFO)
        bot.logs.configure("ERROR")
        assert not logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.WARNING)


# --------------------------------------------------------------------------- /metrics


async def test_metrics_want_the_token_when_one_is_set(server: Server) -> None:
    for value in [None, b"", b"Bearer", b"Bearer wrong", b"Basic " + METRICS_TOKEN.encode(),
                  b"Bearer " + METRICS_TOKEN.encode() + b"\xff", b"Bearer \xe9"]:  # fmt: skip
        headers = [] if value is None else [(b"Authorization", value)]
        assert await raw_request(server.port, b"/metrics", headers, method=b"GET") == [401]
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url("/metrics")) as refused:
            assert refused.status == 401
            assert refused.headers["WWW-Authenticate"] == "Bearer"
        auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with http.get(server.url("/metrics"), headers=auth) as reply:
            assert reply.status == 200
            assert "azerishiq_outbox_messages" in await reply.text()


async def test_metrics_are_open_without_a_token(engine: AsyncEngine, database_url: str) -> None:
    port = free_port()
    for token in (None, SecretStr(""), SecretStr("  ")):
        config = settings_for(database_url, http_port=port, metrics_token=token)
        async with (
            http_server(config, make_services(config, engine), None),
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as reply,
        ):
            assert reply.status == 200


def test_the_metrics_token_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_TOKEN", "from-env")
    monkeypatch.setenv("SMS_WEBHOOK_SHARED_KEY", "shared")
    config = settings_for("sqlite+aiosqlite:///:memory:")
    assert config.metrics_token is not None and config.metrics_token.get_secret_value() == (
        "from-env"
    )
    assert config.sms_webhook_shared_key is not None
    assert json.dumps(str(config.metrics_token)) == '"**********"'
