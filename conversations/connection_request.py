"""Connection request (qoşulma müraciəti): the portal's service as a dialogue.

Steps follow the portal: main info → application info (with the fee on *Hesabla*) → object
info (with the distance to the nearest power centre) → contact info (a verified mobile) →
review → submit. Every question has *Geri* (back) and *Ləğv et* (cancel); a bad answer gets
the reason and the same question again. The answers live in a draft in `user_data`, written
through after every update, so neither a restart nor a pause loses them.

The state diagram is in `connection_request.mmd` beside this file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
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
from chat.menu import leave_for_menu, menu_exit
from chat.queries import answer_once, say
from conversations import fee_calculator, phone_check, quote_text
from conversations.connection_draft import (
    DRAFT_KEY,
    Draft,
    drop_draft,
    load_draft,
    save_draft,
)
from conversations.texts import EARLIER_ANSWER, reason_text
from delivery import notices
from domain import identifiers
from domain.connection_fees import (
    ConnectionRequest,
    FeeError,
    Phase,
    Quote,
    execution_periods,
    online_payment_max_distance_m,
    power_limit,
    quote_fee,
)
from domain.districts import (
    FAR_FROM_DISTRICT_M,
    District,
    district_candidates,
    find_district,
    nearest_district,
)
from domain.geography import in_azerbaijan
from domain.power_centres import haversine_m
from i18n import LOCALES, N_, _, current_locale, format_number, translate
from storage import applications
from storage.models import Application, ObjectType
from storage.retry import retry_on_disconnect

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- states

(
    FIRST_NAME,
    LAST_NAME,
    PATRONYMIC,
    FIN,
    ID_CARD,
    EXECUTION_PERIOD,
    PHASE,
    POWER,
    QUOTE,
    OBJECT_TYPE,
    GENERAL_CONDITIONS,
    DISTRICT,
    REGISTRY_NUMBER,
    REGISTRATION_NUMBER,
    LOCATION,
    PHONE,
    PHONE_CODE,
    EMAIL,
    REVIEW,
    RESUME,
    REGISTRY_CONFIRM,
) = range(21)

# The states above are numbered in the portal's order, first name to review.
QUESTION_ORDER: Final = tuple(range(FIRST_NAME, REVIEW + 1))
# With a citizen registry the FIN comes first: it is what the registry is asked by.
REGISTRY_FIRST_ORDER: Final = (
    FIN,
    *(state for state in QUESTION_ORDER if state != FIN),
)

CB: Final = "cr:"  # callback-data prefix of this dialogue
BACK: Final = CB + "back"
CANCEL: Final = CB + "cancel"
CANCEL_YES: Final = CANCEL + ":yes"  # the draft is deleted
CANCEL_NO: Final = CANCEL + ":no"  # back to the question on screen
SKIP: Final = CB + "skip"
KEEP: Final = CB + "keep"  # the answer given before, kept (after «Geri» or «Düzəliş et»)
#: Telegram shows about this much of a button's text.
KEEP_LABEL_MAX: Final = 40
DISTRICTS_PER_PAGE: Final = 12


def now() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------- keyboards


BACK_LABEL: Final = N_("Back")
CANCEL_LABEL: Final = N_("Cancel")
USE_DISTRICT_CENTRE: Final = N_("Use the district centre")


def nav_row(*, back: bool = True) -> list[InlineKeyboardButton]:
    row = [InlineKeyboardButton(_(BACK_LABEL), callback_data=BACK)] if back else []
    return [*row, InlineKeyboardButton(_(CANCEL_LABEL), callback_data=CANCEL)]


def reply_keys(*rows: list[KeyboardButton]) -> ReplyKeyboardMarkup:
    """The keyboard of a question that needs Telegram's own buttons (share the location, the
    number): a message carries one keyboard, so *Geri* and *Ləğv et* are on it too, and
    arrive as text (:func:`reply_key`)."""
    nav = [KeyboardButton(_(label)) for label in (BACK_LABEL, CANCEL_LABEL)]
    return ReplyKeyboardMarkup([*rows, nav], resize_keyboard=True, one_time_keyboard=True)


def reply_key(text: str) -> str | None:
    """BACK, CANCEL or SKIP when ``text`` is that reply-keyboard button (in any language)."""
    folded = " ".join(text.casefold().split())
    return next(
        (
            data
            for label, data in (
                (BACK_LABEL, BACK),
                (CANCEL_LABEL, CANCEL),
                (USE_DISTRICT_CENTRE, SKIP),
            )
            if any(folded == translate(label, locale).casefold() for locale in LOCALES)
        ),
        None,
    )


def keyboard(*rows: list[tuple[str, str]], back: bool = True) -> InlineKeyboardMarkup:
    buttons = [
        [InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows
    ]
    return InlineKeyboardMarkup([*buttons, nav_row(back=back)])


# ----------------------------------------------------------------------------- helpers


async def save_now(update: Update, context: BotContext) -> None:
    """Write the draft through before the question goes out: whoever sees a question has it.

    (A connection lost under the write is retried by the persistence.)
    """
    persistence = context.application.persistence
    user = update.effective_user
    if persistence is not None and user is not None and context.user_data is not None:
        await persistence.update_user_data(user.id, context.user_data)


def draft_of(context: BotContext) -> Draft:
    draft = load_draft(context.user_data)
    return draft if draft is not None else Draft()


def store(context: BotContext, draft: Draft) -> None:
    assert context.user_data is not None
    save_draft(context.user_data, draft, now())


#: What the next question says first, on its own message: why the answer was refused, or what
#: the answer gave (set by :func:`asking` around an asker, read by :func:`put`). A question and
#: what leads to it are one message, so the citizen never reads a reason detached from it.
_NOTE: ContextVar[str | None] = ContextVar("connection_request_note", default=None)


#: The portal's section of each question (the review has all four).
SECTION_OF: Final = {
    **dict.fromkeys(
        (FIRST_NAME, LAST_NAME, PATRONYMIC, FIN, ID_CARD, REGISTRY_CONFIRM), quote_text.MAIN_INFO
    ),
    **dict.fromkeys((EXECUTION_PERIOD, PHASE, POWER, QUOTE), quote_text.APPLICATION_INFO),
    **dict.fromkeys(
        (OBJECT_TYPE, GENERAL_CONDITIONS, DISTRICT, REGISTRY_NUMBER, REGISTRATION_NUMBER, LOCATION),
        quote_text.OBJECT_INFO,
    ),
    **dict.fromkeys((PHONE, PHONE_CODE, EMAIL), quote_text.CONTACT_INFO),
}


async def put(update: Update, state: int, text: str, markup: Any = None) -> None:
    """Send the question of ``state`` under its section's line, after the note if any."""
    section = SECTION_OF.get(state)
    if text and section is not None:
        text = quote_text.section_line(section) + "\n" + text
    await say(update, "\n\n".join(part for part in (_NOTE.get(), text) if part), markup)


