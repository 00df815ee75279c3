"""*Haqqı hesabla*: the connection fee without applying, and a way to apply with those values.

Phase → power → district (optional, for district discounts) → the quote with its breakdown,
then *Apply with these values* hands phase, power and district to the connection request.
*Geri* goes one question back, where the answer given before is marked ✓ (a button keeps it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
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
from chat.keyboards import MenuItem, main_menu, menu_item_pattern
from chat.menu import menu_exit
from chat.queries import answer_once, say
from conversations import quote_text
from conversations.texts import EARLIER_ANSWER, reason_text
from domain import identifiers
from domain.connection_fees import ConnectionRequest, FeeError, Phase, power_limit, quote_fee
from domain.districts import District, district_candidates, find_district
from i18n import _, format_number

PHASE, POWER, DISTRICT, RESULT = range(4)

CB: Final = "fc:"
CANCEL: Final = CB + "cancel"
BACK: Final = CB + "back"
KEEP: Final = CB + "keep"
VALUES_KEY: Final = "fee_calculator"  # in user_data: the values chosen so far
APPLY_CALLBACK: Final = "cr:fromquote"  # handled by the connection request dialogue
ASKED: Final = "asked"  # in the values: the question on screen, asked again after a wrong answer


def today() -> datetime:
    return datetime.now(UTC)


def values(context: BotContext) -> dict[str, Any]:
    assert context.user_data is not None
    found = context.user_data.setdefault(VALUES_KEY, {})
    assert isinstance(found, dict)
    return found


def cancel_row(*, back: bool = True) -> list[InlineKeyboardButton]:
    row = [InlineKeyboardButton(_("Back"), callback_data=BACK)] if back else []
    return [*row, InlineKeyboardButton(_("Cancel"), callback_data=CANCEL)]


def noted(note: str | None, text: str) -> str:
    """A refusal's reason and the question on one message."""
    return f"{note}\n\n{text}" if note else text


def marked(label: str, is_chosen: bool) -> str:
    return f"✓ {label}" if is_chosen else label


async def start(update: Update, context: BotContext) -> int:
    assert context.user_data is not None
    context.user_data[VALUES_KEY] = {}
    return await ask_phase(update, context)


async def ask_phase(update: Update, context: BotContext, note: str | None = None) -> int:
    phase = values(context).get("phase")
    await say(
        update,
        noted(
            note, _("Let us calculate the connection fee. How many phases? Most homes use 1 phase.")
        ),
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        marked(_("1 phase"), phase == 1), callback_data=CB + "phase:1"
                    ),
                    InlineKeyboardButton(
                        marked(_("3 phases"), phase == 3), callback_data=CB + "phase:3"
                    ),
                ],
                cancel_row(back=False),
            ]
        ),
    )
    values(context)[ASKED] = PHASE
    return PHASE


async def choose_phase(update: Update, context: BotContext) -> int:
    assert update.callback_query is not None
    phase = Phase(3 if (update.callback_query.data or "").endswith(":3") else 1)
    chosen = values(context)
    chosen["phase"] = int(phase)
    if Decimal(chosen.get("power_kw", "0")) > power_limit(phase, today().date()):
        chosen.pop("power_kw")  # above the new phase's limit: not offered again
    return await ask_power(update, context)


async def ask_power(update: Update, context: BotContext, note: str | None = None) -> int:
    chosen = values(context)
    phase = Phase(chosen.get("phase", 1))
    text = _(quote_text.POWER_QUESTIONS[phase]).format(
        limit=format_number(power_limit(phase, today().date()))
    )
    rows = []
    if "power_kw" in chosen:
        earlier = format_number(Decimal(chosen["power_kw"]))
        text += "\n\n" + _(EARLIER_ANSWER).format(value=earlier)
        rows.append([InlineKeyboardButton(f"✓ {earlier}", callback_data=KEEP)])
    await say(update, noted(note, text), InlineKeyboardMarkup([*rows, cancel_row()]))
    values(context)[ASKED] = POWER
    return POWER


