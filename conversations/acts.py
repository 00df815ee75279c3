"""*Aktlar və ödənişlər*: follow a subscriber code, see its acts and how they were computed, object.

A chat may follow a subscriber code only when the billing system's phone on file for that code
is the citizen's verified phone (shared as a contact from their own account, or proved with an
SMS code). A refusal says the same whatever the reason (unknown code, another phone, no phone on
file), so it reveals nothing about the account or its acts. For the same reason a code by SMS
goes only to the number on file for the code being added; any other number gets the same answer
and a decoy that the SMS caps count like a code (conversations/phone_check.py), but no SMS.

    LIST ──add──▶ CODE ──(no verified phone)──▶ PHONE ──typed──▶ PHONE_CODE
      │             └──────────── the link is checked ◀──────────────┘
      ├──act──▶ detail ──Etiraz et──▶ OBJECTION_TEXT ──▶ OBJECTION_PREVIEW ──Göndər──▶ receipt
      │                                       ▲ ◀──Düzəlt──────┘ (more text or photos: added)
      ├──Kodu sil──▶ (which code) ──▶ confirmation ──Bəli──▶ unlinked, LIST
      └──Nömrələrim──▶ the numbers held ──sil──▶ confirmation (what it stops) ──Bəli──▶ removed

The citizen is in control of their links: a code they no longer want is unlinked, and a number
they no longer use is removed from their confirmed numbers (storage.citizen_phones.remove).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any, Final

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
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
from chat.keyboards import MenuItem, main_menu, menu_item_pattern
from chat.menu import menu_exit
from chat.queries import answer_once, say
from chat.telegram_text import MAX_TEXT, say_all, utf16_len
from conversations import act_text, phone_check
from conversations.texts import reason_text
from delivery import act_notices, payment_text
from domain import identifiers
from domain.acts import BAKU, ActStatus, objection_answer_due
from domain.payment_channels import act_reference
from i18n import LOCALES, N_, _, current_locale, format_date, translate
from integrations.payments import Invoice
from integrations.subscribers import DirectoryUnavailable
from storage import acts, citizen_phones, citizens
from storage.models import ActObjection, Citizen, ViolationAct
from storage.types import AsyncSession

log = logging.getLogger(__name__)

LIST, CODE, PHONE, PHONE_CODE, OBJECTION_TEXT, OBJECTION_PREVIEW = range(6)

CB: Final = "ak:"
KEY: Final = "acts"  # in user_data: the pending code, phone and objection
OBJECTION_MIN: Final = 10
PHOTOS_MAX: Final = 5
#: Open acts are shown with their deadline; the dialogue lists at most this many.
LIST_MAX: Final = 20

NOT_LINKED: Final = N_(
    "We could not add this subscriber code: it is not registered to your confirmed number "
    "{phone}. If the account is yours, please have your mobile number recorded for it at an "
    "Azərişıq service centre or by calling 199, then try again."
)
#: The same whether the typed number is on file (a code is sent) or not (nothing is sent).
CODE_ON_ITS_WAY: Final = N_(
    "If {phone} is the number on file for this subscriber code, a 6-digit code is on its way "
    "to it by SMS. Please type it here (it is valid for 5 minutes):"
)
CANCEL_LABEL: Final = N_("Cancel")
PHONE_QUESTION: Final = N_(
    "To show the acts of this account we must be sure it is yours. Please share your mobile "
    "number with the button below, or type it (we will send a code by SMS). It must be the "
    "number recorded for the subscriber code."
)
#: Asked when the citizen has confirmed numbers: each is a button, and needs no new code.
CHOOSE_PHONE_QUESTION: Final = N_(
    "To show the acts of this account we must be sure it is yours. Which of your confirmed "
    "numbers is recorded for the subscriber code? Choose it below (no new code is needed), or "
    "share or type another number."
)
OBJECTION_QUESTION: Final = N_(
    "Please write why you disagree with act {number}. You may write in several messages and add "
    "photos; you will see it all before it is sent."
)
PREVIEW_QUESTION: Final = N_(
    "Add more text or photos, press «Send» to send it, or «Edit the text» to write it again."
)
TOO_LONG: Final = N_(
    "That is too long for one objection: at most {count} characters in all. Please write it "
    "shorter."
)
UNLINK_QUESTION: Final = N_(
    "Remove the subscriber code {code}? Notices and payment reminders for its acts will no "
    "longer come to this chat."
)
UNLINKED: Final = N_("The subscriber code {code} is removed. You can add it again at any time.")
NUMBERS_HEAD: Final = N_("The numbers we hold for you:")
NUMBER_CURRENT: Final = N_("– your confirmed number: your subscriber codes rely on it")
NUMBER_APPLICATIONS: Final = N_("– given in applications {numbers}: their status SMS go to it")
NUMBER_REMOVED: Final = N_("– removed: not used for subscriber codes without a new code")
REMOVE_PHONE_QUESTION: Final = N_(
    "Remove the number {phone}? Without a new SMS code it will no longer be offered for adding "
    "subscriber codes."
)
REMOVE_STOPS_CODES: Final = N_(
    "Your subscriber codes ({codes}) rely on it: their notices and reminders will stop coming "
    "here until you confirm a number again."
)
REMOVE_KEEPS_SMS: Final = N_(
    "The status SMS of applications {numbers} will still go to this number: it is written in "
    "those applications."
)
DIRECTORY_DOWN: Final = N_(
    "We cannot check subscriber codes right now. Please try again in a few minutes."
)


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return now().astimezone(BAKU).date()


def state(context: BotContext) -> dict[str, Any]:
    assert context.user_data is not None
    found = context.user_data.setdefault(KEY, {})
    assert isinstance(found, dict)
    return found


def button(label: str, data: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(label, callback_data=CB + data)]


async def the_citizen(update: Update, context: BotContext) -> Citizen:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with context.services.sessions.begin() as session:
        citizen = await citizens.by_telegram_user(session, user.id)
        if citizen is None or citizen.telegram_chat_id != chat.id or citizen.blocked:
            citizen = await citizens.register_telegram_user(
                session, telegram_user_id=user.id, chat_id=chat.id, locale=current_locale()
            )
        session.expunge(citizen)
    return citizen


# --------------------------------------------------------------------------- the list


async def start(update: Update, context: BotContext) -> int:
    assert context.user_data is not None
    context.user_data[KEY] = {}
    citizen = await the_citizen(update, context)
    async with context.services.sessions() as session:
        codes = await acts.linked_codes(session, citizen.id)
    if not codes:
        await say(
            update,
            _(
                "Here you can see the acts drawn up for your electricity account, how their "
                "amount was calculated and when to pay, and object to an act."
            ),
            main_menu(),
        )
        return await ask_code(update, numbers=await has_numbers(context, citizen))
    return await show_list(update, context, citizen)


async def has_numbers(context: BotContext, citizen: Citizen) -> bool:
    async with context.services.sessions() as session:
        return bool(await citizen_phones.own_numbers(session, citizen))


async def show_list(update: Update, context: BotContext, citizen: Citizen | None = None) -> int:
    citizen = citizen or await the_citizen(update, context)
    async with context.services.sessions() as session:
        codes = await acts.linked_codes(session, citizen.id)
        found = (await acts.acts_of_citizen(session, citizen.id))[:LIST_MAX]
    if not codes:
        return await ask_code(update, numbers=await has_numbers(context, citizen))
    rows = [button(act.number, f"show:{act.number}") for act in found]
    rows.append(button(_("Add a subscriber code"), "add"))
    rows.append(button(_("Remove a code"), "unlink"))
    rows.append(button(_("My numbers"), "numbers"))
    rows.append(button(_("Close"), "close"))
    await say_all(update, act_text.list_messages(codes, found, today()), InlineKeyboardMarkup(rows))
    return LIST


async def listed(update: Update, context: BotContext) -> int:
    return await show_list(update, context)


async def mine(update: Update, context: BotContext, number: str) -> ViolationAct | None:
    citizen = await the_citizen(update, context)
    async with context.services.sessions() as session:
        return await acts.act_of_citizen(session, citizen.id, number)


async def show_act(update: Update, context: BotContext) -> int:
    assert update.callback_query is not None and update.callback_query.data is not None
    number = update.callback_query.data.removeprefix(CB + "show:")
    act = await mine(update, context, number)
    if act is None:
        await answer_once(update.callback_query, _("This act is not among yours."))
        return await show_list(update, context)
    rows = []
    link = await payment_link(context, act)
    if link:
        rows.append([InlineKeyboardButton(_(payment_text.PAY_ONLINE), url=link)])
    if act.status != ActStatus.CANCELLED:
        rows.append(button(_("Raise an objection"), f"object:{act.number}"))
    rows.append(button(_("Back"), "list"))
    await say_all(update, act_text.detail_messages(act, today()), InlineKeyboardMarkup(rows))
    return LIST


async def payment_link(context: BotContext, act: ViolationAct) -> str | None:
    """The gateway's checkout page for what is left to pay (None without a gateway)."""
    if not payment_text.act_payable(act):
        return None
    invoice = Invoice(
        act_reference(act.subscriber_code, act.number),
        acts.outstanding(act),
        f"Azərişıq {act.number}",
    )
    return (await context.services.payments.offer(invoice)).link


