"""Building a dialogue the way all of ours are built."""

from __future__ import annotations

import warnings
from typing import Any

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