async def type_power(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    return await accept_power(update, context, update.effective_message.text or "")


async def keep_power(update: Update, context: BotContext) -> int:
    return await accept_power(update, context, str(values(context).get("power_kw", "")))


async def accept_power(update: Update, context: BotContext, typed: str) -> int:
    phase = Phase(values(context).get("phase", 1))
    try:
        power = identifiers.parse_power_kw(typed)
        quote_fee(ConnectionRequest(phase=phase, power_kw=power), on=today().date())
    except identifiers.IdentifierError as error:
        return await ask_power(update, context, "⚠️ " + reason_text(error))
    except FeeError as error:
        return await ask_power(update, context, "⚠️ " + quote_text.fee_error(error, phase))
    values(context)["power_kw"] = str(power)
    return await ask_district(update, context)


async def ask_district(update: Update, context: BotContext, note: str | None = None) -> int:
    earlier = values(context).get("district")
    rows = (
        [[InlineKeyboardButton(f"✓ {earlier}", callback_data=CB + "district:" + earlier)]]
        if earlier
        else []
    )
    question = _(
        "Some districts have discounts. Type the city or district of the object (e.g. Şuşa), "
        "or press «Skip»:"
    )
    await say(
        update,
        noted(note, question),
        InlineKeyboardMarkup(
            [
                *rows,
                [InlineKeyboardButton(_("Skip"), callback_data=CB + "nodistrict")],
                cancel_row(),
            ]
        ),
    )
    values(context)[ASKED] = DISTRICT
    return DISTRICT


async def back_to_phase(update: Update, context: BotContext) -> int:
    return await ask_phase(update, context)


async def back_to_power(update: Update, context: BotContext) -> int:
    return await ask_power(update, context)


async def back_to_district(update: Update, context: BotContext) -> int:
    return await ask_district(update, context)


async def type_district(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    matches = district_candidates(update.effective_message.text or "")
    if len(matches) == 1:
        return await district_chosen(update, context, matches[0])
    if not matches:
        note = "⚠️ " + _("I could not find such a city or district.")
        return await ask_district(update, context, note)
    rows = [
        [InlineKeyboardButton(d.name, callback_data=CB + "district:" + d.name)] for d in matches
    ]
    await say(update, _("Which one do you mean?"), InlineKeyboardMarkup([*rows, cancel_row()]))
    values(context)[ASKED] = DISTRICT
    return DISTRICT


async def press_district(update: Update, context: BotContext) -> int:
    assert update.callback_query is not None
    district = find_district((update.callback_query.data or "").removeprefix(CB + "district:"))
    if district is None:
        return await ask_district(update, context)
    return await district_chosen(update, context, district)


async def district_chosen(update: Update, context: BotContext, district: District) -> int:
    if district.is_nakhchivan:
        note = "⚠️ " + _(
            "The Nakhchivan Autonomous Republic is supplied by its own energy service "
            "(Naxçıvan Enerji), not by Azərişıq."
        )
        return await ask_district(update, context, note)
    values(context)["district"] = district.name
    return await show_quote(update, context)


async def skip_district(update: Update, context: BotContext) -> int:
    values(context).pop("district", None)
    return await show_quote(update, context)


async def show_quote(update: Update, context: BotContext, note: str | None = None) -> int:
    chosen = values(context)
    quote = quote_fee(
        ConnectionRequest(
            phase=Phase(chosen.get("phase", 1)),
            power_kw=Decimal(chosen.get("power_kw", "1")),
            district=chosen.get("district"),
        ),
        on=today().date(),
    )
    text = noted(note, quote_text.render(quote))
    if quote.request.district:
        text += "\n" + _("District: {district}.").format(district=quote.request.district)
    await say(
        update,
        text,
        InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(_("Apply with these values"), callback_data=APPLY_CALLBACK)],
                [InlineKeyboardButton(_("Calculate again"), callback_data=CB + "again")],
                [InlineKeyboardButton(_("Back"), callback_data=BACK)],
            ]
        ),
    )
    values(context)[ASKED] = RESULT
    return RESULT


async def again(update: Update, context: BotContext) -> int:
    return await start(update, context)


async def handed_over(update: Update, context: BotContext) -> int:
    """*Apply with these values*: end here; the update goes on to the connection request."""
    await context.application.update_queue.put(update)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    if update.callback_query is not None:
        await answer_once(update.callback_query)
    assert update.effective_message is not None and context.user_data is not None
    context.user_data.pop(VALUES_KEY, None)
    await update.effective_message.reply_text(_("Calculation closed."), reply_markup=main_menu())
    return ConversationHandler.END


async def wrong_kind(update: Update, context: BotContext) -> int:
    """Anything the current question cannot take: say so and ask again."""
    note = None
    if update.callback_query is not None:
        await answer_once(update.callback_query, _("This button is no longer active."))
    else:
        note = "⚠️ " + _("Please answer the question below.")
    chosen = values(context)
    if ASKED not in chosen:  # values stored before ASKED was: the furthest question reached
        chosen[ASKED] = (
            (RESULT if "district" in chosen else DISTRICT) if "power_kw" in chosen
            else POWER if "phase" in chosen else PHASE
        )  # fmt: skip
    asked = {PHASE: ask_phase, POWER: ask_power, DISTRICT: ask_district, RESULT: show_quote}
    return await asked.get(chosen[ASKED], ask_phase)(update, context, note)


def build() -> ConversationHandler[BotContext]:
    text = filters.TEXT & ~filters.COMMAND

    def button(pattern: str, callback: Any) -> BaseHandler[Update, BotContext, int]:
        return CallbackQueryHandler(callback, pattern=f"^{CB}{pattern}$")

    states: dict[object, list[BaseHandler[Update, BotContext, Any]]] = {
        PHASE: [button("phase:[13]", choose_phase)],
        POWER: [
            button("keep", keep_power),
            button("back", back_to_phase),
            menu_exit(),
            MessageHandler(text, type_power),
        ],
        DISTRICT: [
            button("district:.+", press_district),
            button("nodistrict", skip_district),
            button("back", back_to_power),
            menu_exit(),
            MessageHandler(text, type_district),
        ],
        RESULT: [
            CallbackQueryHandler(handed_over, pattern=f"^{APPLY_CALLBACK}$"),
            button("again", again),
            button("back", back_to_district),
        ],
    }
    return conversation(
        entry_points=[
            MessageHandler(
                filters.ChatType.PRIVATE
                & filters.Regex(menu_item_pattern(MenuItem.FEE_CALCULATOR)),
                start,
            ),
            CommandHandler("fee", start, filters=filters.ChatType.PRIVATE),
        ],
        states=states,
        fallbacks=[
            CallbackQueryHandler(cancel, pattern=f"^{CANCEL}$"),
            CommandHandler("cancel", cancel),
            menu_exit(),
            MessageHandler(filters.ALL & ~filters.COMMAND, wrong_kind),
            CallbackQueryHandler(wrong_kind),
        ],
        name="fee_calculator",
        persistent=True,
        allow_reentry=True,
    )
