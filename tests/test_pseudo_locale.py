"""Every text a citizen reads comes from the catalog: a pseudo-locale walk.

The Azerbaijani catalog is compiled again with every string wrapped in ⟦…⟧ (the pieces between
python-brace placeholders each wrapped, plural forms too) and stands in for ``az`` through the
real gettext machinery (:func:`i18n.catalog_stand_in`). Then the dialogues, the notices and the
SMS replies are walked end to end, and every message, button and answer must be made of ⟦…⟧
pieces alone, with only data between them: numbers, dates, amounts, application and act numbers,
what the citizen typed, district names. A text written in the code, never marked for
translation, shows up as letters outside the brackets.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from babel.dates import get_month_names
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import i18n
from bot.emulator import BotApiEmulator, SentMessage
from chat.context import BotApplication
from conversations import acts as acts_dialogue
from conversations import connection_request as cr
from conversations import draft_reminders, quote_text
from conversations import fee_calculator as fc
from delivery import notices
from delivery.act_reminders import queue_due_reminders
from domain.acts import BAKU
from domain.application_status import ApplicationStatus
from domain.connection_fees import Phase, default_rules
from domain.districts import all_districts
from domain.payment_channels import default_channels
from domain.power_centres import SAMPLE_POWER_CENTRES_FILE, load_power_centres
from handlers import acts_api, sms_inbound
from handlers.health import SERVICES
from i18n import LANGUAGE_NAMES, translate
from storage.models import Application, ApplicationStatusChange, OutboxMessage
from tests.harness import Citizen, bot_on_emulator, settings_for
from tests.test_act_dialogue import (
    ASK_CODE,
    ASK_PHONE,
    ASK_REASON,
    PREVIEW,
    RECEIPT,
    act_body,
    call,
)
from tests.test_act_dialogue import deliver as deliver_outbox
from tests.test_connection_request import head, walk_to_review
from tests.test_crash_recovery import free_port
from tests.test_fee_calculator import DISTRICT_QUESTION, PHASE_QUESTION
from tests.test_sms_inbound import SECRET, Webhook, sms_json

OPEN, CLOSE = "⟦", "⟧"
TOKEN = "acts-token"
AYSEL, OLEG, RAUF, STAFF = 4801, 4802, 4803, 4899
CODE = "100200300400500"
AYSEL_PHONE = "+994501234567"
OLEG_PHONE = "+994552223344"
PUBLIC_URL = "https://bot.azerishiq.example/sms/inbound"
Sessions = async_sessionmaker[AsyncSession]

#: What the citizen typed, staff registered, or the domain names: data, not wording.
DATA = (
    "Aysel", "Məmmədova", "Elçin qızı", "Aysel.Mammadova@mail.az", "12-345/2020", "7 B",
    "Sumqayıt, 9-cu mikrorayon, ev 12, mənzil 4", "qızdırıcı", "Əliyev Ə.",
    "Sayğac qapının arxasındadır, heç bir qızdırıcı yoxdur; aktı imzalamadım.", "Rauf",
    "Həsənov", "Şuşa",
    *LANGUAGE_NAMES.values(), "Telegram", "SMS", "STATUS", "BORC", "STOP", "START",
    "Azərişıq", "Azerisiq", "AZN",  # the company's name (one spelling) and the currency code
)  # fmt: skip
PATTERNS = (
    r"\b(?:QM|ET|AKT)-\d{4}-\d+\b",  # application, objection and act numbers
    r"\bAKT-\d+\b",
    r"/[a-z_]+",  # a command named in a text
    r"\b[A-Z]*\d[A-Z\d]*\b",  # codes with digits: FIN, ID card, subscriber code
)


def pseudo(text: str) -> str:
    """Each run of text between placeholders in ⟦…⟧; the placeholders stay as they are."""
    parts = re.split(r"(\{[^{}]*\})", text)
    return "".join(p if p.startswith("{") or not p else OPEN + p + CLOSE for p in parts)


def pseudo_catalog(locale: str = "az") -> gettext.GNUTranslations:
    path = i18n.LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po_file:
        source = read_po(po_file, locale=locale)
    marked = Catalog(locale=locale)
    for message in source:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            ids = [str(i) for i in message.id]
            given = [str(s or "") for s in message.string or ()]
            forms = given if any(given) else ids
            strings = [pseudo(s or ids[min(n, len(ids) - 1)]) for n, s in enumerate(forms)]
            marked.add(tuple(ids), tuple(strings), flags=message.flags)
        else:
            marked.add(message.id, pseudo(str(message.string or message.id)), flags=message.flags)
    buffer = io.BytesIO()
    write_mo(buffer, marked)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def data_words() -> set[str]:
    words = set(DATA)
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            words |= set(get_month_names(width, context, locale="az").values())
    for district in all_districts():
        words |= {district.name, district.name_en, district.name_ru}
    rules = default_rules()  # the titles of the legal acts a quote cites, as the data has them
    for act in (*rules.rule_sets, *rules.discounts):
        words |= {act.title, *(title for _, title in act.titles)}  # type: ignore[attr-defined]
    words |= {centre.name for centre in load_power_centres(SAMPLE_POWER_CENTRES_FILE)}
    for channel in default_channels().channels:  # where to pay: the company's data file
        words |= {text for _, text in (*channel.names, *channel.how)}
    return {w for w in words if isinstance(w, str) and w}


def outside_the_catalog(text: str, extra: Iterable[str] = ()) -> str:
    """What is left of ``text`` once the ⟦…⟧ pieces and known data are taken out: should hold
    no letter."""
    rest = re.sub(r"⟦[^⟦⟧]*⟧", " ", text)
    for word in sorted({*data_words(), *extra}, key=len, reverse=True):
        rest = rest.replace(word, " ")
    for pattern in PATTERNS:
        rest = re.sub(pattern, " ", rest)
    return rest


def has_letters(text: str) -> bool:
    return re.search(r"[^\W\d_]", text) is not None


class Reader:
    """Everything the bot shows the citizens: texts, buttons, callback answers, outbox."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator
        self.seen: list[tuple[str, str]] = []
        emulator.on_message(self.read)

    def read(self, message: SentMessage) -> None:
        where = f"chat {message.chat_id}"
        if message.chat_id == STAFF:
            return  # staff texts are not the citizen's; they are checked elsewhere
        if message.text:
            self.seen.append((where, message.text))
        for button in message.buttons():
            self.seen.append((where + " button", str(button.get("text", ""))))

    def add(self, where: str, text: str) -> None:
        self.seen.append((where, text))

    def untranslated(self, extra: Iterable[str] = ()) -> list[tuple[str, str, str]]:
        for answer in self.emulator.callback_answers():
            if answer.text:
                self.seen.append(("callback answer", answer.text))
        found = []
        for where, text in self.seen:
            rest = outside_the_catalog(text, extra)
            if has_letters(rest):
                found.append((where, text, " ".join(rest.split())))
        return found


