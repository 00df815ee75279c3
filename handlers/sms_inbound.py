"""``POST /sms/inbound``: text messages from the SMS gateway, in either format gateways use.

- JSON ``{"id", "from", "to", "text", "received_at"}`` with ``X-Signature: sha256=<hex>``, the
  HMAC-SHA256 of the raw body with ``SMS_WEBHOOK_SECRET``;
- Twilio-style form posts (``MessageSid``, ``From``, ``To``, ``Body``) with
  ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the same secret (Twilio's auth token),
  of the public URL followed by every parameter name and value sorted by name. The public URL
  comes from ``SMS_WEBHOOK_PUBLIC_URL`` so that it matches behind a proxy.

Signatures are compared in constant time; a bad one is 401 and logged without the body. The
HTTP answer only acknowledges (Twilio gets an empty TwiML); the reply goes through the outbox.
Malformed requests are 4xx, never 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web

from bot.settings import Settings
from delivery.sms_batches import SmsBatches
from delivery.sms_queries import IncomingSms
from domain.identifiers import IdentifierError, parse_mobile_phone
from handlers.health import SERVICES

log = logging.getLogger(__name__)

PATH: Final = "/sms/inbound"
MAX_BODY: Final = 8 * 1024
ID_MAX: Final = 64
TEXT_MAX: Final = 1600
TWIML_EMPTY: Final = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
JSON_TYPE: Final = "application/json"
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
FORM_TYPE: Final = "application/x-www-form-urlencoded"


class Refused(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error

    def response(self) -> web.Response:
        return web.json_response({"error": self.error}, status=self.status)


async def read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refused(413, "body_too_large")
    body = bytearray()
    while chunk := await request.content.read(MAX_BODY + 1 - len(body)):
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(413, "body_too_large")
    return bytes(body)


def signed_sha256(secret: bytes, raw: bytes, header: str) -> bool:
    scheme, _, given = header.strip().partition("=")
    expected = hmac.new(secret, raw, hashlib.sha256).hexdigest()
    return scheme == "sha256" and hmac.compare_digest(
        given.strip().lower().encode(), expected.encode()
    )


def twilio_signature(secret: bytes, url: str, params: list[tuple[str, str]]) -> str:
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(secret, payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def text_value(value: object, name: str, limit: int) -> str:
    """A string field; the message text may be empty, the others may not (nor hold controls)."""
    if not isinstance(value, str) or len(value) > limit:
        raise Refused(400, f"bad_{name}")
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate from JSON "\ud800"
        raise Refused(400, f"bad_{name}") from None
    if name == "text":
        return value.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    if not value.strip() or _CONTROL.search(value):
        raise Refused(400, f"bad_{name}")
    return value


def sender(value: object) -> str:
    try:
        return parse_mobile_phone(text_value(value, "from", 32))
    except IdentifierError:
        raise Refused(400, "bad_from") from None


def from_json(raw: bytes, secret: bytes, headers: Any) -> IncomingSms:
    if not signed_sha256(secret, raw, headers.get("X-Signature", "")):
        raise Refused(401, "bad_signature")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise Refused(400, "bad_json") from None
    if not isinstance(body, dict):
        raise Refused(400, "bad_body")
    return IncomingSms(
        message_id=text_value(body.get("id"), "id", ID_MAX).strip(),
        phone=sender(body.get("from")),
        text=text_value(body.get("text"), "text", TEXT_MAX),
    )


def from_twilio(raw: bytes, secret: bytes, headers: Any, url: str) -> IncomingSms:
    try:
        params = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "bad_form") from None
    given = headers.get("X-Twilio-Signature", "").strip().encode()
    expected = twilio_signature(secret, url, params).encode()
    if not hmac.compare_digest(given, expected):
        raise Refused(401, "bad_signature")
    fields = dict(params)
    return IncomingSms(
        message_id=text_value(fields.get("MessageSid"), "id", ID_MAX).strip(),
        phone=sender(fields.get("From")),
        text=text_value(fields.get("Body"), "text", TEXT_MAX),
    )


Handler = Callable[[web.Request], Awaitable[web.Response]]


def inbound(settings: Settings) -> Handler:
    secret_setting = settings.sms_webhook_secret
    secret = secret_setting.get_secret_value().encode() if secret_setting else b""
    batches: list[SmsBatches] = []  # made at the first message, on the app's database

    def batches_of(app: web.Application) -> SmsBatches:
        if not batches:
            batches.append(
                SmsBatches(
                    app[SERVICES].sessions,
                    per_hour=settings.sms_queries_per_hour,
                    transliterate=settings.sms_transliterate,
                )
            )
        return batches[0]

    async def handle(request: web.Request) -> web.Response:
        twilio = request.content_type == FORM_TYPE
        try:
            if not secret:
                raise Refused(503, "sms_webhook_disabled")
            if request.content_type not in (JSON_TYPE, FORM_TYPE):
                raise Refused(415, "unsupported_media_type")
            raw = await read_body(request)
            if twilio:
                url = settings.sms_webhook_public_url or str(request.url)
                sms = from_twilio(raw, secret, request.headers, url)
            else:
                sms = from_json(raw, secret, request.headers)
        except Refused as refused:
            if refused.status == 401:
                log.warning("SMS webhook: %s from %s", refused.error, request.remote)
            return refused.response()
        answered = await batches_of(request.app).answer(sms)
        if twilio:
            return web.Response(text=TWIML_EMPTY, content_type="text/xml")
        return web.json_response({"status": "duplicate" if answered.duplicate else "accepted"})

    return handle


def routes(settings: Settings) -> list[web.RouteDef]:
    return [web.post(PATH, inbound(settings))]
