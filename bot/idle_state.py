"""Forget the empty per-user and per-chat data python-telegram-bot makes for every update.

python-telegram-bot creates a ``user_data`` and a ``chat_data`` dict for everyone whose update
it handles (and its persistence pass reads them, creating them if needed) and keeps them for
the life of the process: a dict for each citizen who ever wrote. Only live dialogue state
should stay in memory, so once an update's data is stored and found empty, it is dropped.
The persistence stores no row for empty data either (:mod:`storage.persistence`).
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def forget_empty_data(application: AnyApplication, update: object) -> None:
    """Drop this update's user and chat data if empty; call it after the persistence write,
    while the chat's lock is held.

    A user's data is dropped only for a private chat (or no chat): there the chat's lock is the
    user's, so no other update of theirs holds the dict meanwhile.
    """
    if not isinstance(update, Update):
        return
    user, chat = update.effective_user, update.effective_chat
    # python-telegram-bot offers no public way to forget an entry without also scheduling a
    # delete for its persistence, which would swallow that user's next write.
    if chat is not None and not application.chat_data.get(chat.id, True):
        application._chat_data.pop(chat.id, None)
    private = user is not None and (chat is None or chat.id == user.id)
    if user is not None and private and not application.user_data.get(user.id, True):
        application._user_data.pop(user.id, None)
