"""Every text a citizen reads comes from the catalog: a pseudo-locale walk.

The Azerbaijani catalog is compiled again with every string wrapped in ⟦…⟧ (the pieces between
python-brace placeholders each wrapped, plural forms too) and stands in for ``az`` through the
real gettext machinery (:func:`i18n.catalog_stand_in`). Then the dialogues, the notices and the
SMS replies are walked end to end, and every message, button and answer must be made of ⟦…⟧
pieces alone, with only data between them: numbers, dates, amounts, application and act numbers,
what the citizen typed, district names. A text written in the code, never marked for
translation, shows up as letters outside the brackets. Staff texts in Telegram are read too.

The second walk covers what came later: objection answers (API and the staff dialogue), the
deadlines job and /staff, and acts paid on the hosted checkout with its signed callback.
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

import handlers.staff_deadlines
import i18n
from chat.context import BotApplication
from conversations import acts as acts_dialogue
from conversations import connection_request as cr
from conversations import draft_reminders, quote_text
from conversations import fee_calculator as fc
from delivery import act_notices, deadlines, notices, objection_notices, payment_text
from delivery.act_reminders import queue_due_reminders
from delivery.notices import sms_text
from domain.acts import BAKU, ActStatus
from domain.application_status import ApplicationStatus
from domain.connection_fees import Phase, default_rules
from domain.districts import all_districts
from domain.payment_channels import default_channels
from domain.power_centres import SAMPLE_POWER_CENTRES_FILE, load_power_centres
from emulator import BotApiEmulator, SentMessage
from handlers import acts_api, objections_api, payments_callback, sms_inbound
from handlers.health import SERVICES
from i18n import LANGUAGE_NAMES, translate
from storage.models import (
    ActObjection,
    Application,
    ApplicationStatusChange,
    OutboxMessage,
    ViolationAct,
)
from storage.models import Citizen as CitizenRow
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
from tests.test_act_payment_flow import SECRET as PAYMENTS_SECRET
from tests.test_act_payment_flow import Gateway, serve
from tests.test_act_payment_flow import callback as gateway_callback
from tests.test_connection_request import head, walk_to_review
from tests.test_crash_recovery import free_port
from tests.test_fee_calculator import DISTRICT_QUESTION, PHASE_QUESTION
from tests.test_sms_inbound import SECRET, Webhook, sms_json
from tests.test_staff_api import make_application

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
    """Everything the bot shows the citizens and staff: texts, buttons, callback answers,
    outbox."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator
        self.seen: list[tuple[str, str]] = []
        emulator.on_message(self.read)

    def read(self, message: SentMessage) -> None:
        where = "staff" if message.chat_id == STAFF else f"chat {message.chat_id}"
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
async def checkout() -> AsyncIterator[tuple[str, Gateway]]:
    """A hosted-checkout gateway (:class:`tests.test_act_payment_flow.Gateway`) and its URL."""
    gateway = Gateway()
    app = web.Application()
    app.add_routes([web.post("/invoices", gateway.invoice)])
    runner, base = await serve(app)
    try:
        yield f"{base}/invoices", gateway
    finally:
        await runner.cleanup()


@pytest.fixture
async def world(
    engine: AsyncEngine,
    emulator: BotApiEmulator,
    database_url: str,
    checkout: tuple[str, Gateway],
) -> AsyncIterator[tuple[BotApplication, str, str]]:
    """Under the pseudo catalog: the bot with the hosted-checkout gateway, and the acts,
    objections and payment-callback API and the SMS webhook on one port."""
    payments = {"payments_url": checkout[0], "payments_token": SecretStr("gateway-token")}
    with (
        i18n.catalog_stand_in("az", pseudo_catalog("az")),
        i18n.catalog_stand_in("ru", pseudo_catalog("ru")),
        i18n.catalog_stand_in("en", pseudo_catalog("en")),
    ):
        async with bot_on_emulator(
            engine, emulator, staff_ids=[STAFF], settings_overrides=payments
        ) as application:
            settings = settings_for(
                database_url,
                sms_webhook_secret=SecretStr(SECRET),
                sms_webhook_public_url=PUBLIC_URL,
                sms_queries_per_hour=50,
            )
            app = web.Application()
            app[SERVICES] = application.bot_data["services"]
            app.add_routes(acts_api.routes(SecretStr(TOKEN)))
            app.add_routes(objections_api.routes(SecretStr(TOKEN)))
            app.add_routes(payments_callback.routes(SecretStr(PAYMENTS_SECRET)))
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
            for button in (b for line in payload.get("buttons") or () for b in line):
                found.append((f"outbox {row.idempotency_key} button", str(button.get("text"))))
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

    # Aktlar: «Kodu sil» and «Nömrələrim», each with its confirmation, and a stale button each.
    await aysel.says("/acts")
    await aysel.sees("AKT-2026-0043")
    await aysel.presses("ak:unlink")
    await aysel.sees(head(acts_dialogue.UNLINK_QUESTION, "az"))
    await aysel.presses(f"ak:unlink!:{CODE}")
    await aysel.sees(head(acts_dialogue.UNLINKED, "az"))
    await aysel.sees(head(ASK_CODE, "az"))
    await aysel.presses(f"ak:unlink!:{CODE}")
    await aysel.sees(head(ASK_CODE, "az"))
    await aysel.presses("ak:numbers")
    await aysel.sees(head(acts_dialogue.NUMBERS_HEAD, "az"))
    await aysel.presses(f"ak:unphone:{AYSEL_PHONE}")
    await aysel.sees(head(acts_dialogue.REMOVE_PHONE_QUESTION, "az"))
    await aysel.presses(f"ak:unphone!:{AYSEL_PHONE}")
    await aysel.sees(head("The number {phone} is removed.", "az"))
    await aysel.presses(f"ak:unphone!:{AYSEL_PHONE}")
    await aysel.reply()

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


