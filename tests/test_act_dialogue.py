"""Violation acts end to end: staff register an act over HTTP, the citizen who follows the
subscriber code hears of it in Telegram, reads the breakdown, objects; staff are told; the
reminder sweep, run at simulated dates, queues each reminder once.

The bot polls the Bot API emulator; the staff API is the real aiohttp routes on a local port;
the outbox is delivered by the real dispatcher (one pass at a time, so the test sees order).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chat.context import BotApplication
from conversations import acts as acts_dialogue
from delivery import act_notices
from delivery.act_reminders import queue_due_reminders
from domain.acts import BAKU, sms_allowed_from
from emulator import BotApiEmulator
from handlers import acts_api, objections_api
from handlers.health import SERVICES
from i18n import format_money
from storage.models import Channel, OutboxMessage, OutboxStatus
from tests.harness import Citizen, bot_on_emulator
from tests.test_connection_request import choose_language, head
from tests.test_crash_recovery import free_port
from tests.test_dispatcher import dispatcher_for

TOKEN = "acts-token"
AYSEL, OLEG, STAFF = 4301, 4302, 4399
CODE = "100200300400500"
AYSEL_PHONE = "+994501234567"
OLEG_PHONE = "+994552223344"

Sessions = async_sessionmaker[AsyncSession]


ASK_CODE = (
    "Please send your 15-digit subscriber code (abonent kodu). It is printed on your "
    "electricity bill."
)
ASK_PHONE = (
    "To show the acts of this account we must be sure it is yours. Please share your mobile "
    "number with the button below, or type it (we will send a code by SMS). It must be the "
    "number recorded for the subscriber code."
)
ASK_REASON = (
    "Please write why you disagree with act {number}. You may write in several messages and add "
    "photos; you will see it all before it is sent."
)
PREVIEW = "Add more text or photos, press «Send» to send it, or «Edit the text» to write it again."
RECEIPT = (
    "Your objection is registered under number {receipt}. A written complaint is answered "
    "within 10 days, by {answer_due}.\nPlease note: an objection does not postpone the "
    "payment. To avoid disconnection, pay by {due}."
)


def az(msgid: str) -> str:
    return head(msgid, "az")


@pytest.fixture
async def running(
    engine: AsyncEngine, emulator: BotApiEmulator
) -> AsyncIterator[tuple[BotApplication, str]]:
    """The bot (staff: STAFF) and the acts and objections API on a local port."""
    async with bot_on_emulator(engine, emulator, staff_ids=[STAFF]) as application:
        app = web.Application()
        app[SERVICES] = application.bot_data["services"]
        app.add_routes(acts_api.routes(SecretStr(TOKEN)))
        app.add_routes(objections_api.routes(SecretStr(TOKEN)))
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield application, f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()


async def call(method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        http.request(method, url, json=body) as response,
    ):
        answer: dict[str, Any] = await response.json()
        assert response.status in (200, 201), answer
        return answer


def act_body(number: str, today: date) -> dict[str, Any]:
    return {
        "number": number,
        "subscriber_code": CODE,
        "address": "Sumqayıt, 9-cu mikrorayon, ev 12, mənzil 4",
        "district": "Sumqayıt",
        "consumer_phone": AYSEL_PHONE,
        "detected_on": today.isoformat(),
        "last_inspection_on": (today - timedelta(days=40)).isoformat(),
        "violation_type": "meter_bypass",
        "loads": [
            {"kind": "lighting", "power_w": "200"},
            {"kind": "appliance", "power_w": "1500", "description": "qızdırıcı"},
        ],
        "signed": False,
        "inspectors": ["Əliyev Ə."],
        "actor": "inspector-7",
    }


async def deliver(application: BotApplication, sessions: Sessions) -> int:
    """Dispatch until the outbox has nothing due (one chat gets 1 message a second)."""
    dispatcher = dispatcher_for(sessions, application.bot)
    sent = 0
    for _ in range(100):
        handled = await dispatcher.run_once()
        sent += handled
        async with sessions() as session:
            waiting = await session.scalar(
                select(func.count()).where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= datetime.now(UTC),
                )
            )
        if not waiting:
            return sent
        await asyncio.sleep(0.1)
    return sent


async def link_code(person: Citizen, phone: str) -> None:
    await person.says("Aktlar və ödənişlər")
    await person.sees(az(ASK_CODE))
    await person.says("12345")  # too short: the reason and the same question, one message
    refused = await person.reply()
    assert az("A subscriber code has exactly 15 digits.") in (refused.text or "")
    assert az(ASK_CODE) in (refused.text or "")
    await person.says("100 200 300 400 500")
    await person.sees(az(ASK_PHONE))
    await person.shares_contact(phone, owner_id=person.user_id)


async def outbox_rows(sessions: Sessions, prefix: str) -> list[OutboxMessage]:
    async with sessions() as session:
        result = await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.idempotency_key.startswith(prefix))
            .order_by(OutboxMessage.id)
        )
        return list(result.scalars())


async def test_act_from_registration_to_objection_and_reminders(
    running: tuple[BotApplication, str], emulator: BotApiEmulator, session_factory: Sessions
) -> None:
    application, base = running
    emulator.add_user(STAFF)  # the staff member has a chat with the bot
    today = datetime.now(UTC).astimezone(BAKU).date()
    await call("PUT", f"{base}/api/subscribers/{CODE}", {"phone": AYSEL_PHONE})

    # The citizen follows her code (her shared contact proves the phone on file).
    aysel = Citizen(emulator, AYSEL)
    await choose_language(aysel, "az")
    await link_code(aysel, AYSEL_PHONE)
    await aysel.sees(
        az("The subscriber code {code} is added. We will tell you here about its acts.")
    )
    await aysel.sees(
        az("There are no acts for these codes. We will write to you if one is drawn up.")
    )

    # Staff register an act; she is told in Telegram (and by SMS, queued for the gateway).
    act = await call("POST", f"{base}/api/acts", act_body("AKT-2026-0042", today))
    assert act["rule_set"] == "eeiq-8-17-current" and act["status"] == "open"
    assert act["due_on"] == (today + timedelta(days=10)).isoformat()
    assert act["notices_queued"] == 2
    # Drawn up in the night's quiet hours (22:00-09:00 Baku, as CI may run), the SMS waits.
    [queued] = await outbox_rows(session_factory, "act:AKT-2026-0042:registered:sms")
    held = sms_allowed_from(queued.created_at) > queued.created_at
    if held:
        assert queued.next_attempt_at.astimezone(BAKU).time() == time(9, 0)
    assert await deliver(application, session_factory) == (1 if held else 2)
    notice = await aysel.sees("AKT-2026-0042")
    amount = format_money(Decimal(act["amount"]), "az")
    assert amount in (notice.text or "") and CODE in (notice.text or "")
    [sms] = await outbox_rows(session_factory, "act:AKT-2026-0042:registered:sms")
    assert sms.recipient == AYSEL_PHONE
    assert sms.status == (OutboxStatus.PENDING if held else OutboxStatus.SENT)

    # She opens the breakdown: period, what was counted, months, and her rights and duties.
    await aysel.says("Aktlar və ödənişlər")
    listing = await aysel.sees("AKT-2026-0042")
    assert "ak:show:AKT-2026-0042" in listing.callback_data()
    await aysel.presses("ak:show:AKT-2026-0042")
    detail = await aysel.sees(az("How the amount was calculated ({rule}):"))
    text = detail.text or ""
    # item 8.17: all connected receivers, 1,700 W × 24 h × 40 days = 1,632 kWh
    assert "1.700 Vt × 24 saat × 40 gün = 1.632 kVt·saat" in text, text
    assert amount in text
    for msgid in (
        "• The act is valid even though it was not signed.",
        "• An objection does not postpone the payment.",
        "• If it is not paid by {due} (10 days after the act), the supply may be disconnected "
        "and the debt claimed in court.",
    ):
        assert az(msgid) in text, msgid

    # She objects: too short first, then her text in two messages, a photo, a sticker.
    await aysel.presses("ak:object:AKT-2026-0042")
    await aysel.sees(az(ASK_REASON))
    await aysel.says("Yox!")
    refused = await aysel.reply()  # the reason and the question, one message
    assert (refused.text or "").startswith("⚠️") and az(ASK_REASON) in (refused.text or "")
    assert az("Please write at least {count} characters.") in (refused.text or "")
    await aysel.says("Sayğac qapının arxasındadır, heç bir qızdırıcı yoxdur;")
    await aysel.sees(az(PREVIEW))
    await aysel.says("aktı imzalamadım.")
    preview = await aysel.reply()
    assert (preview.text or "").count("Sayğac qapının") == 1
    assert "yoxdur;\n\naktı imzalamadım." in (preview.text or "")
    assert preview.callback_data() == ["ak:send", "ak:redo", "ak:list"]
    await emulator.send_photo(AYSEL)
    with_photo = await aysel.sees(az(PREVIEW))
    assert "1/5" in (with_photo.text or "")
    await aysel.presses("ak:send")
    receipt_message = await aysel.sees(az(RECEIPT))
    receipt = next(w for w in (receipt_message.text or "").split() if w.startswith("ET-"))
    receipt = receipt.rstrip(".,")
    assert "10 gün" in (receipt_message.text or "")

    # Staff are told, with the photo; the API shows the objection.
    assert await deliver(application, session_factory) == 2
    told = await emulator.wait_for_text(STAFF, receipt)
    assert "AKT-2026-0042" in (told.text or "") and AYSEL_PHONE not in (told.text or "")
    assert [m.method for m in emulator.messages(STAFF)] == ["sendMessage", "sendPhoto"]
    seen = await call_get(f"{base}/api/acts/AKT-2026-0042")
    [objection] = seen["objections"]
    assert objection["receipt_number"] == receipt and len(objection["photo_file_ids"]) == 1
    assert objection["text"] == (
        "Sayğac qapının arxasındadır, heç bir qızdırıcı yoxdur;\n\naktı imzalamadım."
    )

    # Reminders: 3 days and 1 day before, and on the due date; each once, never on other days.
    due = date.fromisoformat(act["due_on"])
    queued_by_day = {}
    for day in (due - timedelta(days=offset) for offset in range(10, -3, -1)):
        noon = datetime.combine(day, time(12, 0), tzinfo=BAKU)
        first = await queue_due_reminders(session_factory, noon)
        again = await queue_due_reminders(session_factory, noon + timedelta(hours=1))
        assert again == 0
        queued_by_day[(day - due).days] = first
    assert {d: n for d, n in queued_by_day.items() if n} == {-3: 2, -1: 2, 0: 2}
    # The Telegram reminders go now; each SMS waits for its (simulated, future) noon.
    assert await deliver(application, session_factory) == 3
    sms_reminders = [
        row
        for row in await outbox_rows(session_factory, "act:AKT-2026-0042:due")
        if row.channel == Channel.SMS
    ]
    assert sorted((r.next_attempt_at - datetime.combine(due, time(12), BAKU)).days
                  for r in sms_reminders) == [-3, -1, 0]  # fmt: skip
    reminders = [m.text for m in emulator.messages(AYSEL) if "AKT-2026-0042" in (m.text or "")]
    assert len([t for t in reminders if t and az(act_notices.AFTER_DUE_DATE) in t]) == 3


async def call_get(url: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        http.get(url) as response,
    ):
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def test_a_code_with_another_phone_on_file_is_refused_and_reveals_nothing(
    running: tuple[BotApplication, str], emulator: BotApiEmulator, session_factory: Sessions
) -> None:
    _, base = running
    today = datetime.now(UTC).astimezone(BAKU).date()
    act = await call("POST", f"{base}/api/acts", act_body("AKT-2026-0043", today))

    oleg = Citizen(emulator, OLEG)
    await choose_language(oleg, "az")
    await link_code(oleg, OLEG_PHONE)
    refusal = await oleg.sees(az(acts_dialogue.NOT_LINKED))
    assert OLEG_PHONE in (refusal.text or "") and az(ASK_CODE) in (refusal.text or "")
    # Nothing about the act, its amount or the phone on file reached him.
    seen = " ".join(m.text or "" for m in emulator.messages(OLEG))
    for secret in ("AKT-2026-0043", AYSEL_PHONE, "Sumqayıt, 9-cu", act["amount"].split(".")[0]):
        assert secret not in seen, secret
    # An unknown code gets the very same answer.
    await oleg.says("999999999999999")
    second = await oleg.sees(az(acts_dialogue.NOT_LINKED))
    assert second.text == refusal.text
    # And he follows nothing.
    await oleg.presses("ak:close")
    await oleg.says("/acts")
    await oleg.sees(az(ASK_CODE))


async def test_reminders_skip_paid_and_cancelled_acts_and_sms_waits_for_the_morning(
    running: tuple[BotApplication, str], session_factory: Sessions
) -> None:
    _, base = running
    today = datetime.now(UTC).astimezone(BAKU).date()
    for number in ("AKT-1", "AKT-2", "AKT-3"):
        await call("POST", f"{base}/api/acts", act_body(number, today))
    act = await call_get(f"{base}/api/acts/AKT-1")
    await call(
        "POST",
        f"{base}/api/acts/AKT-1/payment",
        {"amount": act["amount"], "reference": "bank-1", "actor": "bank"},
    )
    await call("POST", f"{base}/api/acts/AKT-2/status", {"status": "cancelled", "actor": "x"})

    due = date.fromisoformat(act["due_on"])
    late_evening = datetime.combine(due - timedelta(days=1), time(23, 0), tzinfo=BAKU)
    assert await queue_due_reminders(session_factory, late_evening) == 1  # AKT-3's SMS only
    [sms] = await outbox_rows(session_factory, "act:AKT-3:due_in_1_day")
    assert sms.channel == Channel.SMS
    assert sms.next_attempt_at == datetime.combine(due, time(9, 0), tzinfo=BAKU)
    assert await outbox_rows(session_factory, "act:AKT-1:due") == []
    assert await outbox_rows(session_factory, "act:AKT-2:due") == []


async def test_a_recycled_number_proved_by_someone_else_silences_the_old_link(
    session_factory: Sessions,
) -> None:
    from storage import acts, citizens

    async with session_factory.begin() as session:
        old = await citizens.register_telegram_user(
            session, telegram_user_id=AYSEL, chat_id=AYSEL, locale="az"
        )
        await citizens.remember_verified_phone(session, old, AYSEL_PHONE)
        await acts.link(session, old.id, CODE)
        assert await acts.linked_codes(session, old.id) == [CODE]
        assert [c.id for c in await acts.followers(session, CODE)] == [old.id]

        new = await citizens.register_telegram_user(
            session, telegram_user_id=OLEG, chat_id=OLEG, locale="az"
        )
        await citizens.remember_verified_phone(session, new, AYSEL_PHONE)
        await session.refresh(old)
        assert old.phone_verified is False and new.phone_verified is True
        assert await acts.linked_codes(session, old.id) == []
        assert await acts.followers(session, CODE) == []


async def test_the_phone_step_can_be_cancelled(
    running: tuple[BotApplication, str], emulator: BotApiEmulator
) -> None:
    """The phone question's keyboard had only «Nömrəni paylaş»: no way out but the menu."""
    bot, _ = running
    aysel = Citizen(emulator, user_id=3901)
    await choose_language(aysel, "az")
    await aysel.says("Aktlar və ödənişlər")
    await aysel.sees(az(ASK_CODE))
    await aysel.says("100 200 300 400 500")
    asked = await aysel.sees(az(ASK_PHONE))
    assert [b["text"] for b in asked.buttons()] == [az("📱 Share my number"), az("Cancel")]
    await aysel.says(az("Cancel"))
    closed = await aysel.sees(az("Closed. Please choose from the menu below."))
    assert (closed.reply_markup or {}).get("keyboard")
    assert "acts" not in bot.user_data.get(aysel.user_id, {})


