"""``/broadcast`` (staff only): audience → channel → text (az, optionally ru/en) → preview with
the recipient count → send now or at a Baku time. ``/broadcasts`` lists the recent ones with
their counts, ``/broadcast_cancel [N]`` withdraws what is not sent yet.

The broadcast row is the audit (who, when, audience, texts); its counts come from the outbox.
A job every few seconds queues due broadcasts (idempotent, so a crash while queueing is
repaired by the next run), edits each sender's progress message and reports when one is done.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence, Set
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from chat.context import BotApplication, BotContext
from chat.conversation import conversation
from chat.queries import answer_once, say
from chat.telegram_text import pack, say_all, utf16_len
from delivery.governor import Pace
from delivery.notices import STATUS_LABELS, sms_text
from domain.application_status import ApplicationStatus
from domain.districts import find_district
from i18n import BAKU, LANGUAGE_NAMES, LOCALES, N_, _, format_datetime, translate
from storage import broadcasts
from storage.broadcasts import Audience, AudienceKind, Progress
from storage.models import Broadcast, BroadcastStatus, Channel, Priority

log = logging.getLogger(__name__)

AUDIENCE, DISTRICTS, LANGUAGE, STATUS, CHANNEL, TEXT, PREVIEW, OTHER_TEXT, LATER = range(9)
CB: Final = "bc:"
KEY: Final = "broadcast_draft"
TEXT_MAX: Final = 3500  # UTF-16 units, as Telegram counts: under its 4096, room for a header
PROGRESS_EVERY: Final = timedelta(seconds=3)

AUDIENCES: Final[dict[AudienceKind, str]] = {
    AudienceKind.ALL: N_("Everyone"),
    AudienceKind.DISTRICTS: N_("Districts"),
    AudienceKind.LANGUAGE: N_("A language"),
    AudienceKind.STATUS: N_("Applicants by status"),
    AudienceKind.UNPAID: N_("With unpaid acts"),
}
CHANNELS: Final[dict[str, tuple[Channel, ...]]] = {
    "telegram": (Channel.TELEGRAM,),
    "sms": (Channel.SMS,),
    "both": (Channel.TELEGRAM, Channel.SMS),
}
CHANNEL_LABELS: Final[dict[str, str]] = {
    "telegram": N_("Telegram"),
    "sms": N_("SMS (verified phones)"),
    "both": N_("Telegram and SMS"),
}
ASK_TEXT: Final = N_("Type the message in Azerbaijani (every citizen gets at least this):")
ETA: Final = N_("About {minutes} min left.")
COUNTS: Final = N_("sent {sent}, failed {failed}, blocked {blocked}, remaining {remaining}")
PROGRESS: Final = N_(
    "Broadcast #{id}: sent {sent}, failed {failed}, blocked the bot {blocked}, "
    "remaining {remaining}."
)


def draft(context: BotContext) -> dict[str, Any]:
    assert context.user_data is not None
    found = context.user_data.setdefault(KEY, {})
    assert isinstance(found, dict)
    return found


def buttons(rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    keyboard = [[InlineKeyboardButton(label, callback_data=CB + data)] for label, data in rows]
    keyboard.append([InlineKeyboardButton(_("Cancel"), callback_data=CB + "cancel")])
    return InlineKeyboardMarkup(keyboard)


def pressed(update: Update, prefix: str) -> str:
    assert update.callback_query is not None and update.callback_query.data is not None
    return update.callback_query.data.removeprefix(CB + prefix)


# --------------------------------------------------------------------------- audience


async def start(update: Update, context: BotContext) -> int:
    assert context.user_data is not None
    context.user_data[KEY] = {"texts": {}}
    await say(
        update,
        _("Who should receive the broadcast?"),
        buttons([(_(label), f"aud:{kind}") for kind, label in AUDIENCES.items()]),
    )
    return AUDIENCE


async def chose_audience(update: Update, context: BotContext) -> int:
    kind = AudienceKind(pressed(update, "aud:"))
    draft(context)["audience"] = {"kind": kind, "values": []}
    if kind == AudienceKind.DISTRICTS:
        await say(update, _("Type the districts, separated by commas (e.g. Sumqayıt, Şəki):"))
        return DISTRICTS
    if kind == AudienceKind.LANGUAGE:
        rows = [(LANGUAGE_NAMES[code], f"lang:{code}") for code in LOCALES]
        await say(update, _("Citizens who chose which language?"), buttons(rows))
        return LANGUAGE
    if kind == AudienceKind.STATUS:
        rows = [(_(STATUS_LABELS[s]), f"st:{s}") for s in ApplicationStatus]
        await say(update, _("Applicants whose application is:"), buttons(rows))
        return STATUS
    return await ask_channel(update)


async def typed_districts(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    names: list[str] = []
    unknown: list[str] = []
    for part in (update.effective_message.text or "").split(","):
        if not part.strip():
            continue
        district = find_district(part)
        if district is None:
            unknown.append(part.strip())
        else:
            names.append(district.name)
    if unknown or not names:
        await say(
            update,
            "⚠️ "
            + _("I do not know these districts: {names}. Please type them again.").format(
                names=", ".join(unknown) or "—"
            ),
        )
        return DISTRICTS
    draft(context)["audience"]["values"] = sorted(set(names))
    return await ask_channel(update)


async def chose_language(update: Update, context: BotContext) -> int:
    draft(context)["audience"]["values"] = [pressed(update, "lang:")]
    return await ask_channel(update)


async def chose_status(update: Update, context: BotContext) -> int:
    draft(context)["audience"]["values"] = [pressed(update, "st:")]
    return await ask_channel(update)


# --------------------------------------------------------------------------- channel and text


async def ask_channel(update: Update) -> int:
    rows = [(_(label), f"ch:{key}") for key, label in CHANNEL_LABELS.items()]
    await say(update, _("How should it be sent?"), buttons(rows))
    return CHANNEL


async def chose_channel(update: Update, context: BotContext) -> int:
    draft(context)["channels"] = [str(c) for c in CHANNELS[pressed(update, "ch:")]]
    await say(update, _(ASK_TEXT))
    return TEXT


def message_text(update: Update) -> str | None:
    assert update.effective_message is not None
    text = (update.effective_message.text or "").strip()
    return text if 0 < utf16_len(text) <= TEXT_MAX else None


async def typed_text(update: Update, context: BotContext) -> int:
    text = message_text(update)
    if text is None:
        await say(
            update, "⚠️ " + _("The message must have 1 to {max} characters.").format(max=TEXT_MAX)
        )
        return TEXT
    draft(context)["texts"]["az"] = text
    return await show_preview(update, context)


async def add_language(update: Update, context: BotContext) -> int:
    locale = pressed(update, "add:")
    draft(context)["adding"] = locale
    await say(update, _("Type the message in {language}:").format(language=LANGUAGE_NAMES[locale]))
    return OTHER_TEXT


async def typed_other_text(update: Update, context: BotContext) -> int:
    text = message_text(update)
    if text is None:
        await say(
            update, "⚠️ " + _("The message must have 1 to {max} characters.").format(max=TEXT_MAX)
        )
        return OTHER_TEXT
    values = draft(context)
    values["texts"][values.pop("adding", "az")] = text
    return await show_preview(update, context)


# --------------------------------------------------------------------------- preview and send


async def show_preview(update: Update, context: BotContext) -> int:
    values = draft(context)
    audience = Audience.from_json(values["audience"])
    channels = [Channel(c) for c in values["channels"]]
    async with context.services.sessions() as session:
        counts = await broadcasts.count_recipients(session, audience, channels)
    texts: dict[str, str] = values["texts"]
    rows = [(_("Send now"), "send"), (_("Send later"), "later")]
    rows += [
        (_("Add the text in {language}").format(language=LANGUAGE_NAMES[code]), f"add:{code}")
        for code in LOCALES
        if code not in texts
    ]
    await say_all(update, preview_messages(texts, channels, counts), buttons(rows))
    return PREVIEW


def preview_messages(
    texts: Mapping[str, str], channels: Sequence[Channel], counts: Mapping[Channel, int]
) -> list[str]:
    """A message (or more, for a long text and its SMS form) per language; the counts last."""
    recipients = _("Recipients: Telegram {telegram}, SMS {sms}.").format(
        telegram=counts.get(Channel.TELEGRAM, 0), sms=counts.get(Channel.SMS, 0)
    )
    messages: list[str] = []
    for index, (locale, text) in enumerate(texts.items(), start=1):
        blocks = [] if messages else [_("Preview, exactly as citizens will see it:"), ""]
        blocks += [f"— {LANGUAGE_NAMES[locale]} —", text]
        if Channel.SMS in channels:
            blocks += ["", _("By SMS:"), sms_text(text)]
        if index == len(texts):
            blocks += ["", recipients]
        messages += pack(blocks)
    return messages


async def send_now(update: Update, context: BotContext) -> int:
    return await confirm(update, context, None)


async def ask_time(update: Update, context: BotContext) -> int:
    await say(update, _("When? Type the Baku date and time, e.g. 2026-12-01 10:00:"))
    return LATER


async def typed_time(update: Update, context: BotContext) -> int:
    assert update.effective_message is not None
    try:
        local = datetime.strptime((update.effective_message.text or "").strip(), "%Y-%m-%d %H:%M")
        moment = local.replace(tzinfo=BAKU).astimezone(UTC)
    except ValueError:
        moment = None
    if moment is None or moment <= datetime.now(UTC):
        await say(update, "⚠️ " + _("Please give a future time as 2026-12-01 10:00."))
        return LATER
    return await confirm(update, context, moment)


async def confirm(update: Update, context: BotContext, at: datetime | None) -> int:
    values = draft(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with context.services.sessions.begin() as session:
        broadcast = Broadcast(
            created_by=user.id,
            staff_chat_id=chat.id,
            audience=values["audience"],
            channels=values["channels"],
            texts=values["texts"],
            status=BroadcastStatus.SCHEDULED,
            scheduled_at=at,
        )
        session.add(broadcast)
        await session.flush()
        number = broadcast.id
    when = _("It will start at {time}.").format(time=format_datetime(at)) if at else _("Starting.")
    message = await say(update, _("Broadcast #{id} is saved. {when}").format(id=number, when=when))
    async with context.services.sessions.begin() as session:
        stored = await session.get(Broadcast, number)
        assert stored is not None
        stored.progress_message_id = message.message_id
    log.info("broadcast #%d by staff %d: %s", number, user.id, values["audience"])
    assert context.user_data is not None
    context.user_data.pop(KEY, None)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    if update.callback_query is not None:
        await answer_once(update.callback_query)
    assert context.user_data is not None
    context.user_data.pop(KEY, None)
    await say(update, _("The broadcast was not sent."))
    return ConversationHandler.END


async def wrong_input(update: Update, context: BotContext) -> int:
    if update.callback_query is not None:
        await answer_once(update.callback_query, _("This button is no longer active."))
        return ConversationHandler.END
    await say(update, "⚠️ " + _("Please answer the question above, or /cancel."))
    return await current_question(update, context)


async def current_question(update: Update, context: BotContext) -> int:
    """Ask again the question the draft is at."""
    values = draft(context)
    if values.get("texts"):
        return await show_preview(update, context)
    if "channels" in values:
        await say(update, _(ASK_TEXT))
        return TEXT
    if "audience" in values:
        return await ask_channel(update)
    return await start(update, context)


# --------------------------------------------------------------------------- list and cancel


def progress_text(broadcast: Broadcast, counts: Progress, now: datetime, locale: str = "az") -> str:
    """The counts and, while some remain, the time left at the speed reached so far."""
    text = translate(PROGRESS, locale).format(
        id=broadcast.id,
        sent=counts.sent,
        failed=counts.failed,
        blocked=counts.blocked,
        remaining=counts.remaining,
    )
    started = broadcast.scheduled_at or broadcast.created_at
    elapsed = (now - started).total_seconds()
    done = counts.sent + counts.failed + counts.blocked
    if counts.remaining and done and elapsed > 0:
        minutes = math.ceil(counts.remaining / (done / elapsed) / 60)
        text += " " + translate(ETA, locale).format(minutes=minutes)
    return text


async def list_recent(update: Update, context: BotContext) -> None:
    async with context.services.sessions() as session:
        found = [
            (b, await broadcasts.progress(session, b.id)) for b in await broadcasts.recent(session)
        ]
    await say_all(update, recent_messages(found))


def recent_messages(found: Sequence[tuple[Broadcast, Progress]]) -> list[str]:
    lines = [_("Recent broadcasts:")] if found else [_("There are no broadcasts yet.")]
    for broadcast, counts in found:
        audience = Audience.from_json(broadcast.audience)
        counted = _(COUNTS).format(
            sent=counts.sent,
            failed=counts.failed,
            blocked=counts.blocked,
            remaining=counts.remaining,
        )
        lines.append(
            f"#{broadcast.id} {format_datetime(broadcast.created_at)} · "
            f"{_(AUDIENCES[audience.kind])} {', '.join(audience.values)} · "
            f"{broadcast.status} · {counted}"
        )
    return pack(lines)


async def cancel_broadcast(update: Update, context: BotContext) -> None:
    args = context.args or []
    async with context.services.sessions.begin() as session:
        running = await broadcasts.active(session)
        if args:
            running = [b for b in running if str(b.id) == args[0].lstrip("#")]
        target = running[-1] if running else None
        withdrawn = await broadcasts.cancel(session, target.id) if target is not None else 0
    if target is None:  # said outside the transaction: tests/test_no_reply_in_transaction.py
        await say(update, _("There is no running broadcast to cancel."))
        return
    await say(
        update,
        _("Broadcast #{id} is cancelled; {count} messages will not be sent.").format(
            id=target.id, count=withdrawn
        ),
    )


# --------------------------------------------------------------------------- the job


async def advance(application: BotApplication, now: datetime) -> None:
    """Queue due broadcasts, edit progress messages, report the finished ones."""
    sessions = application.bot_data["services"].sessions
    async with sessions.begin() as session:
        for broadcast in await broadcasts.due_to_queue(session, now):
            broadcast.total = await broadcasts.queue(session, broadcast, sms_text=sms_text)
            broadcast.status = BroadcastStatus.SENDING
    async with sessions() as session:
        running = [
            b for b in await broadcasts.active(session) if b.status == BroadcastStatus.SENDING
        ]
    for broadcast in running:
        async with sessions() as session:
            counts = await broadcasts.progress(session, broadcast.id)
        text = progress_text(broadcast, counts, now)
        if counts.remaining == 0:
            async with sessions.begin() as session:
                stored = await session.get(Broadcast, broadcast.id)
                if stored is None or stored.status != BroadcastStatus.SENDING:
                    continue
                stored.status = BroadcastStatus.DONE
                stored.finished_at = now
            await tell(application, broadcast.staff_chat_id, None, "✅ " + text)
        await tell(application, broadcast.staff_chat_id, broadcast.progress_message_id, text)


async def tell(
    application: BotApplication, chat_id: int, message_id: int | None, text: str
) -> None:
    """Edit the progress message (or send one); a failed edit only loses one update of it."""
    pace = Pace(Priority.NOTICE)  # a job's message: the citizens' replies go first
    try:
        if message_id is None:
            await application.bot.send_message(chat_id, text, rate_limit_args=pace)
        else:
            await application.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, rate_limit_args=pace
            )
    except TelegramError as error:
        if "not modified" not in str(error):
            log.warning("broadcast progress to %d: %s", chat_id, error)


async def progress_job(context: BotContext) -> None:
    await advance(context.application, datetime.now(UTC))  # type: ignore[arg-type]


def schedule(application: BotApplication) -> None:
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            progress_job, interval=PROGRESS_EVERY, first=timedelta(seconds=1), name="broadcasts"
        )


# --------------------------------------------------------------------------- wiring


def build(staff_ids: Set[int]) -> list[BaseHandler[Update, BotContext, Any]]:
    staff = filters.User(user_id=list(staff_ids)) & filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND

    def on(pattern: str, callback: Any) -> BaseHandler[Update, BotContext, int]:
        return CallbackQueryHandler(callback, pattern=f"^{CB}{pattern}$")

    dialogue = conversation(
        entry_points=[CommandHandler("broadcast", start, filters=staff)],
        states={
            AUDIENCE: [on("aud:.+", chose_audience)],
            DISTRICTS: [MessageHandler(text, typed_districts)],
            LANGUAGE: [on("lang:.+", chose_language)],
            STATUS: [on("st:.+", chose_status)],
            CHANNEL: [on("ch:.+", chose_channel)],
            TEXT: [MessageHandler(text, typed_text)],
            PREVIEW: [on("send", send_now), on("later", ask_time), on("add:.+", add_language)],
            OTHER_TEXT: [MessageHandler(text, typed_other_text)],
            LATER: [MessageHandler(text, typed_time)],
        },
        fallbacks=[
            on("cancel", cancel),
            CommandHandler("cancel", cancel),
            MessageHandler(filters.ALL & ~filters.COMMAND, wrong_input),
        ],
        name="broadcast",
        persistent=True,
        allow_reentry=True,
    )
    return [
        dialogue,
        CommandHandler("broadcasts", list_recent, filters=staff),
        CommandHandler("broadcast_cancel", cancel_broadcast, filters=staff),
    ]
