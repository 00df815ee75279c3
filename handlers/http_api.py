"""What every staff-API route shares: the token guard, reading a JSON body, parsing it (and the
query) with a pydantic model, the refusal type and its JSON shape, and the validated answer.

A refusal is ``{"error": code, "message": ..., **extra}``: ``parameter`` names a query parameter,
``field`` a body field. A model's validation errors are mapped onto today's codes:
``unknown_field``, ``missing_field``, ``wrong_type`` (where the model says so) and
``invalid_field``; in a query ``unknown_parameter`` and ``bad_parameter``.
"""

from __future__ import annotations

import codecs
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, TypeVar

from aiohttp import web
from multidict import MultiMapping
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from domain.transitions import TransitionError
from observability.log_limits import LogLimit

log = logging.getLogger(__name__)

MAX_BODY: Final = 16 * 1024
JSON: Final = "application/json"
#: A body in UTF-16 or UTF-32 (which json.loads would guess from its first bytes) is not ours.
_FOREIGN_BOMS: Final = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE,
                        codecs.BOM_UTF16_BE)  # fmt: skip
#: pydantic error types that mean "not of the JSON type the field wants".
TYPE_ERRORS: Final = frozenset(
    {"string_type", "int_type", "bool_type", "list_type", "dict_type", "model_type",
     "float_type", "decimal_type", "none_required"}
)  # fmt: skip

Handler = Callable[[web.Request], Awaitable[web.Response]]
Model = TypeVar("Model", bound="ApiModel")
#: Anyone can send a bad token: one line a minute, with a count of the others (the process's
#: staff API and acts API share it).
BAD_TOKENS = LogLimit()


class ApiError(Exception):
    """A refusal answered as ``{"error": code, "message": ..., **extra}``."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status = status
        self.body: dict[str, Any] = {"error": error, "message": message, **extra}
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        return web.json_response(self.body, status=self.status, headers=self.headers)


def bad_parameter(name: str, message: str) -> ApiError:
    return ApiError(400, "bad_parameter", message, parameter=name)


def bad_field(error: str, name: str, message: str) -> ApiError:
    return ApiError(400, error, message, field=name)


#: Refused status changes that are about the record as it stands (409), not about the request.
CONFLICTS: Final = frozenset({"illegal", "final", "same_status", "changed_meanwhile"})


def transition_refused(
    error: TransitionError[Any], allowed: Iterable[str], *, unknown_status: int = 422
) -> ApiError:
    """A refused status change (an application's or an act's): the reason as ``error``, with
    ``from``, ``to`` and the statuses ``allowed`` now; 409 for a conflict, ``unknown_status`` for
    a status that does not exist, 422 otherwise."""
    if error.reason in CONFLICTS:
        status = 409
    elif error.reason == "unknown_status":
        status = unknown_status
    else:
        status = 422
    refused = ApiError(status, error.reason, str(error))
    refused.body.update(
        {"from": str(error.current), "to": error.target, "allowed": [str(t) for t in allowed]}
    )
    return refused


class ApiModel(BaseModel):
    """A request or answer of the staff API: no field it does not name, JSON types as they are.

    ``MESSAGES`` gives the refusal's message per field (``{name}`` is the field's label);
    ``WRONG_TYPE`` lists the error types answered as ``wrong_type``.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    MESSAGES: ClassVar[Mapping[str, str]] = {}
    #: pydantic error types answered as ``wrong_type`` (the others: ``invalid_field``).
    WRONG_TYPE: ClassVar[frozenset[str]] = frozenset({"string_type"})

    @classmethod
    def label(cls, loc: tuple[int | str, ...]) -> str:
        """The field named in a refusal: ``loads[2].power_w``."""
        text = ""
        for part in loc:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text

    @classmethod
    def refusal(cls, detail: ErrorDetails) -> ApiError:
        loc = tuple(detail["loc"])
        name = cls.label(loc)
        kind = detail["type"]
        if kind == "extra_forbidden":
            return bad_field("unknown_field", name, f"unknown field {name!r}")
        if kind == "missing":
            return bad_field("missing_field", name, f"{name} is required")
        top = str(loc[0]) if loc else ""
        message = cls.MESSAGES.get(name) or cls.MESSAGES.get(top) or f"{{name}}: {detail['msg']}"
        if kind == "value_error":  # a validator's ValueError says what is wrong
            message = f"{{name}}: {detail.get('ctx', {}).get('error')}"
        code = "wrong_type" if kind in cls.WRONG_TYPE else "invalid_field"
        return bad_field(code, name, message.format(name=name))