async def close(update: Update, context: BotContext) -> int:
    assert context.user_data is not None
    context.user_data.pop(KEY, None)
    await say(update, _("Closed. Please choose from the menu below."), main_menu())
    return ConversationHandler.END


# --------------------------------------------------------------------------- linking a code


async def ask_code(update: Update, note: str | None = None, *, numbers: bool = False) -> int:
    """The code question; ``numbers``: with «Nömrələrim» (the citizen has numbers to see)."""
    question = _(
        "Please send your 15-digit subscriber code (abonent kodu). It is printed on your "
        "electricity bill."
    )
    rows = [button(_("My numbers"), "numbers")] if numbers else []
    rows.append(button(_("Cancel"), "close"))
    await say(update, f"{note}\n\n{question}" if note else question, InlineKeyboardMarkup(rows))
    return CODE


async def add_code(update: Update, context: BotContext) -> int:
    return await ask_code(update)


async def typed_code(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    try:
        code = identifiers.parse_subscriber_code(update.effective_message.text or "")
    except identifiers.IdentifierError as error:
        reason = (
            _("A subscriber code has exactly 15 digits.")
            if error.reason in ("length", "characters")
            else reason_text(error)
        )
        return await ask_code(update, "⚠️ " + reason)
    state(context)["code"] = code
    citizen = await the_citizen(update, context)
    numbers = await confirmed_numbers(context, citizen)
    if citizen.phone_verified and numbers == [citizen.phone_e164]:
        return await link_code(update, context, citizen)
    return await ask_phone(update, context)


async def confirmed_numbers(context: BotContext, citizen: Citizen) -> list[str]:
    async with context.services.sessions() as session:
        return await citizen_phones.confirmed_numbers(session, citizen)


async def ask_phone(update: Update, context: BotContext, note: str | None = None) -> int:
    """The phone question; the citizen's confirmed numbers are buttons (no new code for them)."""
    numbers = await confirmed_numbers(context, await the_citizen(update, context))
    question = _(CHOOSE_PHONE_QUESTION) if numbers else _(PHONE_QUESTION)
    await say(
        update,
        f"{note}\n\n{question}" if note else question,
        # One keyboard a message: «Ləğv et» is on the reply keyboard, and arrives as text.
        ReplyKeyboardMarkup(
            [
                *([KeyboardButton(number)] for number in numbers),
                [KeyboardButton(_("📱 Share my number"), request_contact=True)],
                [KeyboardButton(_(CANCEL_LABEL))],
            ],
            resize_keyboard=True,
            one_time_keyboard=True,
        ),
    )
    return PHONE


def is_cancel(text: str | None) -> bool:
    """The reply keyboard's «Ləğv et» (in any language)."""
    folded = " ".join((text or "").casefold().split())
    return any(folded == translate(CANCEL_LABEL, locale).casefold() for locale in LOCALES)


async def shared_contact(update: Update, context: BotContext) -> int:
    message, sender = update.effective_message, update.effective_user
    assert message is not None and message.contact is not None and sender is not None
    if message.contact.user_id != sender.id:
        note = _("This is someone else's contact. Please share your own number.")
        return await ask_phone(update, context, "⚠️ " + note)
    try:
        phone = identifiers.parse_mobile_phone(message.contact.phone_number)
    except identifiers.IdentifierError as error:
        return await ask_phone(update, context, "⚠️ " + reason_text(error))
    return await phone_proved(update, context, phone)


async def typed_phone(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    if is_cancel(update.effective_message.text):
        return await close(update, context)
    try:
        phone = identifiers.parse_mobile_phone(update.effective_message.text or "")
    except identifiers.IdentifierError as error:
        return await ask_phone(update, context, "⚠️ " + reason_text(error))
    citizen = await the_citizen(update, context)
    if phone in await confirmed_numbers(context, citizen):
        return await use_confirmed(update, context, citizen, phone)
    state(context)["phone"] = phone
    sending = await request_code(update, context, phone)
    if sending is None:
        return ConversationHandler.END
    if sending.sent is phone_check.Sent.REFUSED:
        return await ask_phone(update, context, sending.note)
    return await asked_code(update, phone, sending)


async def use_confirmed(update: Update, context: BotContext, citizen: Citizen, phone: str) -> int:
    """One of the citizen's confirmed numbers: no new code; it becomes their verified phone."""
    if not (citizen.phone_verified and citizen.phone_e164 == phone):
        async with context.services.sessions.begin() as session:
            stored = await session.get(Citizen, citizen.id)
            assert stored is not None
            await citizens.remember_verified_phone(session, stored, phone)
            session.expunge(stored)
        citizen = stored
    await say(update, _("We use your confirmed number {phone}.").format(phone=phone), main_menu())
    return await link_code(update, context, citizen)


async def request_code(
    update: Update, context: BotContext, phone: str
) -> phone_check.Sending | None:
    """A code by SMS only to the number on file for the pending subscriber code, a decoy else.

    Either way the caps count it and the citizen reads the same answer, so trying numbers
    teaches nothing about the account, and an unrelated number is never texted.
    None: the directory does not answer (said so).
    """
    code = state(context).get("code")
    on_file: str | None = None
    if isinstance(code, str):
        try:
            on_file = await context.services.subscribers.phone_of(code)
        except DirectoryUnavailable:
            await say(update, _(DIRECTORY_DOWN), main_menu())
            return None
    return await phone_check.send_code(update, context, phone, sms=on_file == phone)


async def ask_sms_code(
    update: Update, phone: str, *, fresh: bool = True, note: str | None = None
) -> int:
    text = _(CODE_ON_ITS_WAY) if fresh else _(phone_check.EARLIER_CODE_QUESTION)
    question = text.format(phone=phone)
    await say(update, f"{note}\n\n{question}" if note else question, code_buttons())
    return PHONE_CODE


async def asked_code(update: Update, phone: str, sending: phone_check.Sending) -> int:
    """The code question after asking for a code: "on its way", or why not and an earlier one."""
    fresh = sending.sent is phone_check.Sent.SENT
    return await ask_sms_code(update, phone, fresh=fresh, note=sending.note)


def code_buttons() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            button(_("Send the code again"), "resend"),
            button(_("Change the number"), "rephone"),
        ]
    )


