"""SMS and e-mail providers: what the outbox dispatcher hands a message to.

Each provider either returns (the message was accepted) or raises

* :class:`RetryableError` — try again later (connection trouble, timeouts, 5xx, 429, SMTP 4xx);
  ``retry_after`` is the provider's own hint in seconds, when it gave one;
* :class:`PermanentError` — this message will never be accepted (bad number, 4xx, SMTP 5xx);
  :class:`RecipientBlocked` is the special case "the recipient refuses our messages".

Every send carries the outbox row's idempotency key, so a provider that deduplicates can drop a
message sent twice after a crash between "the provider accepted it" and "we marked it sent".

Embedded defaults (no configuration): :class:`StoredSms` and :class:`StoredEmail` keep the last
messages in memory and log them with personal data masked (an SMS also with every run of 4 or
more digits masked: verification codes); nothing leaves the machine.

HTTP SMS gateway (``SMS_PROVIDER_URL``), as spoken by :class:`HttpSms`::

    POST <SMS_PROVIDER_URL>
    Content-Type: application/json
    Authorization: <SMS_PROVIDER_AUTH>          (only when set, sent verbatim)
    Idempotency-Key: <id>

    {"to": "+994501234567", "text": "Azərişıq: ...", "id": "<outbox idempotency key>"}

    2xx                 accepted (the body is ignored); the gateway should deduplicate by "id"
    429                 retry, after the Retry-After header (seconds or an HTTP date) if present
    5xx                 retry (Retry-After honoured as well)
    other 4xx, 1xx, 3xx rejected for good (the status and the start of the body are recorded)
    no answer / timeout retry

E-mail (``SMTP_URL``), as spoken by :class:`SmtpEmail`:
``smtp://user:password@host:587?from=bot@azerishiq.az`` (STARTTLS when the server offers it) or
``smtps://…`` (TLS from the first byte, port 465 by default). The Message-ID is derived from the
idempotency key, so a message sent twice carries the same id and mail systems can drop the copy.
SMTP 4xx replies and connection trouble are retried; 5xx replies are final.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from types import TracebackType
from typing import Final, Protocol, Self
from urllib.parse import parse_qs, unquote, urlsplit

import aiohttp
import aiosmtplib

from domain.privacy import mask_personal_data

__all__ = [
    "EmailRecord",
    "EmailSender",
    "HttpSms",
    "NotSent",
    "PermanentError",
    "RecipientBlocked",
    "RetryableError",
    "SmsProvider",
    "SmsRecord",
    "SmtpEmail",
    "SmtpSettings",
    "StoredEmail",
    "StoredSms",
    "mask_address",
    "mask_digits",
    "parse_smtp_url",
]

log = logging.getLogger(__name__)

#: How much of a provider's error body is kept in ``last_error``.
ERROR_BODY_CHARS = 200


# --------------------------------------------------------------------------- errors


class RetryableError(Exception):
    """The message may go through later; ``retry_after`` is the provider's hint (seconds)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """The message will never be accepted as it is."""


class RecipientBlocked(PermanentError):
    """The recipient refuses our messages (Telegram: the user blocked the bot)."""


class NotSent(Exception):
    """The message was not sent and not tried (its turn did not come in time): hand it back."""


def mask_address(address: str) -> str:
    """A phone or e-mail address as logs may show it: ``***67``, ``a***@example.az``."""
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"
    return f"***{address[-2:]}"


#: A run of this many digits or more may be a one-time code (or another identifier).
_DIGIT_RUN: Final = re.compile(r"\d{4,}")


def mask_digits(text: str) -> str:
    """Every run of 4 or more digits as ``*``: a verification code must not reach the log."""
    return _DIGIT_RUN.sub(lambda match: "*" * len(match.group()), text)


# --------------------------------------------------------------------------- SMS


class SmsProvider(Protocol):
    async def send(self, phone_e164: str, text: str, idempotency_key: str) -> None:
        """Hand one SMS over; raise RetryableError or PermanentError when it is not accepted."""
        ...


@dataclass(frozen=True, slots=True)
class SmsRecord:
    phone_e164: str
    text: str
    idempotency_key: str