async def asking(
    update: Update, context: BotContext, state: int, note: str | None, ask: Asker | None = None
) -> None:
    """Ask ``state`` (or ``ask``) with ``note`` on the question's message."""
    token = _NOTE.set(note)
    try:
        await (ask if ask is not None else ASKERS[state])(update, context)
    finally:
        _NOTE.reset(token)


def joined(*notes: str | None) -> str | None:
    return "\n\n".join(note for note in notes if note) or None


# ----------------------------------------------------------------------------- questions

PHASE_QUESTION: Final = N_(
    "How many phases does the connection need? Most homes use 1 phase; 3 phases are for "
    "heavy equipment."
)
POWER_QUESTION: Final = quote_text.POWER_QUESTIONS[Phase.ONE]
QUOTE_PROMPT: Final = N_("{phase}, {power} kW. Press «Calculate» to see the connection fee.")
OBJECT_QUESTION: Final = N_("What is to be connected?")
GENERAL_CONDITIONS_QUESTION: Final = N_(
    "Does the building already have general technical conditions for its apartments? "
    "Then no separate conditions or fee are needed for your apartment."
)
DISTRICT_QUESTION: Final = N_(
    "In which city or district is the object? Type its name (e.g. Sumqayıt) or choose:"
)
LOCATION_QUESTION: Final = N_(
    "Please share the location of the object (📎 → Location), so we can find the nearest "
    "power centre. Or press «Use the district centre»."
)
OUTSIDE_AZERBAIJAN: Final = N_(
    "This location is not in Azerbaijan. Please share the location of the object itself, or "
    "press «Use the district centre»."
)
PHONE_QUESTION: Final = N_(
    "Your active mobile number: press «📱 Share my number» below, or type it (e.g. 050 123 45 67)."
)
CODE_QUESTION: Final = N_(
    "We sent a 6-digit code by SMS to {phone}. Please type it here (it is valid for 5 minutes):"
)
RESUME_QUESTION: Final = N_(
    "You have an unfinished application. Continue where you stopped, or start anew?"
)
ANSWER_BELOW: Final = N_("Please answer the question below.")
FAR_LOCATION_QUESTION: Final = N_(
    "The location you sent is far from the district you chose.\n"
    "Nearest to the location: {place}\n"
    "District chosen: {district} ({distance} from the location)\n"
    "Is the location right?"
)
FROM_CALCULATION: Final = N_("From your calculation: {values}.")
NUMBER_CONFIRMED: Final = N_("Thank you, the number {phone} is confirmed.")
CANCEL_QUESTION: Final = N_("Stop filling in the application and delete its draft?")
EXECUTION_PERIOD_QUESTION: Final = N_("Execution period of the work:")


@dataclass(frozen=True, slots=True)
class TextField:
    """A question answered by typing one value."""

    attribute: str
    question: str
    parse: Callable[[str], Any]
    skippable: bool = False


TEXT_FIELDS: Final[dict[int, TextField]] = {
    FIRST_NAME: TextField(
        "first_name", N_("Your first name, as in your ID card:"), identifiers.parse_person_name
    ),
    LAST_NAME: TextField("last_name", N_("Your last name:"), identifiers.parse_person_name),
    PATRONYMIC: TextField(
        "patronymic",
        N_("Your patronymic (father's name), or press Skip:"),
        identifiers.parse_person_name,
        skippable=True,
    ),
    FIN: TextField(
        "fin",
        N_(
            "Your FIN: the 7 letters and digits of the personal identification number on your "
            "ID card:"
        ),
        identifiers.parse_fin,
    ),
    ID_CARD: TextField(
        "id_card",
        N_(
            "Your ID card series and number, e.g. AA1234567 (or AZE12345678 on an old card; "
            "MYİ/DYİ for a residence permit):"
        ),
        identifiers.parse_id_card,
    ),
    REGISTRY_NUMBER: TextField(
        "registry_number",
        N_("The real-estate registry number of the object (reyestr nömrəsi), as on its extract:"),
        identifiers.parse_registry_number,
    ),
    REGISTRATION_NUMBER: TextField(
        "registration_number",
        N_("The registration number of the object (qeydiyyat nömrəsi):"),
        identifiers.parse_registry_number,
    ),
    EMAIL: TextField(
        "email",
        N_("Your e-mail address, for notices about the application, or press Skip:"),
        identifiers.parse_email,
        skippable=True,
    ),
}


def chosen(label: str, is_chosen: bool) -> str:
    """A choice's button, marked when it is the answer given before."""
    return f"✓ {label}" if is_chosen else label


def with_earlier(question: str, value: str | None) -> tuple[str, list[list[tuple[str, str]]]]:
    """The question and a ✓ button when an answer was given before (shown again by «Geri»)."""
    if not value:
        return question, []
    label = value if len(value) <= KEEP_LABEL_MAX else value[: KEEP_LABEL_MAX - 1] + "…"
    return question + "\n\n" + _(EARLIER_ANSWER).format(value=value), [[(f"✓ {label}", KEEP)]]


async def ask_text_field(update: Update, context: BotContext, state: int) -> None:
    spec = TEXT_FIELDS[state]
    draft = draft_of(context)
    earlier = getattr(draft, spec.attribute)
    text, rows = with_earlier(_(spec.question), str(earlier) if earlier else None)
    if spec.skippable:
        rows.append([(_("Skip"), SKIP)])
    await put(update, state, text, keyboard(*rows, back=state != first_question(draft)))


async def ask_execution_period(update: Update, context: BotContext) -> None:
    options = execution_periods(now().date())
    period = draft_of(context).execution_period
    rows = [
        [(chosen(quote_text.period_label(option), option.id == period), CB + "period:" + option.id)]
        for option in options
    ]
    await put(update, EXECUTION_PERIOD, _(EXECUTION_PERIOD_QUESTION), keyboard(*rows))


async def ask_phase(update: Update, context: BotContext) -> None:
    phase = draft_of(context).phase
    await put(
        update,
        PHASE,
        _(PHASE_QUESTION),
        keyboard(
            [
                (chosen(_("1 phase"), phase == 1), CB + "phase:1"),
                (chosen(_("3 phases"), phase == 3), CB + "phase:3"),
            ]
        ),
    )


async def ask_power(update: Update, context: BotContext) -> None:
    draft = draft_of(context)
    phase = Phase(draft.phase or 1)
    limit = power_limit(phase, now().date())
    question = _(quote_text.POWER_QUESTIONS[phase]).format(limit=format_number(limit))
    text, rows = with_earlier(question, format_number(draft.power) if draft.power else None)
    await put(update, POWER, text, keyboard(*rows))