async def typed_sms_code(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    phone = state(context).get("phone")
    if not isinstance(phone, str):
        return await ask_phone(update, context)
    refused = await phone_check.check_code(
        update, context, phone, update.effective_message.text or ""
    )
    if refused is not None:
        await say(update, phone_check.refusal_question(refused, phone), code_buttons())
        return PHONE_CODE
    return await phone_proved(update, context, phone)


async def resend_sms_code(update: Update, context: BotContext) -> int:
    phone = state(context).get("phone")
    if not isinstance(phone, str):
        return await ask_phone(update, context)
    sending = await request_code(update, context, phone)
    if sending is None:
        return ConversationHandler.END
    return await asked_code(update, phone, sending)


async def change_phone(update: Update, context: BotContext) -> int:
    state(context).pop("phone", None)
    return await ask_phone(update, context)


async def phone_proved(update: Update, context: BotContext, phone: str) -> int:
    citizen = await the_citizen(update, context)
    async with context.services.sessions.begin() as session:
        stored = await session.get(Citizen, citizen.id)
        assert stored is not None
        await citizens.remember_verified_phone(session, stored, phone)
        session.expunge(stored)
    await say(
        update, _("Thank you, the number {phone} is confirmed.").format(phone=phone), main_menu()
    )
    return await link_code(update, context, stored)


async def link_code(update: Update, context: BotContext, citizen: Citizen) -> int:
    code = state(context).get("code")
    if not isinstance(code, str):
        return await ask_code(update)
    try:
        on_file = await context.services.subscribers.phone_of(code)
    except DirectoryUnavailable:
        await say(update, _(DIRECTORY_DOWN), main_menu())
        return ConversationHandler.END
    if on_file is None or on_file != citizen.phone_e164:
        log.info("acts: a subscriber code was not linked (phone on file differs or unknown)")
        return await ask_code(update, "⚠️ " + _(NOT_LINKED).format(phone=citizen.phone_e164))
    async with context.services.sessions.begin() as session:
        await acts.link(session, citizen.id, code)
    state(context).pop("code", None)
    await say(
        update,
        _("The subscriber code {code} is added. We will tell you here about its acts.").format(
            code=code
        ),
    )
    return await show_list(update, context, citizen)


# --------------------------------------------------------------------------- unlinking a code


def pressed_value(update: Update, prefix: str) -> str:
    assert update.callback_query is not None and update.callback_query.data is not None
    return update.callback_query.data.removeprefix(CB + prefix)


def yes_no(yes: str, data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([button(yes, data), button(_("No"), "list")])


async def choose_unlink(update: Update, context: BotContext) -> int:
    """«Kodu sil»: the one code followed is asked about at once; of several, which one."""
    citizen = await the_citizen(update, context)
    async with context.services.sessions() as session:
        codes = await acts.linked_codes(session, citizen.id)
    if len(codes) == 1:
        return await confirm_unlink_of(update, codes[0])
    if not codes:
        return await show_list(update, context, citizen)
    rows = [button(code, f"unlink:{code}") for code in codes]
    rows.append(button(_("Back"), "list"))
    await say(update, _("Which subscriber code should we remove?"), InlineKeyboardMarkup(rows))
    return LIST


async def confirm_unlink(update: Update, context: BotContext) -> int:
    code = pressed_value(update, "unlink:")
    citizen = await the_citizen(update, context)
    async with context.services.sessions() as session:
        codes = await acts.linked_codes(session, citizen.id)
    if code not in codes:
        return await not_yours(update, context, _("This subscriber code is not among yours."))
    return await confirm_unlink_of(update, code)


async def confirm_unlink_of(update: Update, code: str) -> int:
    question = _(UNLINK_QUESTION).format(code=code)
    await say(update, question, yes_no(_("Yes, remove"), f"unlink!:{code}"))
    return LIST


async def unlink(update: Update, context: BotContext) -> int:
    code = pressed_value(update, "unlink!:")
    citizen = await the_citizen(update, context)
    async with context.services.sessions.begin() as session:
        removed = await acts.unlink(session, citizen.id, code)
    if not removed:
        return await not_yours(update, context, _("This subscriber code is not among yours."))
    log.info("acts: a subscriber code was unlinked")
    await say(update, _(UNLINKED).format(code=code))
    return await show_list(update, context, citizen)


async def not_yours(update: Update, context: BotContext, why: str) -> int:
    """A stale or foreign button: said on the button, and the list again."""
    assert update.callback_query is not None
    await answer_once(update.callback_query, why)
    return await show_list(update, context)


# --------------------------------------------------------------------------- the numbers held


def number_lines(held: citizen_phones.HeldNumber) -> list[str]:
    lines = [f"• {held.phone}"]
    if held.current:
        lines.append(_(NUMBER_CURRENT))
    if held.applications:
        lines.append(_(NUMBER_APPLICATIONS).format(numbers=", ".join(held.applications)))
    if held.removed:
        lines.append(_(NUMBER_REMOVED))
    return lines


async def show_numbers(update: Update, context: BotContext, note: str | None = None) -> int:
    """«Nömrələrim»: the citizen's own numbers, what each is used for, a removal for each
    confirmed one."""
    citizen = await the_citizen(update, context)
    async with context.services.sessions() as session:
        held = await citizen_phones.own_numbers(session, citizen)
    if held:
        text = "\n".join([_(NUMBERS_HEAD), *(line for h in held for line in number_lines(h))])
    else:
        text = _("We hold no numbers for you.")
    rows = [
        button(_("Remove {phone}").format(phone=h.phone), f"unphone:{h.phone}")
        for h in held
        if not h.removed
    ]
    rows.append(button(_("Back"), "list"))
    await say(update, f"{note}\n\n{text}" if note else text, InlineKeyboardMarkup(rows))
    return LIST


async def not_your_number(update: Update, context: BotContext) -> int:
    assert update.callback_query is not None
    await answer_once(update.callback_query, _("This number is not among yours."))
    return await show_numbers(update, context)


async def numbers(update: Update, context: BotContext) -> int:
    return await show_numbers(update, context)


async def confirm_remove_phone(update: Update, context: BotContext) -> int:
    """What removing the number stops, honestly: the codes that rely on it, and the SMS of
    applications, which keep going to the number they were submitted with."""
    phone = pressed_value(update, "unphone:")
    citizen = await the_citizen(update, context)
    async with context.services.sessions() as session:
        held = next(
            (h for h in await citizen_phones.own_numbers(session, citizen) if h.phone == phone),
            None,
        )
        codes = await acts.linked_codes(session, citizen.id)
    if held is None or held.removed:
        return await not_your_number(update, context)
    parts = [_(REMOVE_PHONE_QUESTION).format(phone=phone)]
    if held.current and codes:
        parts.append(_(REMOVE_STOPS_CODES).format(codes=", ".join(codes)))
    if held.applications:
        parts.append(_(REMOVE_KEEPS_SMS).format(numbers=", ".join(held.applications)))
    keyboard = InlineKeyboardMarkup(
        [button(_("Yes, remove"), f"unphone!:{phone}"), button(_("No"), "numbers")]
    )
    await say(update, "\n\n".join(parts), keyboard)
    return LIST


async def remove_phone(update: Update, context: BotContext) -> int:
    phone = pressed_value(update, "unphone!:")
    citizen = await the_citizen(update, context)
    async with context.services.sessions.begin() as session:
        removed = await citizen_phones.remove(session, citizen, phone)
    if removed is None:
        return await not_your_number(update, context)
    log.info("acts: a confirmed number was removed (current: %s)", removed.current)
    return await show_numbers(
        update, context, _("The number {phone} is removed.").format(phone=phone)
    )


# --------------------------------------------------------------------------- objections


async def start_objection(update: Update, context: BotContext) -> int:
    assert update.callback_query is not None and update.callback_query.data is not None
    number = update.callback_query.data.removeprefix(CB + "object:")
    act = await mine(update, context, number)
    if act is None or act.status == ActStatus.CANCELLED:
        await answer_once(update.callback_query, _("This act is not among yours."))
        return await show_list(update, context)
    state(context)["objection"] = {"number": act.number, "text": "", "photos": []}
    return await ask_objection_text(update, act.number)


async def ask_objection_text(update: Update, number: str, note: str | None = None) -> int:
    question = _(OBJECTION_QUESTION).format(number=number)
    await say(
        update,
        f"{note}\n\n{question}" if note else question,
        InlineKeyboardMarkup([button(_("Cancel"), "list")]),
    )
    return OBJECTION_TEXT


def objection(context: BotContext) -> dict[str, Any] | None:
    found = state(context).get("objection")
    return found if isinstance(found, dict) else None


def preview_text(number: str, text: str, photos: int) -> str:
    """The objection as it will be sent, framed: what it is, the text, the photos, the choice."""
    return "\n\n".join(
        (
            _("Your objection to act {number}:").format(number=number),
            text,
            _("Photos: {count} of {max}.").format(count=photos, max=PHOTOS_MAX),
            _(PREVIEW_QUESTION),
        )
    )


def objection_room(act: ViolationAct) -> int:
    """The most text (UTF-16 units, as Telegram counts) that fits one message both in its
    preview and in the staff's notice of it."""
    longest = ActObjection(
        receipt_number="ET-9999-999999", text="", photo_file_ids=["x"] * PHOTOS_MAX
    )
    staff = max(  # whatever the answer date's month is called
        utf16_len(act_notices.objection_for_staff(act, longest, date(2026, month, 28)))
        for month in range(1, 13)
    )
    framing = max(utf16_len(preview_text(act.number, "", PHOTOS_MAX)), staff)
    return MAX_TEXT - framing


def preview_buttons() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [button(_("Send"), "send"), button(_("Edit the text"), "redo"), button(_("Cancel"), "list")]
    )


async def show_preview(update: Update, draft: dict[str, Any], note: str | None = None) -> int:
    """The preview; with ``note`` (a refusal) the reason and the question, not the text again."""
    if note is None:
        text = preview_text(draft["number"], draft["text"], len(draft["photos"]))
    else:
        text = f"{note}\n\n{_(PREVIEW_QUESTION)}"
    await say(update, text, preview_buttons())
    return OBJECTION_PREVIEW


async def typed_objection(update: Update, context: BotContext) -> int:
    """A piece of the objection (text, or a photo with or without a caption): added, then the
    preview; over the room the preview has, or too short, refused with the question again."""
    message = update.effective_message
    draft = objection(context)
    assert message is not None
    if draft is None:
        return await show_list(update, context)
    previewing = bool(draft["text"])
    note = None
    if message.photo:
        if len(draft["photos"]) < PHOTOS_MAX:
            draft["photos"].append(message.photo[-1].file_id)
        else:
            note = "⚠️ " + _("That is the most photos one objection can take.")
    piece = (message.text or message.caption or "").strip()
    text = "\n\n".join(part for part in (draft["text"], piece) if part)
    act = await mine(update, context, draft["number"])
    if act is None:
        return await show_list(update, context)
    room = objection_room(act)
    if utf16_len(text) > room:
        note = "⚠️ " + _(TOO_LONG).format(count=room)
        if previewing:
            return await show_preview(update, draft, note)
        return await ask_objection_text(update, draft["number"], note)
    if len(" ".join(text.split())) < OBJECTION_MIN:
        note = "⚠️ " + _("Please write at least {count} characters.").format(count=OBJECTION_MIN)
        return await ask_objection_text(update, draft["number"], note)
    draft["text"] = text
    if note is not None:
        return await show_preview(update, draft, note)
    return await show_preview(update, draft)


async def redo_objection(update: Update, context: BotContext) -> int:
    """«Düzəlt»: the text is written again from the start (the photos stay)."""
    draft = objection(context)
    if draft is None:
        return await show_list(update, context)
    draft["text"] = ""
    return await ask_objection_text(update, draft["number"])


async def not_for_objection(update: Update, context: BotContext) -> int:
    draft = objection(context)
    if draft is None:
        return await show_list(update, context)
    note = "⚠️ " + _("Please send text or a photo, or press «Send».")
    return await show_preview(update, draft, note)


async def send_objection(update: Update, context: BotContext) -> int:
    draft = objection(context)
    if draft is None or not draft.get("text"):
        return await show_list(update, context)
    citizen = await the_citizen(update, context)
    moment = now()
    async with context.services.sessions.begin() as session:
        act = await acts.act_of_citizen(session, citizen.id, draft["number"])
        if act is not None:
            receipt, answer_due, due_on = await file_objection(
                session, context.services.staff_ids, act, citizen, draft, moment
            )
    if act is None:
        return await show_list(update, context)
    state(context).pop("objection", None)
    log.info("acts: objection %s to act %s", receipt, draft["number"])
    await say(
        update,
        _(
            "Your objection is registered under number {receipt}. A written complaint is "
            "answered within 10 days, by {answer_due}.\nPlease note: an objection does not "
            "postpone the payment. To avoid disconnection, pay by {due}."
        ).format(receipt=receipt, answer_due=format_date(answer_due), due=format_date(due_on)),
        main_menu(),
    )
    return ConversationHandler.END


async def file_objection(
    session: AsyncSession,
    staff_ids: Iterable[int],
    act: ViolationAct,
    citizen: Citizen,
    draft: dict[str, Any],
    moment: datetime,
) -> tuple[str, date, date]:
    """Store the objection and tell staff; (receipt number, answer due, payment due)."""
    stored = await acts.add_objection(
        session,
        act,
        citizen_id=citizen.id,
        text=draft["text"],
        photo_file_ids=draft["photos"],
        now=moment,
    )
    answer_due = objection_answer_due(moment.astimezone(BAKU).date())
    await act_notices.queue_objection_for_staff(
        session, act, stored, staff_ids=staff_ids, answer_due=answer_due
    )
    return stored.receipt_number, answer_due, act.due_on


# --------------------------------------------------------------------------- wiring


async def cancel(update: Update, context: BotContext) -> int:
    return await close(update, context)


def again(
    ask: Callable[[Update, BotContext, str], Awaitable[int]],
) -> MessageHandler[BotContext, int]:
    """For anything the open question cannot take (a sticker, a file…): say so and ask again,
    on one message."""

    async def ask_again(update: Update, context: BotContext) -> int:
        return await ask(update, context, "⚠️ " + _("Please answer the question below."))

    return MessageHandler(filters.ALL & ~filters.COMMAND, ask_again)


async def code_again(update: Update, context: BotContext, note: str) -> int:
    return await ask_code(update, note)


async def phone_again(update: Update, context: BotContext, note: str) -> int:
    return await ask_phone(update, context, note)


async def sms_code_again(update: Update, context: BotContext, note: str) -> int:
    phone = state(context).get("phone")
    if isinstance(phone, str):
        return await ask_sms_code(update, phone, note=note)
    return await ask_phone(update, context, note)


async def objection_again(update: Update, context: BotContext) -> int:
    draft = objection(context)
    if draft is None:
        return await show_list(update, context)
    note = "⚠️ " + _("Please answer the question below.")
    return await ask_objection_text(update, draft["number"], note)


async def wrong_kind(update: Update, context: BotContext) -> int:
    """Anything the current step cannot take: say so and show the list again."""
    if update.callback_query is not None:
        await answer_once(update.callback_query, _("This button is no longer active."))
    else:
        await say(update, "⚠️ " + _("Please answer the question below."))
    return await show_list(update, context)


def build() -> ConversationHandler[BotContext]:
    text = filters.TEXT & ~filters.COMMAND

    def pressed(pattern: str, callback: Any) -> BaseHandler[Update, BotContext, int]:
        return CallbackQueryHandler(callback, pattern=f"^{CB}{pattern}$")

    to_list = pressed("list", listed)
    states: dict[object, list[BaseHandler[Update, BotContext, Any]]] = {
        LIST: [
            pressed("show:.+", show_act),
            pressed("add", add_code),
            pressed("unlink", choose_unlink),
            pressed("unlink:.+", confirm_unlink),
            pressed("unlink!:.+", unlink),
            pressed("numbers", numbers),
            pressed("unphone:.+", confirm_remove_phone),
            pressed("unphone!:.+", remove_phone),
            pressed("object:.+", start_objection),
            to_list,
        ],
        CODE: [
            pressed("numbers", numbers),
            menu_exit(),
            MessageHandler(text, typed_code),
            again(code_again),
        ],
        PHONE: [
            MessageHandler(filters.CONTACT, shared_contact),
            menu_exit(),
            MessageHandler(text, typed_phone),
            again(phone_again),
        ],
        PHONE_CODE: [
            pressed("resend", resend_sms_code),
            pressed("rephone", change_phone),
            menu_exit(),
            MessageHandler(text, typed_sms_code),
            again(sms_code_again),
        ],
        OBJECTION_TEXT: [
            to_list,
            menu_exit(),
            MessageHandler(text | filters.PHOTO, typed_objection),
            MessageHandler(filters.ALL & ~filters.COMMAND, objection_again),
        ],
        OBJECTION_PREVIEW: [
            pressed("send", send_objection),
            pressed("redo", redo_objection),
            to_list,
            menu_exit(),
            MessageHandler(text | filters.PHOTO, typed_objection),
            MessageHandler(filters.ALL & ~filters.COMMAND, not_for_objection),
        ],
    }
    return conversation(
        entry_points=[
            MessageHandler(
                filters.ChatType.PRIVATE
                & filters.Regex(menu_item_pattern(MenuItem.ACTS_AND_PAYMENTS)),
                start,
            ),
            CommandHandler("acts", start, filters=filters.ChatType.PRIVATE),
        ],
        states=states,
        fallbacks=[
            pressed("close", close),
            CommandHandler("cancel", cancel),
            menu_exit(),
            MessageHandler(filters.ALL & ~filters.COMMAND, wrong_kind),
            CallbackQueryHandler(wrong_kind, pattern=f"^{CB}"),
        ],
        name="acts",
        persistent=True,
        allow_reentry=True,
    )