@pytest.fixture
async def world(
    engine: AsyncEngine, emulator: BotApiEmulator, database_url: str
) -> AsyncIterator[tuple[BotApplication, str, str]]:
    """Under the pseudo catalog: the bot, the acts API and the SMS webhook on one port."""
    with (
        i18n.catalog_stand_in("az", pseudo_catalog("az")),
        i18n.catalog_stand_in("ru", pseudo_catalog("ru")),
        i18n.catalog_stand_in("en", pseudo_catalog("en")),
    ):
        async with bot_on_emulator(engine, emulator, staff_ids=[STAFF]) as application:
            settings = settings_for(
                database_url,
                sms_webhook_secret=SecretStr(SECRET),
                sms_webhook_public_url=PUBLIC_URL,
                sms_queries_per_hour=50,
            )
            app = web.Application()
            app[SERVICES] = application.bot_data["services"]
            app.add_routes(acts_api.routes(SecretStr(TOKEN)))
            app.add_routes(sms_inbound.routes(settings))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            port = free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            try:
                yield application, f"http://127.0.0.1:{port}", "/sms/inbound"
            finally:
                await runner.cleanup()


def t(msgid: str) -> str:
    return translate(msgid, "az")


def az(msgid: str) -> str:
    """Enough of a message to recognise it (see :func:`tests.test_connection_request.head`)."""
    return head(msgid, "az")