async def ask_quote(update: Update, context: BotContext) -> None:
    draft = draft_of(context)
    await put(
        update,
        QUOTE,
        _(QUOTE_PROMPT).format(
            phase=quote_text.phase_label(Phase(draft.phase or 1)),
            power=format_number(draft.power or Decimal(0)),
        ),
        keyboard([(_("Calculate"), CB + "calculate")]),
    )


async def ask_object_type(update: Update, context: BotContext) -> None:
    kind = draft_of(context).object_type
    await put(
        update,
        OBJECT_TYPE,
        _(OBJECT_QUESTION),
        keyboard(
            [
                (chosen(_("Private house"), kind == ObjectType.HOUSE), CB + "object:house"),
                (chosen(_("Apartment"), kind == ObjectType.APARTMENT), CB + "object:apartment"),
            ]
        ),
    )


async def ask_general_conditions(update: Update, context: BotContext) -> None:
    has = draft_of(context).has_general_conditions  # None: not answered, or "I don't know"
    await put(
        update,
        GENERAL_CONDITIONS,
        _(GENERAL_CONDITIONS_QUESTION),
        keyboard(
            [
                (chosen(_("Yes"), has is True), CB + "general:yes"),
                (chosen(_("No"), has is False), CB + "general:no"),
                (_("I don't know"), CB + "general:unknown"),
            ]
        ),
    )


async def ask_district(update: Update, context: BotContext, page: int = 0) -> None:
    await put(
        update,
        DISTRICT,
        _(DISTRICT_QUESTION),
        district_page(page, draft_of(context).district),
    )


def district_page(page: int, earlier: str | None = None) -> InlineKeyboardMarkup:
    """A page of districts; the one chosen before first, marked (after «Geri»)."""
    from domain.districts import all_districts

    served = [d for d in all_districts() if not d.is_nakhchivan]
    pages = max(1, -(-len(served) // DISTRICTS_PER_PAGE))
    page = page % pages
    chunk = served[page * DISTRICTS_PER_PAGE : (page + 1) * DISTRICTS_PER_PAGE]
    rows = [[(f"✓ {earlier}", CB + "district:" + earlier)]] if earlier else []
    rows += [
        [(d.name, CB + "district:" + d.name) for d in chunk[i : i + 3]]
        for i in range(0, len(chunk), 3)
    ]
    rows.append(
        [
            ("◀", CB + f"dpage:{(page - 1) % pages}"),
            (f"{page + 1}/{pages}", CB + "noop"),
            ("▶", CB + f"dpage:{(page + 1) % pages}"),
        ]
    )
    return keyboard(*rows)


async def ask_location(update: Update, context: BotContext) -> None:
    await put(
        update,
        LOCATION,
        _(LOCATION_QUESTION),
        reply_keys(
            [KeyboardButton(_("📍 Send the location"), request_location=True)],
            [KeyboardButton(_(USE_DISTRICT_CENTRE))],
        ),
    )


async def ask_phone(update: Update, context: BotContext) -> None:
    await put(
        update,
        PHONE,
        _(PHONE_QUESTION),
        reply_keys([KeyboardButton(_("📱 Share my number"), request_contact=True)]),
    )


async def ask_phone_code(update: Update, context: BotContext, *, fresh: bool = True) -> None:
    draft = draft_of(context)
    question = CODE_QUESTION if fresh else phone_check.EARLIER_CODE_QUESTION
    await put(update, PHONE_CODE, _(question).format(phone=draft.pending_phone or ""), code_keys())


def code_keys() -> InlineKeyboardMarkup:
    return keyboard(
        [(_("Send the code again"), CB + "resend"), (_("Change the number"), CB + "rephone")]
    )


async def ask_earlier_code(update: Update, context: BotContext) -> None:
    """The code question when no new code went out: it must not say "we sent"."""
    await ask_phone_code(update, context, fresh=False)


async def ask_review(update: Update, context: BotContext) -> None:
    draft = draft_of(context)
    await put(
        update,
        REVIEW,
        review_text(draft),
        InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(_("Submit the application"), callback_data=CB + "submit")],
                [InlineKeyboardButton(_("Edit"), callback_data=CB + "edit")],
                [InlineKeyboardButton(_("Cancel"), callback_data=CANCEL)],
            ]
        ),
    )


async def ask_resume(update: Update, context: BotContext) -> None:
    await say(
        update,
        _(RESUME_QUESTION),
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(_("Continue"), callback_data=CB + "resume"),
                    InlineKeyboardButton(_("Start anew"), callback_data=CB + "restart"),
                ]
            ]
        ),
    )


async def ask_registry_confirm(update: Update, context: BotContext) -> None:
    match = draft_of(context).registry_match or {}
    await put(
        update,
        REGISTRY_CONFIRM,
        _("The registry has this for your FIN:\n{name}\nID card: {id_card}\n\nIs this you?").format(
            name=" ".join(
                filter(
                    None, [match.get("last_name"), match.get("first_name"), match.get("patronymic")]
                )
            ),
            id_card=match.get("id_card") or "—",
        ),
        keyboard([(_("Yes, that is me"), CB + "registry:yes"), (_("No"), CB + "registry:no")]),
    )


Asker = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def _text_asker(state: int) -> Asker:
    async def ask(update: Update, context: BotContext) -> None:
        await ask_text_field(update, context, state)

    return ask


ASKERS: Final[dict[int, Asker]] = {
    **{state: _text_asker(state) for state in TEXT_FIELDS},
    EXECUTION_PERIOD: ask_execution_period,
    PHASE: ask_phase,
    POWER: ask_power,
    QUOTE: ask_quote,
    OBJECT_TYPE: ask_object_type,
    GENERAL_CONDITIONS: ask_general_conditions,
    DISTRICT: ask_district,
    LOCATION: ask_location,
    PHONE: ask_phone,
    PHONE_CODE: ask_phone_code,
    REVIEW: ask_review,
    REGISTRY_CONFIRM: ask_registry_confirm,
}

# ----------------------------------------------------------------------------- moving


def next_state(state: int, draft: Draft) -> int:
    """The question after ``state`` given the answers so far (review when editing)."""
    follow_ups = {
        PHASE: POWER,
        POWER: QUOTE,
        OBJECT_TYPE: GENERAL_CONDITIONS if draft.object_type == ObjectType.APARTMENT else None,
        PHONE: PHONE_CODE if not draft.phone_verified else None,
    }
    if draft.editing:
        follow = follow_ups.get(state)
        return follow if follow is not None else REVIEW
    order = REGISTRY_FIRST_ORDER if draft.registry_first else QUESTION_ORDER
    candidate = order[order.index(state) + 1]
    if candidate == GENERAL_CONDITIONS and draft.object_type != ObjectType.APARTMENT:
        candidate = DISTRICT
    if candidate == PHONE_CODE and draft.phone_verified:
        candidate = EMAIL
    return candidate


