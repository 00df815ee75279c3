"""Telegram's size limits, and texts built from stored data packed to fit them.

Telegram counts a message's length in UTF-16 code units (an emoji outside the BMP counts 2)
of the text as displayed: 4,096 for a message, 1,024 for a caption; callback data is at most
64 bytes. A text that grows with stored data (a history, a preview, an act's breakdown) is
given as blocks and packed into as many messages as it needs, split between blocks where it
can, then between lines, and a single over-long line is cut. The keyboard goes under the last
message, so the buttons stay where the person reads on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from telegram import Message, Update

from chat.queries import say

MAX_TEXT: Final = 4096
MAX_CAPTION: Final = 1024
MAX_CALLBACK_DATA: Final = 64  # bytes of UTF-8


def utf16_len(text: str) -> int:
    """The length of ``text`` as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def fits(text: str, limit: int = MAX_TEXT) -> bool:
    return utf16_len(text) <= limit


def cut(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` units, at a space where one is near the end."""
    pieces: list[str] = []
    while not fits(text, limit):
        end = _longest_prefix(text, limit)
        space = text.rfind(" ", 0, end)
        if space > end // 2:
            end = space + 1
        pieces.append(text[:end].rstrip())
        text = text[end:]
    return [*pieces, text]


def pack(blocks: Iterable[str], limit: int = MAX_TEXT) -> list[str]:
    """The blocks joined by newlines into as few messages of at most ``limit`` as they need.

    A block (a paragraph, a history entry) stays whole when it fits in one message; blank
    lines at the start or end of a message are dropped (Telegram would drop them too).
    """
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in _pieces(block, limit):
            joined = f"{current}\n{piece}" if current else piece
            if fits(joined, limit):
                current = joined
                continue
            messages.append(current)
            current = piece
    messages.append(current)
    return [text.strip("\n") for text in messages if text.strip()]


def shorten(text: str, limit: int) -> str:
    """``text`` itself if it fits, else its beginning and "…" (for a caption or a label)."""
    if fits(text, limit):
        return text
    return text[: _longest_prefix(text, limit - 1)] + "…"


async def say_all(update: Update, texts: Sequence[str], markup: Any = None) -> Message:
    """Several messages in order, with the keyboard under the last one."""
    assert texts, "nothing to say"
    for text in texts[:-1]:
        await say(update, text)
    return await say(update, texts[-1], markup)


def _pieces(block: str, limit: int) -> list[str]:
    if fits(block, limit):
        return [block]
    return [piece for line in block.split("\n") for piece in cut(line, limit)]


def _longest_prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` units (at least one)."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return max(index, 1)
    return len(text)