async def outbox_texts(sessions: Sessions) -> list[tuple[str, str]]:
    async with sessions() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        found = []
        for row in rows:
            payload: dict[str, Any] = row.payload or {}
            for key in ("text", "subject", "caption"):
                if isinstance(payload.get(key), str):
                    found.append((f"outbox {row.idempotency_key} {key}", payload[key]))
        return found


def test_the_pseudo_catalog_marks_every_piece() -> None:
    with i18n.catalog_stand_in("az", pseudo_catalog()):
        assert t("Connection request") == "⟦Qoşulma müraciəti⟧"
        assert t("Application {number}") == "⟦Müraciət ⟧{number}"
        assert i18n.translate("Connection request", "ru") == "Заявка на подключение"
        with i18n.use_locale("az"):
            assert i18n.ngettext("{days} day", "{days} days", 5) == "{days}⟦ gün⟧"
    assert t("Connection request") == "Qoşulma müraciəti"


def test_the_checker_finds_text_outside_the_catalog() -> None:
    assert not has_letters(outside_the_catalog("✅ ⟦Müraciət ⟧QM-2026-000001⟦ qəbul edildi⟧\n3,5"))
    assert has_letters(outside_the_catalog("⚠️ We could not add this subscriber code"))
    assert has_letters(outside_the_catalog("⟦Faza⟧: 1 phase"))