async def go(
    update: Update,
    context: BotContext,
    draft: Draft,
    state: int,
    *,
    push: int | None,
    ask: Asker | None = None,
    note: str | None = None,
) -> int:
    """Ask ``state`` next, remembering ``push`` for *Geri*; skips single-choice questions.

    ``ask`` replaces the usual question of ``state`` (not of a question skipped to); ``note``
    goes first on the question's message.
    """
    asked_for = state
    if push is not None:
        draft.history.append(push)
    skipped = []
    while state in draft.prefilled and not draft.editing:
        draft.prefilled.remove(state)
        skipped.append(state)
        state = next_state(state, draft)
    if skipped:
        note = joined(note, taken_over(draft, skipped))
    if state == REGISTRY_CONFIRM and draft.registry_match is None:
        state = FIN  # back after the offer was answered: nothing left to offer, ask the FIN
    if state == EXECUTION_PERIOD:
        options = execution_periods(now().date())
        if len(options) == 1:
            draft.execution_period = options[0].id
            period = _("Execution period: {period}.").format(
                period=quote_text.period_label(options[0])
            )
            return await go(
                update,
                context,
                draft,
                next_state(EXECUTION_PERIOD, draft),
                push=None,
                note=joined(note, period),
            )
    if state == REVIEW:
        draft.editing = False
    draft.state, draft.asked = state, False
    store(context, draft)
    await save_now(update, context)
    await asking(update, context, state, note, ask if state == asked_for else None)
    mark_asked(context, draft)
    return state


def taken_over(draft: Draft, skipped: list[int]) -> str | None:
    """What the questions skipped took from the fee calculator: "Hesablamanızdan: 1 faza, …"."""
    values = []
    if PHASE in skipped and draft.phase:
        values.append(quote_text.phase_label(Phase(draft.phase)))
    if POWER in skipped and draft.power is not None:
        values.append(quote_text.kilowatts(draft.power))
    if DISTRICT in skipped and draft.district:
        values.append(draft.district)
    return _(FROM_CALCULATION).format(values=", ".join(values)) if values else None


def mark_asked(context: BotContext, draft: Draft) -> None:
    """The draft's question is out; written with the dialogue's state, after the update.

    In place, like the reminder sweep's mark: a draft dropped meanwhile (expired) stays dropped.
    """
    draft.asked = True
    stored = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    if isinstance(stored, dict) and stored.get("id") == draft.id:
        stored["asked"] = True


async def advance(update: Update, context: BotContext, draft: Draft, current: int) -> int:
    return await go(update, context, draft, next_state(current, draft), push=current)


#: Questions whose message carries a reply keyboard (Telegram's share buttons).
REPLY_KEYBOARD_STATES: Final = frozenset({LOCATION, PHONE})


async def advance_saying(
    update: Update, context: BotContext, draft: Draft, current: int, outcome: str
) -> int:
    """Advance, saying what the answer gave on the next question's message.

    After a step with a reply keyboard, a next question with inline buttons cannot take that
    keyboard away: then the outcome goes first, on its own message, with the main menu.
    """
    following = next_state(current, draft)
    if following in REPLY_KEYBOARD_STATES or current not in REPLY_KEYBOARD_STATES | {PHONE_CODE}:
        return await go(update, context, draft, following, push=current, note=outcome)
    await say(update, outcome, main_menu())
    return await go(update, context, draft, following, push=current)


async def back(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    if not draft.history:
        return await go(update, context, draft, current_question(draft), push=None)
    previous = draft.history.pop()
    return await go(update, context, draft, previous, push=None)


async def ask_cancel(update: Update, context: BotContext) -> None:
    """*Ləğv et* deletes every answer given: asked once more, the dialogue staying where it is.

    Returns None, so the dialogue keeps its state: «Xeyr, davam et» asks the same question
    again, and an answer typed instead still answers it.
    """
    await say(
        update,
        _(CANCEL_QUESTION),
        InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(_("Yes, cancel"), callback_data=CANCEL_YES)],
                [InlineKeyboardButton(_("No, go on"), callback_data=CANCEL_NO)],
            ]
        ),
    )


async def go_on(update: Update, context: BotContext) -> int:
    """«Xeyr, davam et»: the question the citizen was at, again."""
    return await ask_again(update, context, draft_of(context))


async def cancel(update: Update, context: BotContext) -> int:
    if update.callback_query is not None:
        await answer_once(update.callback_query)
    drop_draft(context.user_data)
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        _("The application was cancelled and its draft deleted."), reply_markup=main_menu()
    )
    return ConversationHandler.END


async def refuse(
    update: Update, context: BotContext, state: int, reason: str, ask: Asker | None = None
) -> int:
    """Say why and ask the same question again, on one message."""
    await asking(update, context, state, "⚠️ " + reason, ask)
    return state


# ----------------------------------------------------------------------------- entry


async def start(update: Update, context: BotContext) -> int:
    draft = load_draft(context.user_data)
    if draft is not None and draft.state is not None and not is_blank(draft):
        await ask_resume(update, context)
        return RESUME
    return await begin(update, context, Draft())


def is_blank(draft: Draft) -> bool:
    """Nothing answered yet: at its first question, with nothing behind or filled in.

    Such a draft is begun afresh rather than offered for resuming (both lead to the same
    question). A replay of the step that wrote it (the process died before the question went
    out) must not ask "continue where you stopped?" about a question never seen.
    """
    return draft.state == first_question(draft) and not draft.history and not draft.prefilled


async def begin(
    update: Update, context: BotContext, draft: Draft, *, note: str | None = None
) -> int:
    intro = _(
        "Let us apply for a connection to the electricity network, step by step as on the "
        "e-gov portal: main info, application info, object info, contact info. You can go "
        "back or cancel at any step."
    )
    draft.registry_first = context.services.citizen_registry.prefills
    return await go(
        update, context, draft, first_question(draft), push=None, note=joined(intro, note)
    )


def first_question(draft: Draft) -> int:
    return FIN if draft.registry_first else FIRST_NAME


def current_question(draft: Draft) -> int:
    return draft.state if draft.state is not None else first_question(draft)


async def start_from_quote(update: Update, context: BotContext) -> int:
    """*Apply with these values* in the fee calculator: phase, power and district filled in."""
    assert context.user_data is not None
    chosen = context.user_data.get(fee_calculator.VALUES_KEY) or {}
    if "power_kw" not in chosen:
        return await start(update, context)
    draft = load_draft(context.user_data) or Draft()
    draft.phase, draft.power_kw = int(chosen.get("phase", 1)), str(chosen["power_kw"])
    # Only questions still ahead are skipped: one already answered (in the history) would
    # otherwise be skipped later, when *Geri* goes back to it.
    draft.prefilled = [state for state in (PHASE, POWER, QUOTE) if state not in draft.history]
    district = find_district(chosen.get("district") or "")
    if district is not None:
        if draft.district != district.name:
            draft.latitude = draft.longitude = None
            draft.distance_m = None
            draft.location_shared = False
        draft.district = district.name
        if DISTRICT not in draft.history:
            draft.prefilled.append(DISTRICT)
    if draft.state is None:
        return await begin(update, context, draft)
    return await go(
        update,
        context,
        draft,
        current_question(draft),
        push=None,
        note=_("Your unfinished application now uses these values. Let us go on."),
    )


