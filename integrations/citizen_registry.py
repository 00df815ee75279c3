"""The applicant's main info from the state population registry.

On the portal the main info is filled from state registries after an e-signature login. The
bot cannot log a person in that way, so:

- embedded default (`TypedIn`): nothing is looked up; the citizen types name and ID card;
- network (`HttpCitizenRegistry`, CITIZEN_REGISTRY_URL): ``GET {url}?fin=XXXXXXX`` answers
  ``{"first_name", "last_name", "patronymic", "id_card"}`` (404 when unknown); the bot shows
  what it found and the citizen confirms it or types their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from domain.identifiers import IdentifierError, parse_id_card, parse_person_name

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RegistryPerson:
    first_name: str
    last_name: str
    patronymic: str | None
    id_card: str


class CitizenRegistry(Protocol):
    @property
    def prefills(self) -> bool:
        """Whether `lookup` can find anyone (the dialogue then asks the FIN first)."""
        ...

    async def lookup(self, fin: str) -> RegistryPerson | None: ...


class TypedIn:
    """No registry: the citizen types their main info."""

    @property
    def prefills(self) -> bool:
        return False

    async def lookup(self, fin: str) -> RegistryPerson | None:
        return None


class HttpCitizenRegistry:
    """The registry over HTTP; any failure means "not found", and the citizen types instead."""

    def __init__(self, url: str, timeout_seconds: float = 5.0) -> None:
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    @property
    def prefills(self) -> bool:
        return True

    async def lookup(self, fin: str) -> RegistryPerson | None:
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as http,
                http.get(self._url, params={"fin": fin}) as reply,
            ):
                if reply.status == 404:
                    return None
                reply.raise_for_status()
                body = await reply.json()
                patronymic = body.get("patronymic")
                return RegistryPerson(
                    first_name=parse_person_name(_text(body, "first_name")),
                    last_name=parse_person_name(_text(body, "last_name")),
                    patronymic=parse_person_name(_text(body, "patronymic")) if patronymic else None,
                    id_card=parse_id_card(_text(body, "id_card")),
                )
        except (
            aiohttp.ClientError,
            TimeoutError,
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            IdentifierError,
        ) as error:
            log.warning("citizen registry did not answer usefully (%s)", type(error).__name__)
            return None


def _text(body: Any, key: str) -> str:
    """A string field of the answer (``str()`` would turn a null into the name "None")."""
    value = body[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value