async def test_every_dialogue_notice_and_sms_reply_comes_from_the_catalog(
    world: tuple[BotApplication, str, str],
    emulator: BotApiEmulator,
    engine: AsyncEngine,
    session_factory: Sessions,
) -> None:
    application, base, sms_path = world
    reader = Reader(emulator)
    emulator.add_user(STAFF)
    aysel = Citizen(emulator, AYSEL)

    # Welcome, help, language.
    await aysel.says("/start")
    await aysel.sees(head(i18n.N_("The buttons on the top row change the language."), "az"))
    await aysel.says(t("Help"))
    await aysel.sees("199")
    await aysel.says("/language")
    await aysel.reply()
    await aysel.says("/nonsense")
    await aysel.reply()

    # The connection request with the fee quote, the review and submission.
    review = await walk_to_review(
        aysel, "az", district="sumqayit", phone_by_code=True, engine=engine
    )
    assert "cr:submit" in review.callback_data()
    await aysel.presses("cr:submit")
    done = await aysel.sees("QM-2026-")
    number = re.search(r"QM-2026-\d+", done.text or "")
    assert number is not None
    number_text = number.group(0)

    # My applications, lookup by number, withdrawal (its notice goes through the outbox).
    await aysel.says(t("My applications"))
    await aysel.sees(number_text)
    await aysel.presses(f"my:{number_text}")
    await aysel.sees(head("History:", "az"))
    await aysel.says("QM-2026-999999")
    await aysel.reply()
    await aysel.says(number_text)
    await aysel.sees(head("History:", "az"))
    await aysel.presses(f"my:withdraw:{number_text}")
    await aysel.reply()
    await aysel.presses(f"my:withdraw!:{number_text}")
    await aysel.sees(head("Application {number} is withdrawn.", "az"))

    # Acts: follow a code, the act notice, the list, the breakdown, an objection.
    today = datetime.now(UTC).astimezone(BAKU).date()
    await call("PUT", f"{base}/api/subscribers/{CODE}", {"phone": AYSEL_PHONE})
    await aysel.says(t("Acts and payments"))
    await aysel.sees(head(ASK_CODE, "az"))
    await aysel.says("12345")
    await aysel.sees(head("A subscriber code has exactly 15 digits.", "az"))
    await aysel.says(CODE)  # her phone is verified since the application: no second check
    await aysel.sees(
        az("The subscriber code {code} is added. We will tell you here about its acts.")
    )
    await aysel.sees(
        az("There are no acts for these codes. We will write to you if one is drawn up.")
    )
    act = await call("POST", f"{base}/api/acts", act_body("AKT-2026-0042", today))
    await deliver_outbox(application, session_factory)
    await aysel.sees("AKT-2026-0042")
    await aysel.says(t("Acts and payments"))
    await aysel.sees("AKT-2026-0042")
    await aysel.presses("ak:show:AKT-2026-0042")
    await aysel.sees(head("How the amount was calculated ({rule}):", "az"))
    await aysel.presses("ak:object:AKT-2026-0042")
    await aysel.sees(head(ASK_REASON, "az"))
    await aysel.says("Yox!")
    await aysel.sees(head(ASK_REASON, "az"))
    await aysel.says("Sayğac qapının arxasındadır, heç bir qızdırıcı yoxdur; aktı imzalamadım.")
    await aysel.sees(az(PREVIEW))
    await emulator.send_photo(AYSEL)
    await aysel.sees(az(PREVIEW))
    await aysel.shares_location(40.59, 49.67)  # neither text nor a photo
    await aysel.sees(head("Please send text or a photo, or press «Send».", "az"))
    await aysel.says("ə" * 4090)  # over the room the preview has
    await aysel.sees(head(acts_dialogue.TOO_LONG, "az"))
    await aysel.presses("ak:redo")
    await aysel.sees(head(ASK_REASON, "az"))
    await aysel.says("Sayğac qapının arxasındadır, heç bir qızdırıcı yoxdur; aktı imzalamadım.")
    await aysel.sees(az(PREVIEW))
    await aysel.presses("ak:send")
    await aysel.sees(head(RECEIPT, "az"))

    # Reminders before and on the due date, and the act's later statuses.
    due = datetime.fromisoformat(act["due_on"]).date()
    for offset in (3, 1, 0):
        noon = datetime.combine(due - timedelta(days=offset), time(12), tzinfo=BAKU)
        await queue_due_reminders(session_factory, noon)
    await deliver_outbox(application, session_factory)

    # A code whose phone on file is someone else's: refused, in the citizen's language.
    oleg = Citizen(emulator, OLEG)
    await oleg.says(t("Acts and payments"))
    await oleg.sees(head(ASK_CODE, "az"))
    await oleg.says(CODE)
    await oleg.sees(head(ASK_PHONE, "az"))
    await oleg.shares_contact(OLEG_PHONE, owner_id=OLEG)
    await oleg.sees(head(acts_dialogue.NOT_LINKED, "az"))

    # The act is paid; a second act is cancelled: both are told.
    await call("POST", f"{base}/api/acts/AKT-2026-0042/payment",
               {"amount": act["amount"], "reference": "bank-1", "actor": "bank"})  # fmt: skip
    await call("POST", f"{base}/api/acts", act_body("AKT-2026-0043", today))
    cancel = {"status": "cancelled", "actor": "x"}
    await call("POST", f"{base}/api/acts/AKT-2026-0043/status", cancel)
    await deliver_outbox(application, session_factory)
    await aysel.says("/acts")
    await aysel.sees("AKT-2026-0043")

    # The fee calculator with a district discount, then an application from its values;
    # /cancel, wrong answers, the draft's reminder and expiry, announcements.
    rauf = Citizen(emulator, RAUF, first_name="Rauf")
    await rauf.says(t("Calculate the fee"))
    await rauf.sees(head(PHASE_QUESTION, "az"))
    await rauf.presses("fc:phase:1")
    await rauf.sees(head(quote_text.POWER_QUESTIONS[Phase.ONE], "az"))
    await rauf.says("7,55")
    await rauf.sees(head("Please give the power with at most one decimal, e.g. 7.5.", "az"))
    await rauf.says("7,5")
    await rauf.sees(head(DISTRICT_QUESTION, "az"))
    await rauf.says("Şuşa")
    await rauf.sees(head("Connection fee for {phase}, {power}: {amount}", "az"))
    await rauf.presses(fc.APPLY_CALLBACK)
    await rauf.sees(head(cr.TEXT_FIELDS[cr.FIRST_NAME].question, "az"))
    await rauf.says("/cancel")
    await rauf.sees(head("The application was cancelled and its draft deleted.", "az"))
    await rauf.says("/cancel")
    await rauf.sees(head("There is nothing to cancel. Please choose from the menu below.", "az"))
    await rauf.says(t("Connection request"))
    await rauf.sees(head(cr.TEXT_FIELDS[cr.FIRST_NAME].question, "az"))
    await rauf.says("Rauf")
    await rauf.sees(head(cr.TEXT_FIELDS[cr.LAST_NAME].question, "az"))
    await rauf.says("Həsənov")
    await rauf.sees(head(cr.TEXT_FIELDS[cr.PATRONYMIC].question, "az"))
    await rauf.presses(cr.SKIP)
    await rauf.sees(head(cr.TEXT_FIELDS[cr.FIN].question, "az"))
    await rauf.says("12O")
    await rauf.sees(head(cr.TEXT_FIELDS[cr.FIN].question, "az"))
    await rauf.presses(cr.BACK)
    await rauf.sees(head(cr.TEXT_FIELDS[cr.PATRONYMIC].question, "az"))
    later = datetime.now(UTC) + timedelta(minutes=31)
    assert await draft_reminders.sweep(application, now=later) == (1, 0)
    await rauf.sees(head(draft_reminders.REMINDER, "az"))
    await rauf.says(t("Connection request"))
    resume = await rauf.reply()
    assert resume.callback_data(), resume.text
    await rauf.says("/cancel")
    await rauf.reply()
    await rauf.says(t("Connection request"))
    await rauf.sees(head(cr.TEXT_FIELDS[cr.FIRST_NAME].question, "az"))
    assert await draft_reminders.sweep(application, now=later + timedelta(hours=25)) == (0, 1)
    await rauf.sees(head(draft_reminders.EXPIRED, "az"))
    await rauf.says(t("Announcements"))
    toggle = await rauf.reply()
    assert toggle.callback_data(), toggle.text
    await rauf.presses(toggle.callback_data()[0])
    await rauf.reply()
    await rauf.says(t("My applications"))
    await rauf.reply()
    await rauf.says("salam")
    await rauf.reply()

    # SMS queries from Aysel's verified phone (the replies are queued in the outbox).
    hook = Webhook(base + sms_path, session_factory)
    for command in ("STATUS", f"STATUS {number_text}", "STATUS QM-2026-999999", "BORC", "KOMEK",
                    "salam", "STOP", "START"):  # fmt: skip
        code, _ = await sms_json(hook, command)
        assert code == 200

    # Every status notice, rendered as the dispatcher would send it.
    stored = Application(number=number_text, fee_amount=Decimal("300.00"))
    for each in ApplicationStatus:
        change = ApplicationStatusChange(
            to_status=each, changed_at=datetime.now(UTC), comment="Sənədlər tamdır"
        )
        reader.add(f"status {each}", notices.status_text(stored, change, "az"))
        reader.add(f"status sms {each}", notices.status_sms(stored, change, "az"))

    for where, text in await outbox_texts(session_factory):
        reader.add(where, text)
    found = reader.untranslated(extra=["Sənədlər tamdır", "Sened", "Yox!", "bir de bu"])
    report = (f"{where}: {text!r}\n    outside: {rest!r}" for where, text, rest in found)
    assert not found, "\n".join(report)