async def draft_gone(update: Update, context: BotContext) -> int:
    """The draft expired (or was removed) while the dialogue waited for an answer."""
    if update.callback_query is not None:
        await answer_once(update.callback_query)
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        _("This application draft has expired. Press «Connection request» to start again."),
        reply_markup=main_menu(),
    )
    return ConversationHandler.END


Callback = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]


def needs_draft(callback: Callback) -> Callback:
    async def guarded(update: Update, context: BotContext) -> Any:
        if load_draft(context.user_data) is None:
            return await draft_gone(update, context)
        return await callback(update, context)

    return guarded


def in_step(state: int, callback: Callback) -> Callback:
    """``callback`` answers the question of ``state``: only if that is the question on screen.

    The draft is written before its question is sent (whoever sees a question has its draft),
    the dialogue's state and the draft's ``asked`` mark after the update. A crash in between
    leaves the dialogue behind the draft, and whether the draft's question reached the citizen
    is unknown: their next answer may be meant for an older question (a surname would land in
    the first-name step; «Keç» on the old question would meet a draft whose question cannot be
    skipped, and nothing would happen). Then the draft's question is asked again, and the
    citizen answers what they see. Without a crash the dialogue and the draft always agree.
    """

    async def guarded(update: Update, context: BotContext) -> Any:
        draft = load_draft(context.user_data)
        if draft is None:
            return await draft_gone(update, context)
        if draft.state != state or not draft.asked:
            return await ask_again(update, context, draft)
        return await callback(update, context)

    return guarded


async def ask_again(update: Update, context: BotContext, draft: Draft) -> int:
    """The draft's question once more, the update unused (see :func:`in_step`)."""
    if update.callback_query is not None:
        await answer_once(update.callback_query)
    return await go(update, context, draft, current_question(draft), push=None)


async def resume(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    return await go(update, context, draft, current_question(draft), push=None)


async def restart(update: Update, context: BotContext) -> int:
    drop_draft(context.user_data)
    return await begin(update, context, Draft())


# ----------------------------------------------------------------------------- answers


def _typed(update: Update) -> str:
    message = update.effective_message
    return (message.text or "") if message is not None else ""


def text_answer(state: int) -> Callable[[Update, BotContext], Coroutine[Any, Any, int]]:
    async def answer(update: Update, context: BotContext) -> int:
        return await accept_text(update, context, state, _typed(update))

    return answer


async def accept_text(update: Update, context: BotContext, state: int, typed: str) -> int:
    spec = TEXT_FIELDS[state]
    draft = draft_of(context)
    try:
        value = spec.parse(typed)
    except identifiers.IdentifierError as error:
        return await refuse(update, context, state, reason_text(error))
    setattr(draft, spec.attribute, value)
    if state == EMAIL:
        draft.email_skipped = False
    if state == FIN and draft.registry_first and not draft.editing:
        return await look_up_registry(update, context, draft)
    return await advance(update, context, draft, state)


async def keep(update: Update, context: BotContext) -> int:
    """✓: the answer given before, taken again as if typed (so it is checked again)."""
    if update.callback_query is not None:
        await answer_once(update.callback_query)
    draft = draft_of(context)
    state = current_question(draft)
    if state in TEXT_FIELDS and getattr(draft, TEXT_FIELDS[state].attribute):
        return await accept_text(
            update, context, state, str(getattr(draft, TEXT_FIELDS[state].attribute))
        )
    if state == POWER and draft.power_kw is not None:
        return await accept_power(update, context, draft.power_kw)
    return await go(update, context, draft, state, push=None)


async def look_up_registry(update: Update, context: BotContext, draft: Draft) -> int:
    """With a registry connected: offer what it knows of this FIN for confirmation."""
    assert draft.fin is not None
    person = await context.services.citizen_registry.lookup(draft.fin)
    if person is None:
        await say(update, _("We could not find your data in the registry; please type it."))
        return await advance(update, context, draft, FIN)
    draft.registry_match = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "patronymic": person.patronymic,
        "id_card": person.id_card,
    }
    return await go(update, context, draft, REGISTRY_CONFIRM, push=FIN)