class StoredSms:
    """The embedded default: "delivers" by keeping the last ``keep`` messages and logging them."""

    def __init__(self, keep: int = 100) -> None:
        self.keep = keep
        self.sent: list[SmsRecord] = []

    async def send(self, phone_e164: str, text: str, idempotency_key: str) -> None:
        self.sent.append(SmsRecord(phone_e164, text, idempotency_key))
        del self.sent[: -self.keep]
        log.info(
            "SMS stored, not sent (SMS_PROVIDER_URL is not set) to %s: %s",
            mask_address(phone_e164),
            mask_digits(mask_personal_data(text)),
        )


class HttpSms:
    """A JSON-over-HTTP SMS gateway (see the module docstring); use it ``async with``."""

    def __init__(
        self, url: str, auth_header: str | None = None, *, timeout_seconds: float = 10.0
    ) -> None:
        self.url = url
        self._headers = {"Authorization": auth_header} if auth_header else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, phone_e164: str, text: str, idempotency_key: str) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        body = {"to": phone_e164, "text": text, "id": idempotency_key}
        headers = {**self._headers, "Idempotency-Key": idempotency_key}
        try:
            async with self._session.post(
                self.url, json=body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return
                detail = (await response.text(errors="replace"))[:ERROR_BODY_CHARS]
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RetryableError(f"SMS gateway unreachable: {error!r}") from error
        message = f"SMS gateway answered {response.status}: {detail}".rstrip(": ")
        if response.status == 429 or response.status >= 500:
            raise RetryableError(message, retry_after)
        raise PermanentError(message)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def parse_retry_after(
    value: str | None, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """A Retry-After header (delay in seconds, or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


# --------------------------------------------------------------------------- e-mail


class EmailSender(Protocol):
    async def send(self, to: str, subject: str, text: str, idempotency_key: str) -> None:
        """Hand one e-mail over; raise RetryableError or PermanentError when not accepted."""
        ...


@dataclass(frozen=True, slots=True)
class EmailRecord:
    to: str
    subject: str
    text: str
    idempotency_key: str


class StoredEmail:
    """The embedded default: keeps the last ``keep`` e-mails and logs them, masked."""

    def __init__(self, keep: int = 100) -> None:
        self.keep = keep
        self.sent: list[EmailRecord] = []

    async def send(self, to: str, subject: str, text: str, idempotency_key: str) -> None:
        self.sent.append(EmailRecord(to, subject, text, idempotency_key))
        del self.sent[: -self.keep]
        log.info(
            "E-mail stored, not sent (SMTP_URL is not set) to %s: %s",
            mask_address(to),
            mask_personal_data(subject),
        )


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """``SMTP_URL`` taken apart."""

    host: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None
    sender: str


def parse_smtp_url(url: str) -> SmtpSettings:
    """``smtp[s]://[user[:password]@]host[:port]?from=address``; ValueError names what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("names no host (smtp://user:password@host:587?from=bot@example.az)")
    sender = (parse_qs(parts.query).get("from") or [""])[0]
    if "@" not in sender:
        raise ValueError("needs the sender address as ?from=bot@example.az")
    use_tls = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if use_tls else 25)
    except ValueError:
        raise ValueError("has a bad port") from None
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        use_tls=use_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=sender,
    )


def message_id(idempotency_key: str, sender: str) -> str:
    """A Message-ID that is the same every time the same outbox row is sent."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{sender.rpartition('@')[2]}>"


class SmtpEmail:
    """Sends through an SMTP server (one connection per message)."""

    def __init__(self, smtp_url: str, *, timeout_seconds: float = 30.0) -> None:
        self.settings = parse_smtp_url(smtp_url)
        self._timeout = timeout_seconds

    def build(self, to: str, subject: str, text: str, idempotency_key: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = message_id(idempotency_key, self.settings.sender)
        message.set_content(text)
        return message

    async def send(self, to: str, subject: str, text: str, idempotency_key: str) -> None:
        settings = self.settings
        try:
            await aiosmtplib.send(
                self.build(to, subject, text, idempotency_key),
                hostname=settings.host,
                port=settings.port,
                username=settings.username,
                password=settings.password,
                use_tls=settings.use_tls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            raise _by_code(min(codes, default=0), f"recipient refused: {codes}") from error
        except aiosmtplib.SMTPResponseException as error:
            raise _by_code(error.code, f"SMTP {error.code} {error.message}") from error
        except (aiosmtplib.SMTPException, OSError) as error:  # includes timeouts
            raise RetryableError(f"SMTP server unreachable: {error!r}") from error


def _by_code(code: int, message: str) -> Exception:
    return PermanentError(message) if 500 <= code < 600 else RetryableError(message)