async def to_objection(person: Citizen, base: str, number: str) -> None:
    """``person`` follows CODE (her contact) and opens the objection to act ``number``."""
    today = datetime.now(UTC).astimezone(BAKU).date()
    await call("PUT", f"{base}/api/subscribers/{CODE}", {"phone": AYSEL_PHONE})
    await call("POST", f"{base}/api/acts", act_body(number, today))
    await choose_language(person, "az")
    await person.says("Aktlar və ödənişlər")
    await person.sees(az(ASK_CODE))
    await person.says(CODE)
    await person.sees(az(ASK_PHONE))
    await person.shares_contact(AYSEL_PHONE, owner_id=person.user_id)
    await person.sees(number)
    await person.presses(f"ak:show:{number}")
    await person.sees(az("How the amount was calculated ({rule}):"))
    await person.presses(f"ak:object:{number}")
    await person.sees(az(ASK_REASON))


async def test_an_objection_over_several_messages_is_previewed_edited_and_capped(
    running: tuple[BotApplication, str], emulator: BotApiEmulator, session_factory: Sessions
) -> None:
    """Before, the first message was the whole text, sent without a preview."""
    _, base = running
    aysel = Citizen(emulator, 4305)
    await to_objection(aysel, base, "AKT-2026-0050")
    await aysel.says("Birinci hissə: sayğac qapının arxasındadır.")
    first = await aysel.reply()
    assert first.callback_data() == ["ak:send", "ak:redo", "ak:list"]
    assert [b["text"] for b in first.buttons()] == ["Göndər", "Düzəlt", "Ləğv et"]
    await aysel.shares_contact(AYSEL_PHONE, owner_id=aysel.user_id)  # not text, not a photo
    wrong = await aysel.reply()
    assert (wrong.text or "").startswith("⚠️") and az(PREVIEW) in (wrong.text or "")

    # «Düzəlt»: the text starts again; what was written before is gone.
    await aysel.presses("ak:redo")
    await aysel.sees(az(ASK_REASON))
    await aysel.says("Yeni mətn: aktda göstərilən qızdırıcı evdə yoxdur.")
    redone = await aysel.reply()
    assert "Birinci hissə" not in (redone.text or "") and "Yeni mətn" in (redone.text or "")

    # Over what one message can take: refused with the room left, and the same question.
    act = await call_get(f"{base}/api/acts/AKT-2026-0050")
    assert act["status"] == "open"
    await aysel.says("ə" * 4000)
    over = await aysel.reply()
    text = over.text or ""
    assert text.startswith("⚠️") and az(PREVIEW) in text and "ə" * 100 not in text
    assert over.callback_data() == ["ak:send", "ak:redo", "ak:list"]
    # Just up to the room: accepted, and the preview itself fits one message.
    room = int(next(w for w in text.split() if w.isdigit()))
    written = len("Yeni mətn: aktda göstərilən qızdırıcı evdə yoxdur.") + 2
    await aysel.says("ə" * (room - written))
    fitted = await aysel.reply()
    assert az(PREVIEW) in (fitted.text or "") and len(fitted.text or "") <= 4096
    await aysel.presses("ak:send")
    await aysel.sees(az(RECEIPT))
    seen = await call_get(f"{base}/api/acts/AKT-2026-0050")
    [objection] = seen["objections"]
    assert objection["text"].startswith("Yeni mətn") and objection["text"].endswith("ə")
