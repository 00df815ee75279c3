"""Staff answer an objection from its message: the button, the outcome, the text, confirm.

The button is on the staff message about the objection (and on the reminder). An upheld
objection can cancel the act in the same step, an upheld or partly upheld one can lower its
amount. The answer is made by :func:`delivery.objection_answers.answer_objection`, as the API's
is. Non-staff never get here: the button is refused.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from chat.context import BotContext
from chat.conversation import conversation
from chat.queries import answer_once, say
from delivery.objection_answers import ActionRefused, answer_objection
from delivery.objection_buttons import ANSWER_CALLBACK as CB
from delivery.objection_notices import outcome_label
from domain.objections import ACTIONS_ALLOWED, ANSWER_MAX, ANSWER_MIN, ActAction, Outcome
from domain.transitions import TransitionError
from i18n import N_, _, current_locale, format_money
from storage import objections
from storage.db import utcnow

OUTCOME, TEXT, CONFIRM, AMOUNT = range(4)
PENDING_KEY: Final = "objection_answer"
RECEIPT_PATTERN: Final = r"ET-\d{4}-\d{6}"
ACTION_BUTTONS: Final = {
    ActAction.CANCEL: N_("Send and cancel the act"),
    ActAction.RECOMPUTE: N_("Send and recompute the act"),
}


def pending(context: BotContext) -> dict[str, Any]:
    assert context.user_data is not None
    found = context.user_data.get(PENDING_KEY)
    return found if isinstance(found, dict) else {}


def cancel_row() -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(_("Cancel"), callback_data=CB + "cancel")]


async def start(update: Update, context: BotContext) -> int:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and context.user_data is not None
    if user is None or not context.is_staff(user.id):
        await answer_once(query, _("This button is no longer active."))
        return ConversationHandler.END
    receipt = (query.data or "").removeprefix(CB)
    async with context.services.sessions() as session:
        found = await objections.by_receipt(session, receipt)
    if found is None or found.objection.answered_at is not None:
        await say(update, _("This objection is already answered."))
        return ConversationHandler.END
    context.user_data[PENDING_KEY] = {"receipt": receipt, "number": found.act.number}
    rows = [
        [InlineKeyboardButton(outcome_label(o, current_locale()), callback_data=f"{CB}o:{o}")]
        for o in Outcome
    ]
    await say(
        update,
        _("Objection {receipt} to act {number}. Choose the answer:").format(
            receipt=receipt, number=found.act.number
        ),
        InlineKeyboardMarkup([*rows, cancel_row()]),
    )
    return OUTCOME


async def ask_text(update: Update) -> int:
    await say(
        update,
        _("Write the answer for the citizen ({min} to {max} characters):").format(
            min=ANSWER_MIN, max=ANSWER_MAX
        ),
        InlineKeyboardMarkup([cancel_row()]),
    )
    return TEXT


async def chose_outcome(update: Update, context: BotContext) -> int:
    assert update.callback_query is not None
    draft = pending(context)
    if not draft:
        return await gone(update, context)
    draft["outcome"] = (update.callback_query.data or "").removeprefix(CB + "o:")
    return await ask_text(update)


async def typed_text(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    draft = pending(context)
    if not draft or "outcome" not in draft:
        return await gone(update, context)
    text = (update.effective_message.text or "").strip()
    if len(text) < ANSWER_MIN:
        await say(
            update, "⚠️ " + _("Please write at least {count} characters.").format(count=ANSWER_MIN)
        )
        return await ask_text(update)
    if len(text) > ANSWER_MAX:
        await say(
            update,
            "⚠️ " + _("The answer is too long (at most {max} characters).").format(max=ANSWER_MAX),
        )
        return await ask_text(update)
    draft["text"] = text
    return await ask_confirm(update, draft)


async def ask_confirm(update: Update, draft: dict[str, Any]) -> int:
    outcome = Outcome(draft["outcome"])
    rows = [[InlineKeyboardButton(_("Send"), callback_data=CB + "send")]]
    rows += [
        [InlineKeyboardButton(_(ACTION_BUTTONS[action]), callback_data=f"{CB}send:{action}")]
        for action in sorted(ACTIONS_ALLOWED[outcome])
    ]
    await say(
        update,
        _("The citizen will read (in their language):\n{outcome}.\n{text}").format(
            outcome=outcome_label(outcome, current_locale()), text=draft["text"]
        ),
        InlineKeyboardMarkup([*rows, cancel_row()]),
    )
    return CONFIRM


async def confirmed(update: Update, context: BotContext) -> int:
    assert update.callback_query is not None
    draft = pending(context)
    if not draft or "text" not in draft:
        return await gone(update, context)
    choice = (update.callback_query.data or "").removeprefix(CB + "send").removeprefix(":")
    if choice == ActAction.RECOMPUTE:
        return await ask_amount(update, context)
    return await send(update, context, ActAction(choice) if choice else None, None)


async def ask_amount(update: Update, context: BotContext) -> int:
    draft = pending(context)
    async with context.services.sessions() as session:
        found = await objections.by_receipt(session, draft["receipt"])
    if found is None:
        return await gone(update, context)
    draft["old_amount"] = str(found.act.amount)
    await say(
        update,
        _("The act's new amount in AZN, less than {amount} (for example 120.50):").format(
            amount=format_money(found.act.amount)
        ),
        InlineKeyboardMarkup([cancel_row()]),
    )
    return AMOUNT


async def typed_amount(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    draft = pending(context)
    if not draft or "old_amount" not in draft:
        return await gone(update, context)
    raw = (update.effective_message.text or "").strip().replace(",", ".")
    try:
        amount = Decimal(raw).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        amount = Decimal(0)
    if not 0 < amount < Decimal(draft["old_amount"]):
        await say(update, "⚠️ " + _("That is not an amount less than the act's."))
        return await ask_amount(update, context)
    return await send(update, context, ActAction.RECOMPUTE, amount)


async def send(
    update: Update, context: BotContext, action: ActAction | None, amount: Decimal | None
) -> int:
    user = update.effective_user
    assert user is not None and context.user_data is not None
    draft = pending(context)
    refusal: str | None = None
    closed = False  # nothing left to answer
    queued = 0
    try:
        async with context.services.sessions.begin() as session:
            answered = await answer_objection(
                session, draft["receipt"], outcome=Outcome(draft["outcome"]), text=draft["text"],
                actor=f"telegram:{user.id}", now=utcnow(), action=action, amount=amount,
            )  # fmt: skip
            queued = answered.queued
    except (objections.AlreadyAnswered, objections.ObjectionNotFound):
        refusal, closed = _("This objection is already answered."), True
    except (ActionRefused, TransitionError, objections.AmountRefused):
        refusal = _("The act cannot change now (it is paid or cancelled). Send the answer alone.")
    if refusal is not None:
        await say(update, "⚠️ " + refusal)
        if closed:
            context.user_data.pop(PENDING_KEY, None)
            return ConversationHandler.END
        return await ask_confirm(update, draft)
    context.user_data.pop(PENDING_KEY, None)
    await say(
        update,
        _("Sent: objection {receipt} is answered. Notices queued: {count}.").format(
            receipt=draft["receipt"], count=queued
        ),
    )
    return ConversationHandler.END


async def gone(update: Update, context: BotContext) -> int:
    assert context.user_data is not None
    context.user_data.pop(PENDING_KEY, None)
    await say(update, _("No change was made."))
    return ConversationHandler.END


def build(staff: filters.BaseFilter) -> list[BaseHandler[Update, BotContext, Any]]:
    typed = staff & filters.TEXT & ~filters.COMMAND
    dialogue = conversation(
        entry_points=[CallbackQueryHandler(start, pattern=rf"^{CB}{RECEIPT_PATTERN}$")],
        states={
            OUTCOME: [CallbackQueryHandler(chose_outcome, pattern=rf"^{CB}o:[a-z_]+$")],
            TEXT: [MessageHandler(typed, typed_text)],
            CONFIRM: [CallbackQueryHandler(confirmed, pattern=rf"^{CB}send(:[a-z]+)?$")],
            AMOUNT: [MessageHandler(typed, typed_amount)],
        },
        fallbacks=[
            CallbackQueryHandler(gone, pattern=f"^{CB}cancel$"),
            CommandHandler("cancel", gone, filters=staff),
        ],
        name="objection_answer",
        persistent=True,
        allow_reentry=True,
    )
    return [dialogue]
