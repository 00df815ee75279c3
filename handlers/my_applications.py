"""*Müraciətlərim*: the citizen's applications, their history, lookup by number, withdrawal."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from chat.context import BotContext
from chat.keyboards import main_menu
from chat.queries import say
from chat.telegram_text import pack, say_all
from delivery import application_changes, payment_text
from delivery.notices import DEADLINE_ACTOR, DEADLINE_HISTORY, baku_day, status_label
from domain.application_status import (
    ApplicationStatus,
    can_withdraw,
    payment_deadline,
)
from domain.payment_channels import connection_reference
from domain.transitions import TransitionError
from i18n import N_, _, current_locale, format_date, format_datetime, format_money
from integrations.payments import Invoice
from storage import citizen_applications, status_changes
from storage.models import Application, ApplicationStatusChange

CB: Final = "my:"
TOO_LATE_TO_WITHDRAW: Final = N_(
    "This application can no longer be withdrawn: it is already paid or closed."
)
NUMBER: Final = re.compile(r"^\s*(QM-\d{4}-\d{6})\s*$", re.IGNORECASE)
NOT_FOUND: Final = N_(
    "I could not find an application with the number {number} among yours. Please check the "
    "number; applications are shown to the person who submitted them."
)


async def reply(update: Update, text: str, markup: Any = None) -> None:
    """Answer with the main menu unless the answer has buttons of its own."""
    await say(update, text, markup or main_menu())


def summary_line(application: Application) -> str:
    return _("{number} of {date}: {status}").format(
        number=application.number,
        date=format_datetime(application.created_at),
        status=status_label(application.status, current_locale()),
    )


async def list_mine(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    async with context.services.sessions() as session:
        found = await citizen_applications.mine(session, user.id)
    if not found:
        await reply(
            update,
            _("You have no applications yet. To apply, press «Connection request»."),
        )
        return
    buttons = [[InlineKeyboardButton(a.number, callback_data=CB + a.number)] for a in found]
    await say_all(update, list_messages(found), InlineKeyboardMarkup(buttons))


def list_messages(found: Sequence[Application]) -> list[str]:
    lines = [_("Your applications:"), *(f"• {summary_line(a)}" for a in found)]
    return pack([*lines, _("Choose one to see its history, or send its number.")])


def history_line(change: ApplicationStatusChange) -> str:
    line = (
        f"{format_datetime(change.changed_at)} — {status_label(change.to_status, current_locale())}"
    )
    # A deadline's closure: its stored comment is for staff; the citizen reads the catalog's.
    comment = _(DEADLINE_HISTORY) if change.actor == DEADLINE_ACTOR else change.comment
    return line + (f" ({comment})" if comment else "")


def detail_messages(
    application: Application, history: Sequence[ApplicationStatusChange]
) -> list[str]:
    """The application and its whole history, in as many messages as it takes."""
    blocks = [
        _("Application {number}").format(number=application.number),
        _("Status: {status}").format(status=status_label(application.status, current_locale())),
        _("Last change: {when}").format(when=format_datetime(application.status_changed_at)),
        _("District: {district}").format(district=application.district),
        _("Connection fee: {amount}").format(amount=format_money(application.fee_amount)),
        *payment_lines(application),
        "",
        _("History:"),
        *(f"• {history_line(change)}" for change in history),
    ]
    return pack(blocks)


def awaits_payment(application: Application) -> bool:
    return application.status == ApplicationStatus.PAYMENT_PENDING and application.fee_amount > 0


def payment_lines(application: Application) -> list[str]:
    """While the fee is awaited: how much, by when, the reference and where."""
    if not awaits_payment(application):
        return []
    deadline = payment_deadline(baku_day(application.status_changed_at))
    return [
        _("To pay: {amount} by {deadline}.").format(
            amount=format_money(application.fee_amount), deadline=format_date(deadline)
        ),
        *payment_text.application_lines(application, current_locale()),
    ]


async def payment_link(context: BotContext, application: Application) -> str | None:
    if not awaits_payment(application):
        return None
    invoice = Invoice(
        connection_reference(application.number),
        application.fee_amount,
        f"Azərişıq {application.number}",
    )
    return (await context.services.payments.offer(invoice)).link


async def show(update: Update, context: BotContext, number: str) -> None:
    user = update.effective_user
    assert user is not None
    async with context.services.sessions() as session:
        application = await citizen_applications.one_of_mine(session, user.id, number)
        history = list(await status_changes.history(session, application.id)) if application else []
    if application is None:
        await reply(update, _(NOT_FOUND).format(number=number.strip().upper()[:20]))
        return
    rows = []
    link = await payment_link(context, application)
    if link:
        rows.append([InlineKeyboardButton(_(payment_text.PAY_ONLINE), url=link)])
    if can_withdraw(ApplicationStatus(application.status)):
        rows.append(
            [
                InlineKeyboardButton(
                    _("Withdraw"), callback_data=f"{CB}withdraw:{application.number}"
                )
            ]
        )
    markup = InlineKeyboardMarkup(rows) if rows else None
    await say_all(update, detail_messages(application, history), markup or main_menu())


async def pressed_application(update: Update, context: BotContext) -> None:
    assert update.callback_query is not None
    await show(update, context, (update.callback_query.data or "").removeprefix(CB))


async def typed_number(update: Update, context: BotContext) -> None:
    assert update.effective_message is not None
    match = NUMBER.match(update.effective_message.text or "")
    assert match is not None
    await show(update, context, match.group(1))


async def ask_withdrawal(update: Update, context: BotContext) -> None:
    assert update.callback_query is not None
    number = (update.callback_query.data or "").removeprefix(CB + "withdraw:")
    await reply(
        update,
        _("Withdraw application {number}? This cannot be undone.").format(number=number),
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _("Yes, withdraw"), callback_data=f"{CB}withdraw!:{number}"
                    ),
                    InlineKeyboardButton(_("No"), callback_data=CB + number),
                ]
            ]
        ),
    )


async def withdraw(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert update.callback_query is not None and user is not None
    number = (update.callback_query.data or "").removeprefix(CB + "withdraw!:")
    # replies after the transaction: tests/test_no_reply_in_transaction.py
    async with context.services.sessions.begin() as session:
        application = await citizen_applications.one_of_mine(session, user.id, number)
        withdrawn = False
        if application is not None:
            try:
                await application_changes.change_status(
                    session,
                    number,
                    ApplicationStatus.WITHDRAWN,
                    actor="citizen",
                    notify_telegram=False,
                )
                withdrawn = True
            except TransitionError:
                pass
    if application is None:
        await reply(update, _(NOT_FOUND).format(number=number[:20]))
    elif not withdrawn:
        await reply(
            update, _("This application can no longer be withdrawn: it is already paid or closed.")
        )
    else:
        await reply(update, _("Application {number} is withdrawn.").format(number=number))


def build() -> list[BaseHandler[Update, BotContext, Any]]:
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(private & filters.Regex(NUMBER), typed_number),
        CallbackQueryHandler(ask_withdrawal, pattern=rf"^{CB}withdraw:QM-\d{{4}}-\d{{6}}$"),
        CallbackQueryHandler(withdraw, pattern=rf"^{CB}withdraw!:QM-\d{{4}}-\d{{6}}$"),
        CallbackQueryHandler(pressed_application, pattern=rf"^{CB}QM-\d{{4}}-\d{{6}}$"),
    ]