#: What staff and the citizen type in the second walk: data.
REASON = "Sayğac qapının arxasındadır, heç bir qızdırıcı yoxdur; aktı imzalamadım."
LONG_ANSWER = (
    "Yoxlama göstərdi ki, qızdırıcı evdə yoxdur və sayğac düzgün işləyir; aktın məbləği ləğv "
    "edilir, ödəniş tələb olunmur. Narahatlığa görə üzr istəyirik, suallarınız olsa, 199-a zəng "
    "edin."
)
SHORT_ANSWER = "Məbləğ azaldıldı."
REJECTED_ANSWER = "Akt qalır."  # short enough for the whole answer in one (UCS-2) SMS
UPHELD_ANSWER = "Qızdırıcı yoxdur, akt azaldılır."
CHOOSE = "Objection {receipt} to act {number}. Choose the answer:"
WRITE = "Write the answer for the citizen ({min} to {max} characters):"
CONFIRM = "The citizen will read (in their language):\n{outcome}.\n{text}"
REFUSED = "The act cannot change now (it is paid or cancelled). Send the answer alone."


async def objects_to(person: Citizen, number: str) -> str:
    """``person`` opens act ``number`` (with its «Pay online» link), objects; the receipt."""
    await person.says(t("Acts and payments"))
    await person.sees(number)
    await person.presses(f"ak:show:{number}")
    await person.sees(az("How the amount was calculated ({rule}):"))
    await person.presses(f"ak:object:{number}")
    await person.sees(az(ASK_REASON))
    await person.says(REASON)
    await person.sees(az(PREVIEW))
    await person.presses("ak:send")
    receipt = await person.sees(az(RECEIPT))
    found = re.search(r"ET-\d{4}-\d{6}", receipt.text or "")
    assert found is not None, receipt.text
    return found.group(0)


async def staff_writes(staff: Citizen, receipt: str, outcome: str, text: str) -> None:
    """Staff open the answer to ``receipt`` from its button, choose, write: the preview."""
    await staff.presses(f"oa:{receipt}")
    await staff.sees(az(CHOOSE))
    await staff.presses(f"oa:o:{outcome}")
    await staff.sees(az(WRITE))
    await staff.says(text)
    await staff.sees(az(CONFIRM))


async def owner_of(sessions: Sessions, emulator: BotApiEmulator, stored: Application) -> Citizen:
    """The one who made ``stored`` (:func:`tests.test_staff_api.make_application`), in Telegram."""
    async with sessions() as session:
        citizen = await session.get(CitizenRow, stored.citizen_id)
    assert citizen is not None and citizen.telegram_chat_id is not None
    emulator.add_user(citizen.telegram_chat_id)
    return Citizen(emulator, citizen.telegram_chat_id)


async def opens(owner: Citizen, stored: Application) -> None:
    """``owner`` opens ``stored`` under «My applications»: its payment part and history."""
    await owner.says(t("My applications"))
    await owner.sees(az("Choose one to see its history, or send its number."))
    await owner.presses(f"my:{stored.number}")
    await owner.sees(az("History:"))


