"""Building a dialogue the way all of ours are built."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler
from telegram.warnings import PTBUserWarning

from chat.context import BotContext


def conversation(**options: Any) -> ConversationHandler[BotContext]:
    """A ConversationHandler tracked per chat and user.

    python-telegram-bot warns when a dialogue mixes message and button handlers without
    ``per_message``; tracking per chat (not per message) is exactly what our dialogues want.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(**options)


def active_dialogue(handlers: Iterable[object], update: Update) -> str | None:
    """The name of the dialogue (ConversationHandler) ``update``'s chat and user are in, if any.

    python-telegram-bot has no public way to read a conversation's state; this reads the
    handler's own key and state table (``_get_key``, ``_conversations``, stable since v20), and
    tests/test_edited_messages.py fails if a release changes them.
    """
    for handler in handlers:
        if not isinstance(handler, ConversationHandler):
            continue
        try:
            key = handler._get_key(update)
        except RuntimeError:  # no chat or user to key on
            continue
        if handler._conversations.get(key) is not None:
            return handler.name or type(handler).__name__
    return None