async def confirm_registry(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    match, draft.registry_match = draft.registry_match, None
    if match is None or _data(update).endswith(":no"):
        return await go(update, context, draft, FIRST_NAME, push=REGISTRY_CONFIRM)
    draft.first_name = match["first_name"]
    draft.last_name = match["last_name"]
    draft.patronymic = match["patronymic"]
    draft.id_card = match["id_card"]
    return await go(update, context, draft, EXECUTION_PERIOD, push=REGISTRY_CONFIRM)


async def skip(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    state = draft.state
    if state in TEXT_FIELDS and TEXT_FIELDS[state].skippable:
        setattr(draft, TEXT_FIELDS[state].attribute, None)
        if state == EMAIL:
            draft.email_skipped = True
        return await advance(update, context, draft, state)
    if state == LOCATION:
        return await use_district_centre(update, context, draft)
    if update.callback_query is not None:
        await answer_once(update.callback_query)
    return current_question(draft)


async def choose_period(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    option_id = _data(update).removeprefix(CB + "period:")
    if option_id not in {o.id for o in execution_periods(now().date())}:
        return await refuse(update, context, EXECUTION_PERIOD, _("Please choose with the buttons."))
    draft.execution_period = option_id
    return await advance(update, context, draft, EXECUTION_PERIOD)


async def choose_phase(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    draft.phase = 3 if _data(update).endswith(":3") else 1
    if draft.power is not None and draft.power > power_limit(Phase(draft.phase), now().date()):
        draft.power_kw = None
    return await advance(update, context, draft, PHASE)


async def type_power(update: Update, context: BotContext) -> int:
    return await accept_power(update, context, _typed(update))


async def accept_power(update: Update, context: BotContext, typed: str) -> int:
    draft = draft_of(context)
    try:
        power = identifiers.parse_power_kw(typed)
    except identifiers.IdentifierError as error:
        return await refuse(update, context, POWER, reason_text(error))
    phase = Phase(draft.phase or 1)
    try:
        quote_fee(ConnectionRequest(phase=phase, power_kw=power), on=now().date())
    except FeeError as error:
        return await refuse(update, context, POWER, quote_text.fee_error(error, phase))
    draft.power_kw = str(power)
    return await advance(update, context, draft, POWER)


async def calculate(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    # A district already chosen (the dialogue went back, or the answer is being changed) gives
    # its discount here; otherwise the review applies it.
    quote = quote_fee(
        ConnectionRequest(
            phase=Phase(draft.phase or 1),
            power_kw=draft.power or Decimal(1),
            district=draft.district,
        ),
        on=now().date(),
    )
    text = quote_text.render(quote)
    if draft.district is None:
        text += "\n\n" + _("Discounts that depend on the district are applied at the review.")
    await say(update, text, keyboard([(_("Continue"), CB + "continue")]))
    return QUOTE


async def after_quote(update: Update, context: BotContext) -> int:
    return await advance(update, context, draft_of(context), QUOTE)


async def choose_object(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    draft.object_type = (
        ObjectType.APARTMENT if _data(update).endswith("apartment") else ObjectType.HOUSE
    )
    if draft.object_type == ObjectType.HOUSE:
        draft.has_general_conditions = None
    return await advance(update, context, draft, OBJECT_TYPE)


async def choose_general_conditions(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    answer = _data(update).removeprefix(CB + "general:")
    draft.has_general_conditions = {"yes": True, "no": False}.get(answer)
    return await advance(update, context, draft, GENERAL_CONDITIONS)


async def district_chosen(update: Update, context: BotContext, district: District) -> int:
    if district.is_nakhchivan:
        return await refuse(
            update,
            context,
            DISTRICT,
            _(
                "The Nakhchivan Autonomous Republic is supplied by its own energy service "
                "(Naxçıvan Enerji), not by Azərişıq. Please apply there; for another district, "
                "choose it below."
            ),
        )
    draft = draft_of(context)
    if draft.doubted_location is not None and draft.state == DISTRICT:
        # The district changed after a location far from the old one: take both.
        draft.district = district.name
        return await take_location(update, context, draft, draft.doubted_location)
    if draft.district != district.name:
        draft.latitude = draft.longitude = None
        draft.distance_m = None
        draft.power_centre = None
        draft.location_shared = False
    draft.district = district.name
    return await advance(update, context, draft, DISTRICT)


async def press_district(update: Update, context: BotContext) -> int:
    district = find_district(_data(update).removeprefix(CB + "district:"))
    if district is None:
        return await refuse(update, context, DISTRICT, _("Please choose with the buttons."))
    return await district_chosen(update, context, district)


async def page_districts(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    await answer_once(query)
    page = int(_data(update).removeprefix(CB + "dpage:") or 0)
    await query.edit_message_reply_markup(district_page(page, draft_of(context).district))
    return DISTRICT


async def type_district(update: Update, context: BotContext) -> int:
    matches = district_candidates(_typed(update))
    if len(matches) == 1:
        return await district_chosen(update, context, matches[0])
    if not matches:
        return await refuse(
            update, context, DISTRICT, _("I could not find such a city or district.")
        )
    rows = [[(d.name, CB + "district:" + d.name)] for d in matches]
    await say(update, _("Which one do you mean?"), keyboard(*rows))
    return DISTRICT


async def location_text(update: Update, context: BotContext) -> int | None:
    """Text on the location step: one of its reply-keyboard buttons, or not an answer."""
    key = reply_key(_typed(update))
    if key == SKIP:
        return await use_district_centre(update, context, draft_of(context))
    if key is not None:
        return await navigate(update, context, key)
    return await refuse(update, context, LOCATION, _(ANSWER_BELOW))


async def navigate(update: Update, context: BotContext, key: str) -> int | None:
    """*Geri* or *Ləğv et* pressed on a reply keyboard."""
    if key == BACK:
        return await back(update, context)
    await ask_cancel(update, context)
    return None


async def shared_location(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None and message.location is not None
    if not in_azerbaijan(message.location.latitude, message.location.longitude):
        return await refuse(update, context, LOCATION, _(OUTSIDE_AZERBAIJAN))
    draft = draft_of(context)
    point = [message.location.latitude, message.location.longitude]
    district = find_district(draft.district or "")
    if district is not None and draft.doubted_location != point:
        away = haversine_m(point[0], point[1], district.latitude, district.longitude)
        if away > FAR_FROM_DISTRICT_M:
            draft.doubted_location = point
            store(context, draft)
            await ask_far_location(update, district, point, away)
            return LOCATION
    return await take_location(update, context, draft, point)


async def ask_far_location(
    update: Update, district: District, point: list[float], away: float
) -> None:
    """Once per location: far from the district chosen, which of the two is wrong?"""
    text = _(FAR_LOCATION_QUESTION).format(
        place=nearest_district(point[0], point[1]).name,
        district=district.name,
        distance=quote_text.distance_value(int(away)),
    )
    await put(
        update,
        LOCATION,
        text,
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _("Yes, the location is right"), callback_data=CB + "far:keep"
                    )
                ],
                [InlineKeyboardButton(_("Change the district"), callback_data=CB + "far:district")],
                [InlineKeyboardButton(_("Send another location"), callback_data=CB + "far:again")],
            ]
        ),
    )


async def take_location(
    update: Update, context: BotContext, draft: Draft, point: list[float]
) -> int:
    draft.latitude, draft.longitude = point
    draft.location_shared = True
    draft.doubted_location = None
    return await measure_distance(update, context, draft)


async def far_location_answered(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    choice = _data(update).removeprefix(CB + "far:")
    if draft.doubted_location is None or choice == "again":
        draft.doubted_location = None
        return await go(update, context, draft, LOCATION, push=None)
    if choice == "keep":
        return await take_location(update, context, draft, draft.doubted_location)
    # The district is asked again; the location is taken with the new one (district_chosen).
    return await go(update, context, draft, DISTRICT, push=LOCATION)


async def use_district_centre(update: Update, context: BotContext, draft: Draft) -> int:
    district = find_district(draft.district or "")
    if district is None:  # the district was never chosen: ask it first
        return await go(update, context, draft, DISTRICT, push=None)
    draft.latitude, draft.longitude = district.latitude, district.longitude
    draft.location_shared = False
    return await measure_distance(update, context, draft)


async def measure_distance(update: Update, context: BotContext, draft: Draft) -> int:
    assert draft.latitude is not None and draft.longitude is not None
    found = await context.services.power_centres.nearest(draft.latitude, draft.longitude)
    draft.distance_m = found.distance_m
    draft.power_centre = found.name
    meaning = quote_text.distance(
        found,
        estimated=not draft.location_shared,
        limit_m=online_payment_max_distance_m(now().date()),
    )
    return await advance_saying(update, context, draft, LOCATION, meaning)


async def shared_contact(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None and message.contact is not None
    sender = update.effective_user
    if sender is None or message.contact.user_id != sender.id:
        return await refuse(
            update,
            context,
            PHONE,
            _(
                "This is someone else's contact. Please share your own number with the button, "
                "or type it."
            ),
        )
    try:
        phone = identifiers.parse_mobile_phone(message.contact.phone_number)
    except identifiers.IdentifierError as error:
        return await refuse(update, context, PHONE, reason_text(error))
    draft = draft_of(context)
    draft.phone, draft.phone_verified, draft.pending_phone = phone, True, None
    thanks = _(NUMBER_CONFIRMED).format(phone=phone)
    return await advance_saying(update, context, draft, PHONE, thanks)


async def typed_phone(update: Update, context: BotContext) -> int | None:
    key = reply_key(_typed(update))
    if key in (BACK, CANCEL):
        return await navigate(update, context, key)
    try:
        phone = identifiers.parse_mobile_phone(_typed(update))
    except identifiers.IdentifierError as error:
        return await refuse(update, context, PHONE, reason_text(error))
    draft = draft_of(context)
    if draft.phone == phone and draft.phone_verified:
        return await advance(update, context, draft, PHONE)
    draft.pending_phone = phone
    draft.phone_verified = False
    sending = await phone_check.send_code(update, context, phone)
    if sending.sent is phone_check.Sent.REFUSED:
        await asking(update, context, PHONE, sending.note)
        return PHONE
    ask = ask_phone_code if sending.sent is phone_check.Sent.SENT else ask_earlier_code
    return await go(update, context, draft, PHONE_CODE, push=PHONE, ask=ask, note=sending.note)


async def typed_code(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    assert draft.pending_phone is not None
    refused = await phone_check.check_code(update, context, draft.pending_phone, _typed(update))
    if refused is None:
        draft.phone, draft.phone_verified, draft.pending_phone = draft.pending_phone, True, None
        thanks = _(NUMBER_CONFIRMED).format(phone=draft.phone)
        return await advance_saying(update, context, draft, PHONE_CODE, thanks)
    # Not "we sent a code" again: the reason (with the tries left), and the question only if
    # typing can still help.
    phone = draft.pending_phone

    async def ask(update: Update, context: BotContext) -> None:
        question = _(phone_check.CODE_AGAIN_QUESTION).format(phone=phone)
        await put(update, PHONE_CODE, question if refused.retype else "", code_keys())

    return await refuse(update, context, PHONE_CODE, refused.reason, ask)


async def resend_code(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    if draft.pending_phone is None:
        return await go(update, context, draft, PHONE, push=None)
    sending = await phone_check.send_code(update, context, draft.pending_phone)
    ask = ask_phone_code if sending.sent is phone_check.Sent.SENT else ask_earlier_code
    await asking(update, context, PHONE_CODE, sending.note, ask)
    return PHONE_CODE


async def change_phone(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    draft.pending_phone = None
    return await go(update, context, draft, PHONE, push=None)


# ----------------------------------------------------------------------------- review, submit

EDITABLE: Final = (
    (N_("First name"), FIRST_NAME),
    (N_("Last name"), LAST_NAME),
    (N_("Patronymic"), PATRONYMIC),
    (N_("FIN"), FIN),
    (N_("ID card"), ID_CARD),
    (N_("Phase"), PHASE),
    (N_("Power"), POWER),
    (N_("Object"), OBJECT_TYPE),
    (N_("District"), DISTRICT),
    (N_("Registry number"), REGISTRY_NUMBER),
    (N_("Registration number"), REGISTRATION_NUMBER),
    (N_("Location"), LOCATION),
    (N_("Mobile number"), PHONE),
    (N_("E-mail"), EMAIL),
)


def review_text(draft: Draft) -> str:
    period = next(
        (
            quote_text.period_label(option)
            for option in execution_periods(now().date())
            if option.id == draft.execution_period
        ),
        None,
    )
    return quote_text.review(draft, review_quote(draft), period)


def review_quote(draft: Draft) -> Quote:
    return quote_fee(
        ConnectionRequest(
            phase=Phase(draft.phase or 1),
            power_kw=draft.power or Decimal(1),
            district=draft.district,
            execution_period=draft.execution_period,
            covered_by_building=(
                draft.object_type == ObjectType.APARTMENT and draft.has_general_conditions is True
            ),
        ),
        on=now().date(),
    )


async def show_edit_choices(update: Update, context: BotContext) -> int:
    rows = [
        [
            (_(EDITABLE[i][0]), CB + f"editfield:{EDITABLE[i][1]}")
            for i in range(j, min(j + 2, len(EDITABLE)))
        ]
        for j in range(0, len(EDITABLE), 2)
    ]
    rows.append([(_("Back to the review"), CB + "review")])
    await say(update, _("What would you like to change?"), keyboard(*rows, back=False))
    return REVIEW


async def edit_field(update: Update, context: BotContext) -> int:
    draft = draft_of(context)
    try:
        state = int(_data(update).removeprefix(CB + "editfield:"))
    except ValueError:
        return REVIEW
    if state not in dict((s, s) for _, s in EDITABLE):
        return REVIEW
    draft.editing = True
    return await go(update, context, draft, state, push=REVIEW)


async def back_to_review(update: Update, context: BotContext) -> int:
    return await go(update, context, draft_of(context), REVIEW, push=None)


async def submit(update: Update, context: BotContext) -> int:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None and update.effective_chat is not None
    await answer_once(query)
    draft = draft_of(context)
    missing = first_missing(draft)
    if missing is not None:
        return await go(update, context, draft, missing, push=None)
    quote = review_quote(draft)
    chat_id = update.effective_chat.id

    async def store_application() -> Application:
        # Once per submit key and before anything is sent: safe to run again on a lost
        # connection (a cut-off COMMIT may have stored it; then the second run finds it).
        async with context.services.sessions.begin() as session:
            stored, created = await applications.submit(
                session,
                draft=submission(draft, quote),
                telegram_user_id=user.id,
                chat_id=chat_id,
                locale=current_locale(),
            )
            if created:
                await notices.queue_application_registered(session, stored, locale=current_locale())
        return stored

    stored = await retry_on_disconnect(store_application)
    drop_draft(context.user_data)
    assert update.effective_message is not None
    registered = (
        _(
            "Your application is registered. Its number is {number}.\n\nWe will write to you "
            "here, by SMS and by e-mail at every change of its status; you can also follow it "
            "under «My applications»."
        )
        if draft.email
        else _(
            "Your application is registered. Its number is {number}.\n\nWe will write to "
            "you here and by SMS at every change of its status; you can also follow it "
            "under «My applications»."
        )
    )
    await update.effective_message.reply_text(
        registered.format(number=stored.number), reply_markup=main_menu()
    )
    return ConversationHandler.END


def submission(draft: Draft, quote: Quote) -> applications.Submission:
    assert draft.first_name and draft.last_name and draft.fin and draft.id_card
    assert draft.phase and draft.power is not None and draft.object_type and draft.district
    assert draft.registry_number and draft.registration_number and draft.phone
    district = find_district(draft.district)
    return applications.Submission(
        submit_key=draft.id,
        first_name=draft.first_name,
        last_name=draft.last_name,
        patronymic=draft.patronymic,
        fin=draft.fin,
        id_card=draft.id_card,
        execution_period=draft.execution_period,
        phase=draft.phase,
        power_kw=draft.power,
        object_type=draft.object_type,
        has_general_conditions=draft.has_general_conditions,
        district=draft.district,
        regional_unit=district.regional_unit if district is not None else None,
        registry_number=draft.registry_number,
        registration_number=draft.registration_number,
        latitude=draft.latitude,
        longitude=draft.longitude,
        distance_m=draft.distance_m,
        power_centre=draft.power_centre,
        phone=draft.phone,
        email=draft.email,
        fee_amount=quote.amount,
        fee_rule_set=quote.rule_set_id,
        quote=quote_text.quote_record(quote),
    )


def first_missing(draft: Draft) -> int | None:
    required: list[tuple[Any, int]] = [
        (draft.first_name, FIRST_NAME),
        (draft.last_name, LAST_NAME),
        (draft.fin, FIN),
        (draft.id_card, ID_CARD),
        (draft.phase, PHASE),
        (draft.power_kw, POWER),
        (draft.object_type, OBJECT_TYPE),
        (draft.district, DISTRICT),
        (draft.registry_number, REGISTRY_NUMBER),
        (draft.registration_number, REGISTRATION_NUMBER),
        (draft.distance_m, LOCATION),
        (draft.phone if draft.phone_verified else None, PHONE),
    ]
    return next((state for value, state in required if value is None), None)


# ----------------------------------------------------------------------------- wiring


def _data(update: Update) -> str:
    query = update.callback_query
    return (query.data or "") if query is not None else ""


StateHandlers = dict[object, list[BaseHandler[Update, BotContext, Any]]]


def wrong_kind_for(states: StateHandlers) -> Callback:
    async def wrong_kind(update: Update, context: BotContext) -> int:
        return await not_for_this_question(update, context, states)

    return wrong_kind


async def not_for_this_question(update: Update, context: BotContext, states: StateHandlers) -> int:
    """Anything the current question cannot take: say so and ask again.

    The draft is the source of truth: after a crash between sending a question and saving the
    dialogue's state, the dialogue may be behind the draft; then the answer goes to the
    question the citizen actually sees, or, when it is unknown whether the draft's question was
    sent, that question is asked again (see :func:`in_step`).
    """
    draft = draft_of(context)
    if not draft.asked:
        return await ask_again(update, context, draft)
    state = current_question(draft)
    for handler in states.get(state, []):
        if handler.callback is not leave_for_menu and handler.check_update(update) not in (
            None,
            False,
        ):
            result: int = await handler.callback(update, context)
            return result
    if update.callback_query is not None:
        await answer_once(update.callback_query, _("This button is no longer active."))
        return state
    return await refuse(update, context, state, _(ANSWER_BELOW))


def _button(
    pattern: str, callback: Callable[[Update, BotContext], Coroutine[Any, Any, int]]
) -> BaseHandler[Update, BotContext, int]:
    return CallbackQueryHandler(callback, pattern=f"^{CB}{pattern}$")


def build() -> ConversationHandler[BotContext]:
    text = filters.TEXT & ~filters.COMMAND
    states: StateHandlers = {
        state: [menu_exit(), MessageHandler(text, text_answer(state))] for state in TEXT_FIELDS
    }
    states[EMAIL].insert(0, _button("skip", skip))
    states[PATRONYMIC].insert(0, _button("skip", skip))
    for state in states:
        states[state].insert(0, _button("keep", keep))
    states[EXECUTION_PERIOD] = [_button("period:.+", choose_period)]
    states[PHASE] = [_button("phase:[13]", choose_phase)]
    states[POWER] = [_button("keep", keep), menu_exit(), MessageHandler(text, type_power)]
    states[QUOTE] = [_button("calculate", calculate), _button("continue", after_quote)]
    states[OBJECT_TYPE] = [_button("object:(house|apartment)", choose_object)]
    states[GENERAL_CONDITIONS] = [_button("general:(yes|no|unknown)", choose_general_conditions)]
    states[DISTRICT] = [
        _button("district:.+", press_district),
        _button("dpage:\\d+", page_districts),
        menu_exit(),
        MessageHandler(text, type_district),
    ]
    states[LOCATION] = [
        _button("skip", skip),
        _button("far:(keep|district|again)", far_location_answered),
        MessageHandler(filters.LOCATION, shared_location),
        menu_exit(),
        MessageHandler(text, location_text),
    ]
    states[PHONE] = [
        MessageHandler(filters.CONTACT, shared_contact),
        menu_exit(),
        MessageHandler(text, typed_phone),
    ]
    states[PHONE_CODE] = [
        _button("resend", resend_code),
        _button("rephone", change_phone),
        menu_exit(),
        MessageHandler(text, typed_code),
    ]
    states[REVIEW] = [
        _button("submit", submit),
        _button("edit", show_edit_choices),
        _button("editfield:\\d+", edit_field),
        _button("review", back_to_review),
    ]
    states[REGISTRY_CONFIRM] = [_button("registry:(yes|no)", confirm_registry)]
    for state, handlers_of_state in states.items():
        for handler in handlers_of_state:
            if handler.callback is not leave_for_menu:
                assert isinstance(state, int)
                handler.callback = in_step(state, handler.callback)
    states[RESUME] = [_button("resume", resume), _button("restart", restart)]

    return conversation(
        entry_points=[
            MessageHandler(
                filters.ChatType.PRIVATE
                & filters.Regex(menu_item_pattern(MenuItem.CONNECTION_REQUEST)),
                start,
            ),
            CommandHandler("apply", start, filters=filters.ChatType.PRIVATE),
            CallbackQueryHandler(start_from_quote, pattern=f"^{fee_calculator.APPLY_CALLBACK}$"),
        ],
        states=states,
        fallbacks=[
            CallbackQueryHandler(needs_draft(back), pattern=f"^{BACK}$"),
            CallbackQueryHandler(ask_cancel, pattern=f"^{CANCEL}$"),
            CallbackQueryHandler(cancel, pattern=f"^{CANCEL_YES}$"),
            CallbackQueryHandler(needs_draft(go_on), pattern=f"^{CANCEL_NO}$"),
            CommandHandler("cancel", cancel),
            menu_exit(),
            MessageHandler(filters.ALL & ~filters.COMMAND, needs_draft(wrong_kind_for(states))),
            CallbackQueryHandler(needs_draft(wrong_kind_for(states))),
        ],
        name="connection_request",
        persistent=True,
        allow_reentry=True,
    )