async def paid_by_gateway(base: str, number: str, amount: Decimal, payment_id: str) -> None:
    report = {"payment_id": payment_id, "reference": f"{CODE}-{number}", "amount": str(amount)}
    status, answer = await gateway_callback(base, report)
    assert status == 201, answer


async def test_objection_answers_deadlines_and_gateway_payments_come_from_the_catalog(
    world: tuple[BotApplication, str, str],
    emulator: BotApiEmulator,
    session_factory: Sessions,
    checkout: tuple[str, Gateway],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Staff answer objections (API and Telegram: every outcome, cancel, recompute, refusals),
    the citizen reads the answers (chat and SMS), the deadlines job runs for two days, /staff
    lists what is close or overdue, and acts are paid on the hosted checkout."""
    application, base, _ = world
    reader = Reader(emulator)
    emulator.add_user(STAFF)
    staff = Citizen(emulator, STAFF)
    aysel = Citizen(emulator, AYSEL)
    now = datetime.now(UTC)
    today = now.astimezone(BAKU).date()
    numbers = [f"AKT-2026-00{n}" for n in range(51, 59)]
    await call("PUT", f"{base}/api/subscribers/{CODE}", {"phone": AYSEL_PHONE})
    amounts = {
        number: Decimal((await call("POST", f"{base}/api/acts", act_body(number, today)))["amount"])
        for number in numbers
    }
    cancelled, recomputed, rejected, paid_in_part, refused, close, late, overdue = numbers

    await aysel.says("/start")
    await aysel.reply()
    await aysel.says(t("Acts and payments"))
    await aysel.sees(az(ASK_CODE))
    await aysel.says(CODE)
    await aysel.sees(az(ASK_PHONE))
    await aysel.shares_contact(AYSEL_PHONE, owner_id=AYSEL)
    await aysel.sees(numbers[0])
    receipts = {number: await objects_to(aysel, number) for number in numbers[:6]}
    await deliver_outbox(application, session_factory)  # staff are told, with the button

    # Over the API: upheld and the act cancelled (a long answer: the SMS's short form), partly
    # upheld and the amount recomputed.
    async def answer(number: str, body: dict[str, Any]) -> None:
        url = f"{base}/api/objections/{receipts[number]}/answer"
        await call("POST", url, {"actor": "staff-1", **body})

    await answer(cancelled, {"outcome": "upheld", "text": LONG_ANSWER, "act": "cancel"})
    await answer(recomputed, {"outcome": "partly_upheld", "text": SHORT_ANSWER,
                              "act": "recompute", "amount": "120.50"})  # fmt: skip

    # In Telegram: rejected, after a text too short and one too long; the button again.
    await staff.sees(receipts[rejected])
    await staff.presses(f"oa:{receipts[rejected]}")
    await staff.sees(az(CHOOSE))
    await staff.presses("oa:o:rejected")
    await staff.sees(az(WRITE))
    await staff.says("Yox")
    await staff.sees(az("Please write at least {count} characters."))
    await staff.sees(az(WRITE))
    await staff.says("ə" * 2001)
    await staff.sees(az("The answer is too long (at most {max} characters)."))
    await staff.sees(az(WRITE))
    await staff.says(REJECTED_ANSWER)
    await staff.sees(az(CONFIRM))
    await staff.presses("oa:send")
    await staff.sees(receipts[rejected])  # sent
    await staff.presses(f"oa:{receipts[rejected]}")
    await staff.sees(az("This objection is already answered."))

    # Paid in part on the checkout (thanked), then upheld with a new amount below what is
    # paid, after one that is not an amount: the act is paid.
    await paid_by_gateway(base, paid_in_part, Decimal("100.00"), "gw-1")
    await staff_writes(staff, receipts[paid_in_part], "upheld", UPHELD_ANSWER)
    await staff.presses("oa:send:recompute")
    await staff.sees(az("The act's new amount in AZN, less than {amount} (for example 120.50):"))
    await staff.says("yüz")
    await staff.sees(az("That is not an amount less than the act's."))
    await staff.says("90,00")
    await staff.sees(receipts[paid_in_part])  # sent

    # Upheld, but the act is paid meanwhile: it cannot be cancelled; the answer is dropped.
    await staff_writes(staff, receipts[refused], "upheld", UPHELD_ANSWER)
    await paid_by_gateway(base, refused, amounts[refused], "gw-2")
    await staff.presses("oa:send:cancel")
    await staff.sees(az(REFUSED))
    await staff.sees(az(CONFIRM))
    await staff.presses("oa:cancel")
    await staff.sees(az("No change was made."))

    # A connection fee shown with its link and paid on the checkout; another left unpaid past
    # its deadline (its owner reads the history below).
    services = application.bot_data["services"]
    pending = await make_application(services, status="payment_pending", created_at=now)
    await opens(await owner_of(session_factory, emulator, pending), pending)
    status, _ = await gateway_callback(
        base, {"payment_id": "gw-3", "reference": pending.number, "amount": "1234.50"}
    )
    assert status == 201
    expired = await make_application(
        services, status="payment_pending", created_at=now - timedelta(days=45)
    )
    expired_owner = await owner_of(session_factory, emulator, expired)

    # Deadlines: an objection filed 13 days ago (overdue at both runs) and one 9 days ago (due
    # tomorrow); an act due in 2 days whose 3-day reminder fell on a day the job missed; an act
    # overdue.
    async with session_factory.begin() as session:
        for number, days in ((refused, 13), (close, 9)):
            objection = await session.scalar(
                select(ActObjection).where(ActObjection.receipt_number == receipts[number])
            )
            assert objection is not None
            objection.created_at = now - timedelta(days=days)
        for number, due in (
            (late, today + timedelta(days=2)),
            (overdue, today - timedelta(days=3)),
        ):
            act = await session.scalar(select(ViolationAct).where(ViolationAct.number == number))
            assert act is not None
            act.due_on = due
    first = await deadlines.run_day(session_factory, now - timedelta(days=2), [STAFF])
    second = await deadlines.run_day(session_factory, now, [STAFF])
    assert (first.closed, first.staff_reminders + second.staff_reminders) == (1, 2), (first, second)
    assert second.late_reminders > 0, second  # its chat and its SMS
    await staff.says("/staff")
    await staff.sees(az("Objections close to their answer date: {count}"))
    monkeypatch.setattr(handlers.staff_deadlines, "SHOWN", 1)
    await staff.says("/staff")  # now with "+1 more"
    await staff.sees(az("Objections close to their answer date: {count}"))

    # Staff act on the overdue act; the citizen's list and the details after all of it.
    for step in ("disconnected", "court"):
        await call("POST", f"{base}/api/acts/{overdue}/status", {"status": step, "actor": "x"})
    await deliver_outbox(application, session_factory)
    await opens(expired_owner, expired)
    await aysel.says(t("Acts and payments"))
    await aysel.sees(az("Choose an act to see how the amount was calculated."))
    for number in (recomputed, paid_in_part, overdue, late):
        await aysel.presses(f"ak:show:{number}")
        await aysel.sees(az("How the amount was calculated ({rule}):"))
    for invoice in checkout[1].invoices:  # the gateway's page shows its description
        reader.add("checkout page", invoice["description"])

    for where, text in await outbox_texts(session_factory):
        reader.add(where, text)
    typed = [REASON, LONG_ANSWER, SHORT_ANSWER, REJECTED_ANSWER, UPHELD_ANSWER, "Yox", "yüz"]
    found = reader.untranslated(extra=[*typed, *(map(sms_text, typed)), "ə" * 2001])
    report = (f"{where}: {text!r}\n    outside: {rest!r}" for where, text, rest in found)
    assert not found, "\n".join(report)
    shown = "\n".join(text for _, text in reader.seen)
    walked = (  # each variant was seen, so each was checked
        objection_notices.RECOMPUTED, payment_text.PAYMENT_THANKS, payment_text.PAY_ONLINE,
        act_notices.LATE_REMINDER, objection_notices.STAFF_REMINDER, notices.DEADLINE_PASSED,
        objection_notices.STAFF_REMINDER_LATE,
        act_notices.STATUS_TEXTS[ActStatus.DISCONNECTED], act_notices.STATUS_TEXTS[ActStatus.COURT],
        "• {receipt} (act {number}): overdue since {due}",
        "• {receipt} (act {number}): answer by {due}",
        "Acts unpaid past their due date (staff decide what follows):",
        "Sent: objection {receipt} is answered. Notices queued: {count}.", "+{count} more",
        notices.DEADLINE_HISTORY, "To pay: {amount} by {deadline}.",
    )  # fmt: skip
    sms = (objection_notices.ANSWER_SMS_SHORT, payment_text.PAYMENT_THANKS_SMS,
           notices.DEADLINE_PASSED_SMS)  # fmt: skip
    missing = [m for m in walked if az(m) not in shown]
    missing += [m for m in sms if sms_text(az(m)) not in shown]
    assert not missing, missing
    whole = [text for where, text in reader.seen if where.endswith("answer:sms text")]
    assert any(text.endswith(sms_text(REJECTED_ANSWER)) for text in whole), whole