def first_error(errors: list[ErrorDetails]) -> ErrorDetails:
    """Unknown fields first, then missing ones, then the first field in the model's order."""
    order = {"extra_forbidden": 0, "missing": 1}
    return min(errors, key=lambda detail: order.get(detail["type"], 2))


def parse(model: type[Model], value: Any) -> Model:
    """``value`` (decoded JSON) as ``model``, or the refusal its first error makes."""
    try:
        return model.model_validate(value)
    except ValidationError as invalid:
        raise model.refusal(first_error(invalid.errors())) from None


def parse_query(model: type[Model], query: MultiMapping[str]) -> Model:
    """The query as ``model`` (lax: its values are strings); errors name the parameter."""
    try:
        return model.model_validate(dict(query), strict=False)
    except ValidationError as invalid:
        detail = first_error(invalid.errors())
        name = str(detail["loc"][0])
        message = model.MESSAGES.get(name, f"{name}: {detail['msg']}")
        raise bad_parameter(name, message) from None


def parse_body(model: type[Model], raw: bytes) -> Model:
    return parse(model, json_object(raw))


def json_object(raw: bytes) -> dict[str, Any]:
    """The (UTF-8) body as a JSON object; 400 otherwise."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # JSONDecodeError included
        raise ApiError(400, "bad_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_body", "the body must be a JSON object")
    return body


def respond(
    model: type[ApiModel], body: Mapping[str, Any], *, status: int = 200, **kwargs: Any
) -> web.Response:
    """The answer, checked against its model (a mismatch is our bug: a 500)."""
    answer = model.model_validate(body, strict=False).model_dump(mode="json", by_alias=True)
    return web.json_response(answer, status=status, **kwargs)


# --------------------------------------------------------------------------- the body


async def read_body(request: web.Request) -> bytes:
    """The request body: 413 past :data:`MAX_BODY` bytes, 415 unless it is JSON in UTF-8."""
    too_large = ApiError(413, "body_too_large", f"the body may have at most {MAX_BODY} bytes")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise too_large
    body = bytearray()
    try:
        while chunk := await request.content.read(MAX_BODY + 1 - len(body)):
            body += chunk
            if len(body) > MAX_BODY:
                raise too_large
    except web.RequestPayloadError:  # a Content-Encoding the body does not match
        raise ApiError(400, "bad_body_encoding", "the body does not match its encoding") from None
    charset = (request.charset or "utf-8").lower()
    raw = bytes(body)
    if (
        request.headers.get("Content-Type") is None
        or request.content_type != JSON
        or charset not in {"utf-8", "utf8"}
        or raw.startswith(_FOREIGN_BOMS)
        or b"\x00" in raw[:4]  # UTF-16 or UTF-32 without a BOM (RFC 4627, section 3)
        or not utf8(raw)
    ):
        raise ApiError(
            415, "unsupported_media_type", "send the body as JSON in UTF-8 (Content-Type: "
            "application/json)",
        )  # fmt: skip
    return raw


def utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --------------------------------------------------------------------------- auth


def guarded(token: SecretStr | None, handler: Handler, parameters: Sequence[str] = ()) -> Handler:
    """The handler behind the API switch, the bearer token and a query parameter whitelist."""
    secret = token.get_secret_value().strip() if token is not None else ""
    expected = secret.encode() if secret else None

    async def guard(request: web.Request) -> web.Response:
        try:
            if expected is None:
                raise ApiError(503, "staff_api_disabled", "STAFF_API_TOKEN is not set")
            authorize(request, expected)
            reject_unknown_parameters(request.query, parameters)
            return await handler(request)
        except ApiError as error:
            return error.response()

    return guard


def authorize(request: web.Request, expected: bytes) -> None:
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    given_bytes = given.strip().encode("utf-8", "surrogatepass")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given_bytes, expected):
        BAD_TOKENS.warning(
            log, "staff-api-bad-token", "Staff API call without a valid token from %s",
            request.remote,
        )  # fmt: skip
        raise ApiError(
            401,
            "unauthorized",
            "send Authorization: Bearer <STAFF_API_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )


def reject_unknown_parameters(query: MultiMapping[str], known: Sequence[str]) -> None:
    for name in query:
        if name not in known:
            raise ApiError(400, "unknown_parameter", f"unknown parameter {name!r}", parameter=name)
        if len(query.getall(name)) > 1:
            raise bad_parameter(name, f"{name} given more than once")
