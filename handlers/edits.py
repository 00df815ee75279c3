"""Edited messages are never answers.

Telegram sends the edit of an earlier message as an ``edited_message`` update, and
python-telegram-bot's MessageHandler and CommandHandler take those too (CommandHandler's default
filter is ``UpdateType.MESSAGES``). Inside a dialogue, correcting an earlier answer would be
taken as the answer to the question asked now, and would run its look-ups again (a number, a
code). So every edit stops here, in the group right after the locale is set:

- inside a dialogue the person is told, in their language, that an edit does not change an
  answer already given (in a connection request: that any answer can be changed at the review
  step, *Düzəliş et*); the dialogue stays where it is, the question still on screen;
- outside a dialogue the edit is ignored, silently. The bot already answered the original
  message; an answer to its edit would arrive out of order, under an old message, and would run
  again a command or a menu choice (/apply, *Aktlar*) the person only meant to correct. A note
  on every corrected typo outside a dialogue would be noise: there is nothing it could change.
"""

from __future__ import annotations

from typing import Final

from telegram import Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from chat.context import BotContext
from chat.conversation import active_dialogue
from i18n import N_, _

NOT_AN_ANSWER: Final = N_("Editing a message does not change an answer already given.")
#: What to do instead, by dialogue (ConversationHandler name); other dialogues: GO_ON.
HINTS: Final[dict[str, str]] = {
    "connection_request": N_("You can change any answer at the review step, with «{edit}»."),
}
GO_ON: Final = N_("Please answer the question above, or /cancel.")
EDIT_BUTTON: Final = N_("Edit")


async def edited(update: Update, context: BotContext) -> None:
    """Answer an edit inside a dialogue, ignore it outside; never let it reach a dialogue."""
    handlers: list[object] = [h for group in context.application.handlers.values() for h in group]
    dialogue = active_dialogue(handlers, update)
    if dialogue is not None and update.edited_message is not None:
        hint = _(HINTS.get(dialogue, GO_ON)).format(edit=_(EDIT_BUTTON))
        await update.edited_message.reply_text(f"{_(NOT_AN_ANSWER)} {hint}")
    raise ApplicationHandlerStop


def build() -> MessageHandler[BotContext, None]:
    return MessageHandler(filters.UpdateType.EDITED, edited)
