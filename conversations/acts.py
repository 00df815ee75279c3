"""*Aktlar və ödənişlər*: follow a subscriber code, see its acts and how they were computed, object.

A chat may follow a subscriber code only when the billing system's phone on file for that code
is the citizen's verified phone (shared as a contact from their own account, or proved with an
SMS code). A refusal says the same whatever the reason (unknown code, another phone, no phone on
file), so it reveals nothing about the account or its acts. For the same reason a code by SMS
goes only to the number on file for the code being added; any other number gets the same answer
and a decoy that the SMS caps count like a code (conversations/phone_check.py), but no SMS.

    LIST ──add──▶ CODE ──(no verified phone)──▶ PHONE ──typed──▶ PHONE_CODE
      │             └──────────── the link is checked ◀──────────────┘
      └──act──▶ detail ──Etiraz et──▶ OBJECTION_TEXT ──▶ OBJECTION_PHOTOS ──Göndər──▶ receipt
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession
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
from chat.telegram_text import say_all, utf16_len
from conversations import act_text, phone_check
from conversations.texts import reason_text
from delivery import act_notices, payment_text
from domain import identifiers
from domain.acts import BAKU, ActStatus, objection_answer_due
from domain.payment_channels import act_reference
from i18n import LOCALES, N_, _, current_locale, format_date, translate
from integrations.payments import Invoice
from integrations.subscribers import DirectoryUnavailable
from storage import acts, citizens
from storage.models import Citizen, ViolationAct

log = logging.getLogger(__name__)

LIST, CODE, PHONE, PHONE_CODE, OBJECTION_TEXT, OBJECTION_PHOTOS = range(6)

CB: Final = "ak:"
KEY: Final = "acts"  # in user_data: the pending code, phone and objection
OBJECTION_MIN: Final = 10
OBJECTION_MAX: Final = 2000
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
        return await ask_code(update)
    return await show_list(update, context, citizen)


async def show_list(update: Update, context: BotContext, citizen: Citizen | None = None) -> int:
    citizen = citizen or await the_citizen(update, context)
    async with context.services.sessions() as session:
        codes = await acts.linked_codes(session, citizen.id)
        found = (await acts.acts_of_citizen(session, citizen.id))[:LIST_MAX]
    rows = [button(act.number, f"show:{act.number}") for act in found]
    rows.append(button(_("Add a subscriber code"), "add"))
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


async def ask_code(update: Update) -> int:
    await say(
        update,
        _(
            "Please send your 15-digit subscriber code (abonent kodu). It is printed on your "
            "electricity bill."
        ),
        InlineKeyboardMarkup([button(_("Cancel"), "close")]),
    )
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
        await say(update, "⚠️ " + reason)
        return await ask_code(update)
    state(context)["code"] = code
    citizen = await the_citizen(update, context)
    if citizen.phone_verified and citizen.phone_e164:
        return await link_code(update, context, citizen)
    return await ask_phone(update)


async def ask_phone(update: Update) -> int:
    await say(
        update,
        _(
            "To show the acts of this account we must be sure it is yours. Please share your "
            "mobile number with the button below, or type it (we will send a code by SMS). It "
            "must be the number recorded for the subscriber code."
        ),
        # One keyboard a message: «Ləğv et» is on the reply keyboard, and arrives as text.
        ReplyKeyboardMarkup(
            [
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
        await say(update, "⚠️ " + _("This is someone else's contact. Please share your own number."))
        return await ask_phone(update)
    try:
        phone = identifiers.parse_mobile_phone(message.contact.phone_number)
    except identifiers.IdentifierError as error:
        await say(update, "⚠️ " + reason_text(error))
        return await ask_phone(update)
    return await phone_proved(update, context, phone)


async def typed_phone(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    if is_cancel(update.effective_message.text):
        return await close(update, context)
    try:
        phone = identifiers.parse_mobile_phone(update.effective_message.text or "")
    except identifiers.IdentifierError as error:
        await say(update, "⚠️ " + reason_text(error))
        return await ask_phone(update)
    state(context)["phone"] = phone
    sent = await request_code(update, context, phone)
    if sent is None:
        return ConversationHandler.END
    if sent is phone_check.Sent.REFUSED:
        return await ask_phone(update)
    return await ask_sms_code(update, phone, fresh=sent is phone_check.Sent.SENT)


async def request_code(update: Update, context: BotContext, phone: str) -> phone_check.Sent | None:
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


async def ask_sms_code(update: Update, phone: str, *, fresh: bool = True) -> int:
    text = _(CODE_ON_ITS_WAY) if fresh else _(phone_check.EARLIER_CODE_QUESTION)
    await say(update, text.format(phone=phone), code_buttons())
    return PHONE_CODE


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
        return await ask_phone(update)
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
        return await ask_phone(update)
    sent = await request_code(update, context, phone)
    if sent is None:
        return ConversationHandler.END
    return await ask_sms_code(update, phone, fresh=sent is phone_check.Sent.SENT)


async def change_phone(update: Update, context: BotContext) -> int:
    state(context).pop("phone", None)
    return await ask_phone(update)


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
        await say(update, "⚠️ " + _(NOT_LINKED).format(phone=citizen.phone_e164))
        return await ask_code(update)
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


async def ask_objection_text(update: Update, number: str) -> int:
    await say(
        update,
        _("Please write why you disagree with act {number}. After that you can add photos.").format(
            number=number
        ),
        InlineKeyboardMarkup([button(_("Cancel"), "list")]),
    )
    return OBJECTION_TEXT


def objection(context: BotContext) -> dict[str, Any] | None:
    found = state(context).get("objection")
    return found if isinstance(found, dict) else None


async def typed_objection(update: Update, context: BotContext) -> int:
    message = update.effective_message
    draft = objection(context)
    assert message is not None
    if draft is None:
        return await show_list(update, context)
    text = " ".join((message.text or message.caption or "").split())
    if message.photo and len(draft["photos"]) < PHOTOS_MAX:
        draft["photos"].append(message.photo[-1].file_id)
    stored = (message.text or message.caption or "").strip()
    # counted as Telegram counts, so the staff's notice with it fits one message
    too_long = utf16_len(stored) > OBJECTION_MAX
    if len(text) < OBJECTION_MIN or too_long:
        reason = (
            _("Please keep it under {count} characters.").format(count=OBJECTION_MAX)
            if too_long
            else _("Please write at least {count} characters.").format(count=OBJECTION_MIN)
        )
        await say(update, "⚠️ " + reason)
        return await ask_objection_text(update, draft["number"])
    draft["text"] = stored
    return await ask_photos(update, draft)


async def ask_photos(update: Update, draft: dict[str, Any]) -> int:
    count = len(draft["photos"])
    text = (
        _("You may add up to {max} photos (for example of the meter), or send the objection now.")
        if count == 0
        else _("Photos added: {count} of {max}. Add more or send the objection.")
    )
    await say(
        update,
        text.format(count=count, max=PHOTOS_MAX),
        InlineKeyboardMarkup(
            [button(_("Send the objection"), "send"), button(_("Cancel"), "list")]
        ),
    )
    return OBJECTION_PHOTOS


async def added_photo(update: Update, context: BotContext) -> int:
    message = update.effective_message
    draft = objection(context)
    assert message is not None
    if draft is None:
        return await show_list(update, context)
    if len(draft["photos"]) >= PHOTOS_MAX:
        await say(update, "⚠️ " + _("That is the most photos one objection can take."))
    elif message.photo:
        draft["photos"].append(message.photo[-1].file_id)
    return await ask_photos(update, draft)


async def not_a_photo(update: Update, context: BotContext) -> int:
    draft = objection(context)
    if draft is None:
        return await show_list(update, context)
    await say(update, "⚠️ " + _("Please send a photo, or press «Send the objection»."))
    return await ask_photos(update, draft)


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


def again(ask: Callable[[Update, BotContext], Awaitable[int]]) -> MessageHandler[BotContext, int]:
    """For anything the open question cannot take (a sticker, a file…): say so, ask again."""

    async def ask_again(update: Update, context: BotContext) -> int:
        await say(update, "⚠️ " + _("Please answer the question below."))
        return await ask(update, context)

    return MessageHandler(filters.ALL & ~filters.COMMAND, ask_again)


async def code_again(update: Update, context: BotContext) -> int:
    return await ask_code(update)


async def phone_again(update: Update, context: BotContext) -> int:
    return await ask_phone(update)


async def sms_code_again(update: Update, context: BotContext) -> int:
    phone = state(context).get("phone")
    return await ask_sms_code(update, phone) if isinstance(phone, str) else await ask_phone(update)


async def objection_again(update: Update, context: BotContext) -> int:
    draft = objection(context)
    if draft is None:
        return await show_list(update, context)
    return await ask_objection_text(update, draft["number"])


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
            pressed("object:.+", start_objection),
            to_list,
        ],
        CODE: [menu_exit(), MessageHandler(text, typed_code), again(code_again)],
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
            again(objection_again),
        ],
        OBJECTION_PHOTOS: [
            pressed("send", send_objection),
            to_list,
            menu_exit(),
            MessageHandler(filters.PHOTO, added_photo),
            MessageHandler(filters.ALL & ~filters.COMMAND, not_a_photo),
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
