"""Answering a pressed button exactly once.

Telegram accepts one answer per callback query; a second one fails ("query is too old"). A
dialogue step may both answer and hand over to another step that answers again, so answers go
through here, which remembers the last ids it answered. A query answered by a process that
then died, and handled again from the inbox, or one handled after Telegram's answer window,
also fails: the answer only stops the button's spinner, so that is no reason to stop the step.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Final

from telegram import CallbackQuery, Message, Update
from telegram.error import BadRequest

log = logging.getLogger(__name__)

_REMEMBERED: Final = 10_000
_answered: OrderedDict[str, None] = OrderedDict()


async def answer_once(query: CallbackQuery, text: str | None = None) -> None:
    if query.id in _answered:
        return
    _answered[query.id] = None
    if len(_answered) > _REMEMBERED:
        _answered.popitem(last=False)
    try:
        await query.answer(text)
    except BadRequest as error:
        reason = str(error).lower()
        if "query is too old" not in reason and "query id is invalid" not in reason:
            raise
        log.info("callback query %s answered too late; going on", query.id)


async def say(update: Update, text: str, markup: Any = None) -> Message:
    """Answer where the person is: below a pressed button's message, or their message."""
    if update.callback_query is not None:
        await answer_once(update.callback_query)
    message = update.effective_message
    assert message is not None
    return await message.reply_text(text, reply_markup=markup)
