"""Whose phone is on file for an electricity subscriber code (the billing system's answer).

A chat may follow a subscriber code, and so see its acts, only when this phone is the citizen's
verified phone.

- embedded default (`StoredSubscribers`): the ``subscribers`` table, filled by the staff API
  (each registered act carries the consumer's phone; ``PUT /api/subscribers/{code}`` lets the
  billing system sync the rest);
- network (`HttpBilling`, BILLING_URL): ``GET {url}/{code}`` answers ``{"phone": "+994…"}``
  (``null`` or 404 when there is none). A failure raises :class:`DirectoryUnavailable`, so the
  citizen is asked to try later rather than told the code is not theirs.
"""

from __future__ import annotations

import logging
from typing import Protocol

import aiohttp

from domain.identifiers import IdentifierError, parse_mobile_phone
from storage import acts
from storage.types import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)


class DirectoryUnavailable(Exception):
    """The billing system could not be asked."""


class SubscriberDirectory(Protocol):
    async def phone_of(self, code: str) -> str | None:
        """The E.164 phone on file for ``code``; None when unknown or there is none."""
        ...


class StoredSubscribers:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def phone_of(self, code: str) -> str | None:
        async with self._sessions() as session:
            return await acts.subscriber_phone(session, code)


class HttpBilling:
    def __init__(self, url: str, timeout_seconds: float = 5.0) -> None:
        self._url = url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def phone_of(self, code: str) -> str | None:
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as http,
                http.get(f"{self._url}/{code}") as reply,
            ):
                if reply.status == 404:
                    return None
                reply.raise_for_status()
                body = await reply.json()
            phone = body.get("phone") if isinstance(body, dict) else None
            if phone is None:
                return None
            if not isinstance(phone, str):
                raise ValueError("phone is not a string")
            return parse_mobile_phone(phone)
        except (aiohttp.ClientError, TimeoutError, ValueError, IdentifierError) as error:
            log.warning("billing: no answer for a subscriber code: %s", type(error).__name__)
            raise DirectoryUnavailable(str(error)) from error
