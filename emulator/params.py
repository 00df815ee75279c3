"""Bot API request parameters and the errors Telegram answers them with."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from emulator.records import JSONDict

HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a"}
    | {"code", "pre", "blockquote", "tg-emoji"}
)


class ApiError(Exception):
    """An error answered the way Telegram answers it."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def response(self) -> web.Response:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.code)


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    size: int
    content_type: str | None


class Params:
    """Request parameters; form values are strings, JSON bodies are typed: accept both."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        return None if value is None else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad(f"invalid {name} specified") from None

    def number(self, name: str) -> float | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        return self.data.get(name) in (True, 1, "true", "True", "1")

    def obj(self, name: str) -> Any:
        value = self.data.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad(f"can't parse {name} JSON object") from None
        return value


async def read_params(request: web.Request) -> Params:
    data: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return Params(data)
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad("can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise bad("request body must be a JSON object")
        data.update(body)
    elif ctype.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is None:
                data[part.name] = await part.text()
                continue
            size = 0
            while chunk := await part.read_chunk():
                size += len(chunk)
            data[part.name] = Upload(part.filename, size, part.headers.get("Content-Type"))
    else:
        data.update(await request.post())
    return Params(data)


def html_to_text(markup: str) -> str:
    """The text Telegram displays for ``markup`` sent with parse_mode=HTML.

    Like Telegram, every ``<`` opens a tag: unknown or unbalanced tags and a bare ``<`` are
    400 "can't parse entities" errors (user input must be escaped with html.escape).
    """
    parts: list[str] = []
    open_tags: list[str] = []
    position = 0
    while (start := markup.find("<", position)) != -1:
        parts.append(html.unescape(markup[position:start]))
        end = markup.find(">", start)
        offset = len(markup[:start].encode())
        if end == -1:
            raise _entities_error(f"Unclosed start tag at byte offset {offset}")
        closing = markup.startswith("</", start)
        name = markup[start + 1 + closing : end].split(maxsplit=1)
        tag = name[0].lower().rstrip("/") if name else ""
        if not tag:
            raise _entities_error(f"Empty tag name at byte offset {offset}")
        if not closing and tag not in HTML_TAGS:
            raise _entities_error(f'Unsupported start tag "{tag}" at byte offset {offset}')
        if not closing:
            open_tags.append(tag)
        elif not open_tags or open_tags[-1] != tag:
            expected = f'"</{open_tags[-1]}>"' if open_tags else "no end tag"
            raise _entities_error(
                f'Unmatched end tag at byte offset {offset}, expected {expected}, found "</{tag}>"'
            )
        else:
            open_tags.pop()
        position = end + 1
    if open_tags:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    parts.append(html.unescape(markup[position:]))
    return "".join(parts)


def _entities_error(detail: str) -> ApiError:
    return bad(f"can't parse entities: {detail}")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
