"""``POST /sms/inbound``: text messages from the SMS gateway, in either format gateways use.

- JSON ``{"id", "from", "to", "text", "received_at"}`` with ``X-Signature: sha256=<hex>``, the
  HMAC-SHA256 of the raw body with ``SMS_WEBHOOK_SECRET``;
- Twilio-style form posts (``MessageSid``, ``From``, ``To``, ``Body``) with
  ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the same secret (Twilio's auth token),
  of the public URL followed by every parameter name and value sorted by name. The public URL
  comes from ``SMS_WEBHOOK_PUBLIC_URL`` so that it matches behind a proxy; Twilio signs the URL
  it was given, so a query string belongs in the setting too. When a Twilio Webhook Setting
  signs instead, ``X-Twilio-Webhooks-Signature-Settings: key=KS…,algorithm=HMAC_SHA256`` names
  the hash (HMAC-SHA256 or HMAC-SHA1) and the key is that SharedKey's secret
  (``SMS_WEBHOOK_SHARED_KEY``, else ``SMS_WEBHOOK_SECRET``); the signed text is the same.

Signatures are compared in constant time, as bytes: a header may hold any bytes (aiohttp hands
them over as surrogates), and a bad one is 401, logged without the body and at most once a
minute (observability/log_limits.py). The HTTP answer only acknowledges (Twilio gets an empty
TwiML); the reply goes through the outbox. Malformed requests are 4xx, never 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl

from aiohttp import web
from pydantic import SecretStr

from delivery.sms_batches import SmsBatches
from delivery.sms_queries import IncomingSms
from domain.identifiers import IdentifierError, parse_mobile_phone
from handlers.health import SERVICES
from observability.log_limits import LogLimit

log = logging.getLogger(__name__)

PATH: Final = "/sms/inbound"
MAX_BODY: Final = 8 * 1024
ID_MAX: Final = 64
TEXT_MAX: Final = 1600
TWIML_EMPTY: Final = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
JSON_TYPE: Final = "application/json"
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
FORM_TYPE: Final = "application/x-www-form-urlencoded"
SIGNATURE_SETTINGS: Final = "X-Twilio-Webhooks-Signature-Settings"
#: Twilio's names for the hashes a Webhook Setting may sign with.
TWILIO_HASHES: Final = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}


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
    try:
        while chunk := await request.content.read(MAX_BODY + 1 - len(body)):
            body += chunk
            if len(body) > MAX_BODY:
                raise Refused(413, "body_too_large")
    except web.RequestPayloadError:  # a Content-Encoding the body does not match
        raise Refused(400, "bad_body_encoding") from None
    return bytes(body)


def header_bytes(headers: Any, name: str) -> bytes:
    """A header's bytes as received: aiohttp decodes undecodable ones to surrogates."""
    return str(headers.get(name, "")).strip().encode("utf-8", "surrogateescape")


def signed_sha256(secret: bytes, raw: bytes, header: bytes) -> bool:
    scheme, _, given = header.partition(b"=")
    expected = hmac.new(secret, raw, hashlib.sha256).hexdigest()
    return scheme == b"sha256" and hmac.compare_digest(given.strip().lower(), expected.encode())


def twilio_signature(
    secret: bytes, url: str, params: list[tuple[str, str]], hash_name: str = "HMAC_SHA1"
) -> str:
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(secret, payload.encode(), TWILIO_HASHES[hash_name]).digest()
    return base64.b64encode(digest).decode()


def signature_hash(settings_header: bytes) -> str | None:
    """The hash ``X-Twilio-Webhooks-Signature-Settings`` names (``key=KS…,algorithm=…``), or
    None when it names none we know."""
    for part in settings_header.split(b","):
        name, _, value = part.partition(b"=")
        if name.strip().lower() == b"algorithm":
            hash_name = value.strip().upper().decode("ascii", "replace")
            return hash_name if hash_name in TWILIO_HASHES else None
    return None


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
    if not signed_sha256(secret, raw, header_bytes(headers, "X-Signature")):
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


def from_twilio(
    raw: bytes, secret: bytes, headers: Any, url: str, shared_key: bytes = b""
) -> IncomingSms:
    """A Twilio form post, signed with the auth token (``secret``, HMAC-SHA1) or, when
    ``X-Twilio-Webhooks-Signature-Settings`` says so, with a SharedKey's secret."""
    try:
        params = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "bad_form") from None
    hash_name: str | None = "HMAC_SHA1"
    if SIGNATURE_SETTINGS in headers:
        hash_name = signature_hash(header_bytes(headers, SIGNATURE_SETTINGS))
        secret = shared_key or secret
    if hash_name is None:
        raise Refused(401, "bad_signature")
    given = header_bytes(headers, "X-Twilio-Signature")
    expected = twilio_signature(secret, url, params, hash_name).encode()
    if not hmac.compare_digest(given, expected):
        raise Refused(401, "bad_signature")
    fields = dict(params)
    return IncomingSms(
        message_id=text_value(fields.get("MessageSid"), "id", ID_MAX).strip(),
        phone=sender(fields.get("From")),
        text=text_value(fields.get("Body"), "text", TEXT_MAX),
    )


Handler = Callable[[web.Request], Awaitable[web.Response]]


class SmsWebhookSettings(Protocol):
    """What the webhook needs of the settings (``bot.settings.Settings`` has it; bot/ passes it)."""

    @property
    def sms_webhook_secret(self) -> SecretStr | None: ...
    @property
    def sms_webhook_shared_key(self) -> SecretStr | None: ...
    @property
    def sms_webhook_public_url(self) -> str | None: ...
    @property
    def sms_queries_per_hour(self) -> int: ...
    @property
    def sms_transliterate(self) -> bool: ...


def inbound(settings: SmsWebhookSettings) -> Handler:
    secret_setting = settings.sms_webhook_secret
    secret = secret_setting.get_secret_value().encode() if secret_setting else b""
    shared_setting = settings.sms_webhook_shared_key
    shared_key = shared_setting.get_secret_value().encode() if shared_setting else b""
    batches: list[SmsBatches] = []  # made at the first message, on the app's database
    refusals = LogLimit()  # anyone can send a bad signature: a line a minute, with a count

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
                sms = from_twilio(raw, secret, request.headers, url, shared_key)
            else:
                sms = from_json(raw, secret, request.headers)
        except Refused as refused:
            if refused.status == 401:
                refusals.warning(
                    log, "sms-bad-signature", "SMS webhook: %s from %s", refused.error,
                    request.remote,
                )  # fmt: skip
            return refused.response()
        answered = await batches_of(request.app).answer(sms)
        if twilio:
            return web.Response(text=TWIML_EMPTY, content_type="text/xml")
        return web.json_response({"status": "duplicate" if answered.duplicate else "accepted"})

    return handle


def routes(settings: SmsWebhookSettings) -> list[web.RouteDef]:
    return [web.post(PATH, inbound(settings))]
