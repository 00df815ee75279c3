"""`/status QM-2026-000123` for staff: the application, and buttons to move it on.

A pressed status asks for a comment for the citizen (optional; required for a rejection),
then the change is made with its notices. Non-staff never reach this: the command does not
exist for them, and a forged button is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from chat.telegram_text import pack, say_all
from delivery import application_changes
from delivery.notices import status_label
from domain.application_status import ApplicationStatus, allowed_targets
from domain.transitions import TransitionError
from i18n import N_, _, current_locale, format_datetime, format_money
from storage import status_changes
from storage.models import Application, ApplicationStatusChange

COMMENT: Final = 0
CB: Final = "st:"
PENDING_KEY: Final = "staff_status_change"
NUMBER_PATTERN: Final = r"QM-\d{4}-\d{6}"
NO_SUCH_NUMBER: Final = N_("No application has the number {number}.")

REFUSALS: Final[dict[str, str]] = {
    "reason_required": N_("A rejection needs a reason. Please write it."),
    "too_long": N_("The comment is too long (at most 1000 characters)."),
    "illegal": N_("This change is not allowed from the current status."),
    "final": N_("The application is closed; its status cannot change."),
    "same_status": N_("The application already has this status."),
    "unknown_status": N_("Unknown status."),
    "changed_meanwhile": N_("Someone changed this application a moment ago; please look again."),
}


def staff_view(application: Application, history: Sequence[ApplicationStatusChange]) -> list[str]:
    """The application with its whole history, in as many messages as it takes."""
    locale = current_locale()
    lines = [
        _("Application {number}").format(number=application.number),
        _("Status: {status}").format(status=status_label(application.status, locale)),
        f"{application.last_name} {application.first_name} {application.patronymic or ''}".strip(),
        f"{application.phone_e164} · {application.district} · {application.regional_unit or '—'}",
        _("Connection fee: {amount}").format(amount=format_money(application.fee_amount)),
        "",
        _("History:"),
    ]
    for change in history:
        line = f"• {format_datetime(change.changed_at)} — "
        line += f"{status_label(change.to_status, locale)} ({change.actor})"
        lines.append(line + (f": {change.comment}" if change.comment else ""))
    return pack(lines)


def target_buttons(application: Application) -> InlineKeyboardMarkup | None:
    targets = allowed_targets(ApplicationStatus(application.status), free=application.free)
    if not targets:
        return None
    rows = [
        [
            InlineKeyboardButton(
                status_label(target, current_locale()),
                callback_data=f"{CB}{application.number}:{target}",
            )
        ]
        for target in targets
    ]
    return InlineKeyboardMarkup(rows)


async def show(update: Update, context: BotContext) -> int:
    number = (context.args or [""])[0]
    async with context.services.sessions() as session:
        application = await status_changes.by_number(session, number)
        history = list(await status_changes.history(session, application.id)) if application else []
    if application is None:
        await say(update, _(NO_SUCH_NUMBER).format(number=number[:20]))
        return ConversationHandler.END
    await say_all(update, staff_view(application, history), target_buttons(application))
    return ConversationHandler.END


async def choose_target(update: Update, context: BotContext) -> int:
    user = update.effective_user
    query = update.callback_query
    assert query is not None and context.user_data is not None
    if user is None or not context.is_staff(user.id):
        await answer_once(query, _("This button is no longer active."))
        return ConversationHandler.END
    number, target = (query.data or "").removeprefix(CB).split(":", 1)
    context.user_data[PENDING_KEY] = {"number": number, "target": target}
    question = (
        _("Reason for the rejection (the citizen will read it):")
        if target == ApplicationStatus.REJECTED
        else _("A comment for the citizen, or press «No comment»:")
    )
    rows = [[InlineKeyboardButton(_("Cancel"), callback_data=CB + "cancel")]]
    if target != ApplicationStatus.REJECTED:
        rows.insert(0, [InlineKeyboardButton(_("No comment"), callback_data=CB + "nocomment")])
    await say(
        update,
        _("{number} → {status}.").format(
            number=number, status=status_label(target, current_locale())
        )
        + "\n"
        + question,
        InlineKeyboardMarkup(rows),
    )
    return COMMENT


async def typed_comment(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    return await apply(update, context, update.effective_message.text)


async def no_comment(update: Update, context: BotContext) -> int:
    return await apply(update, context, None)


async def apply(update: Update, context: BotContext, comment: str | None) -> int:
    user = update.effective_user
    assert user is not None and context.user_data is not None
    pending = context.user_data.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return ConversationHandler.END
    try:
        async with context.services.sessions.begin() as session:
            done = await application_changes.change_status(
                session,
                pending["number"],
                pending["target"],
                actor=f"telegram:{user.id}",
                comment=comment,
            )
    except TransitionError as error:
        await say(update, "⚠️ " + _(REFUSALS.get(error.reason, REFUSALS["illegal"])))
        if error.reason in {"reason_required", "too_long"}:
            return COMMENT
        context.user_data.pop(PENDING_KEY, None)
        return ConversationHandler.END
    except status_changes.ApplicationNotFound:
        await say(
            update, _("No application has the number {number}.").format(number=pending["number"])
        )
        context.user_data.pop(PENDING_KEY, None)
        return ConversationHandler.END
    context.user_data.pop(PENDING_KEY, None)
    await say(
        update,
        _("Done: {number} is now «{status}». Notices queued: {count}.").format(
            number=done.application.number,
            status=status_label(done.application.status, current_locale()),
            count=done.queued,
        ),
    )
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    assert context.user_data is not None
    context.user_data.pop(PENDING_KEY, None)
    await say(update, _("No change was made."))
    return ConversationHandler.END


def build(staff: filters.BaseFilter) -> list[BaseHandler[Update, BotContext, Any]]:
    dialogue = conversation(
        entry_points=[
            CallbackQueryHandler(choose_target, pattern=rf"^{CB}{NUMBER_PATTERN}:[a-z_]+$"),
        ],
        states={
            COMMENT: [
                CallbackQueryHandler(no_comment, pattern=f"^{CB}nocomment$"),
                MessageHandler(staff & filters.TEXT & ~filters.COMMAND, typed_comment),
            ]
        },
        fallbacks=[
            CallbackQueryHandler(cancel, pattern=f"^{CB}cancel$"),
            CommandHandler("cancel", cancel, filters=staff),
        ],
        name="staff_status",
        persistent=True,
        allow_reentry=True,
    )
    return [CommandHandler("status", show, filters=staff), dialogue]
