"""The SMS fallback over real HTTP: both webhook formats, signatures, replays, every command in
three languages, privacy, the query limit, opting out, and 2,000 random requests.

The webhook is the real aiohttp route on a local port; replies are read from the outbox (the
dispatcher that sends them is tested in test_dispatcher.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import handlers.sms_inbound
from bot.runtime import make_services
from delivery import application_changes, sms_replies
from domain.sms import sms_size, transliterate
from domain.sms_commands import SmsCommand, parse_sms
from handlers import acts_api
from handlers.health import SERVICES
from i18n import translate
from storage import acts, applications, citizen_applications, citizens
from storage.models import Channel, Citizen, OutboxMessage, SmsInbound
from tests.harness import settings_for
from tests.test_application_results import submission
from tests.test_crash_recovery import free_port

SECRET = "sms-webhook-secret"
PUBLIC_URL = "https://bot.azerishiq.example/sms/inbound"
AYSEL_PHONE = "+994501234567"
OTHER_PHONE = "+994705556677"

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Webhook:
    url: str
    sessions: Sessions


@pytest.fixture
async def webhook(engine: AsyncEngine, database_url: str) -> AsyncIterator[Webhook]:
    settings = settings_for(
        database_url,
        sms_webhook_secret=SecretStr(SECRET),
        sms_webhook_public_url=PUBLIC_URL,
        sms_queries_per_hour=10,
    )
    services = make_services(settings, engine)
    app = web.Application()
    app[SERVICES] = services
    app.add_routes(handlers.sms_inbound.routes(settings))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Webhook(f"http://127.0.0.1:{port}/sms/inbound", services.sessions)
    finally:
        await runner.cleanup()


def json_signature(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def twilio_signature(params: dict[str, str], url: str = PUBLIC_URL, secret: str = SECRET) -> str:
    payload = url + "".join(name + value for name, value in sorted(params.items()))
    return base64.b64encode(
        hmac.new(secret.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()


async def post(url: str, raw: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.post(url, data=raw, headers=headers) as reply:
        return reply.status, reply.content_type, await reply.text()


counter = iter(range(1, 10**9))


async def sms_json(
    hook: Webhook, text: str, phone: str = AYSEL_PHONE, message_id: str | None = None,
    signature: str | None = "valid",
) -> tuple[int, str]:  # fmt: skip
    body = {
        "id": message_id or f"msg-{next(counter)}", "from": phone, "to": "9191", "text": text,
        "received_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Signature"] = json_signature(raw) if signature == "valid" else signature
    status, _, text_back = await post(hook.url, raw, headers)
    return status, text_back


async def sms_twilio(
    hook: Webhook, text: str, phone: str = AYSEL_PHONE, sid: str | None = None,
    signature: str | None = "valid",
) -> tuple[int, str, str]:  # fmt: skip
    params = {"MessageSid": sid or f"SM{next(counter):032d}", "From": phone, "To": "+9949191",
              "Body": text, "NumMedia": "0"}  # fmt: skip
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = (
            twilio_signature(params) if signature == "valid" else signature
        )
    return await post(hook.url, urlencode(params).encode(), headers)


async def replies(sessions: Sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        result = await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.idempotency_key.startswith("sms-reply:"))
            .order_by(OutboxMessage.id)
        )
        return list(result.scalars())


async def last_reply(sessions: Sessions) -> str:
    found = await replies(sessions)
    assert found, "no reply was queued"
    text: str = found[-1].payload["text"]
    return text


async def count(sessions: Sessions, model: type[Any]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def reply_text(msgid: str, locale: str) -> str:
    return transliterate(translate(msgid, locale))


async def submitted(sessions: Sessions, key: str = "sms-1", phone: str = AYSEL_PHONE) -> str:
    async with sessions.begin() as session:
        stored, _ = await applications.submit(
            session, draft=submission(key, phone=phone), telegram_user_id=7001, chat_id=7001,
            locale="az",
        )  # fmt: skip
        return stored.number


# --------------------------------------------------------------------------- the two formats


async def test_json_status_is_answered_through_the_outbox_once(webhook: Webhook) -> None:
    number = await submitted(webhook.sessions)
    status, body = await sms_json(webhook, "STATUS", message_id="gw-1")
    assert (status, json.loads(body)) == (200, {"status": "accepted"})
    [reply] = await replies(webhook.sessions)
    assert reply.channel == Channel.SMS and reply.recipient == AYSEL_PHONE
    assert reply.idempotency_key == "sms-reply:gw-1" and reply.priority == 0
    text = reply.payload["text"]
    assert number in text and "Qeyd" in text  # "Qeydə alınıb", transliterated
    assert sms_size(text).encoding == "gsm7" and sms_size(text).segments == 1
    # The gateway delivers the same message again: acknowledged, not answered twice.
    status, body = await sms_json(webhook, "STATUS", message_id="gw-1")
    assert (status, json.loads(body)) == (200, {"status": "duplicate"})
    assert len(await replies(webhook.sessions)) == 1
    assert await count(webhook.sessions, SmsInbound) == 1


@pytest.mark.parametrize(
    "signature", [None, "", "sha256=", "sha256=00", "md5=abc", json_signature(b"{}"),
                  json_signature(b"x", secret="another-secret")],
)  # fmt: skip
async def test_json_without_a_valid_signature_is_401_and_stores_nothing(
    webhook: Webhook, signature: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    status, body = await sms_json(webhook, "STATUS secret-text", signature=signature)
    assert (status, json.loads(body)) == (401, {"error": "bad_signature"})
    assert await count(webhook.sessions, SmsInbound) == 0
    assert await count(webhook.sessions, OutboxMessage) == 0
    assert "secret-text" not in caplog.text and "bad_signature" in caplog.text


async def test_twilio_form_is_verified_with_the_public_url_and_gets_empty_twiml(
    webhook: Webhook,
) -> None:
    status, content_type, body = await sms_twilio(webhook, "komek", sid="SM1")
    assert (status, content_type) == (200, "text/xml")
    assert body == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    assert await last_reply(webhook.sessions) == reply_text(sms_replies.HELP, "az")
    status, _, _ = await sms_twilio(webhook, "komek", sid="SM1")  # a redelivery
    assert status == 200 and len(await replies(webhook.sessions)) == 1


@pytest.mark.parametrize("signature", [None, "", "abc=", "local-url"])
async def test_twilio_without_a_valid_signature_is_401(
    webhook: Webhook, signature: str | None
) -> None:
    if signature == "local-url":  # signed for the URL we listen on, not the public one
        params = {"MessageSid": "SM9", "From": AYSEL_PHONE, "To": "1", "Body": "help"}
        signature = twilio_signature(params, url=webhook.url)
    status, _, _ = await sms_twilio(webhook, "help", sid="SM9", signature=signature)
    assert status == 401
    assert await count(webhook.sessions, SmsInbound) == 0


@pytest.mark.parametrize(
    ("headers", "raw", "expected"),
    [
        ({"Content-Type": "text/plain"}, b"STATUS", 415),
        ({"Content-Type": "application/json"}, b"x" * 9000, 413),
        ({"Content-Type": "application/json"}, b"{not json", 400),
        ({"Content-Type": "application/json"}, b"[1, 2]", 400),
        ({"Content-Type": "application/json"}, b'{"id": "1", "from": "+79161234567", "text": ""}',
         400),
        ({"Content-Type": "application/json"}, b'{"id": "", "from": "+994501234567", "text": ""}',
         400),
        ({"Content-Type": "application/json"}, b'{"id": 5, "from": "+994501234567", "text": ""}',
         400),
        ({"Content-Type": "application/json"}, b'{"id": "1", "from": "+994501234567"}', 400),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"\xff\xfe", 400),
    ],
)  # fmt: skip
async def test_malformed_signed_requests_are_4xx_and_store_nothing(
    webhook: Webhook, headers: dict[str, str], raw: bytes, expected: int
) -> None:
    signed = {**headers, "X-Signature": json_signature(raw)}
    status, _, _ = await post(webhook.url, raw, signed)
    assert status == expected
    assert await count(webhook.sessions, SmsInbound) == 0


async def test_without_a_secret_the_webhook_is_disabled(
    engine: AsyncEngine, database_url: str
) -> None:
    settings = settings_for(database_url)
    app = web.Application()
    app[SERVICES] = make_services(settings, engine)
    app.add_routes(handlers.sms_inbound.routes(settings))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        raw = b'{"id": "1", "from": "+994501234567", "text": "STATUS"}'
        headers = {"Content-Type": "application/json", "X-Signature": json_signature(raw)}
        status, _, _ = await post(f"http://127.0.0.1:{port}/sms/inbound", raw, headers)
        assert status == 503
    finally:
        await runner.cleanup()


# --------------------------------------------------------------------------- commands


@pytest.mark.parametrize(
    ("text", "command", "locale", "number"),
    [
        ("STATUS", SmsCommand.STATUS, None, None),
        ("  status!!! ", SmsCommand.STATUS, None, None),
        ("Status QM-2026-000123", SmsCommand.STATUS, None, "QM-2026-000123"),
        ("status, qm 2026 000123.", SmsCommand.STATUS, None, "QM-2026-000123"),
        ("VƏZİYYƏT", SmsCommand.STATUS, "az", None),
        ("veziyyet", SmsCommand.STATUS, "az", None),
        ("Статус", SmsCommand.STATUS, "ru", None),
        ("AKT", SmsCommand.DEBT, "az", None),
        ("Borc", SmsCommand.DEBT, "az", None),
        ("borc?", SmsCommand.DEBT, "az", None),
        ("DEBT", SmsCommand.DEBT, "en", None),
        ("долг", SmsCommand.DEBT, "ru", None),
        ("АКТ", SmsCommand.DEBT, "ru", None),
        ("KÖMƏK", SmsCommand.HELP, "az", None),
        ("komek", SmsCommand.HELP, "az", None),
        ("HELP", SmsCommand.HELP, "en", None),
        ("Помощь", SmsCommand.HELP, "ru", None),
        ("STOP", SmsCommand.STOP, None, None),
        ("dayan.", SmsCommand.STOP, "az", None),
        ("СТОП", SmsCommand.STOP, "ru", None),
        ("START", SmsCommand.START, None, None),
        ("Başla", SmsCommand.START, "az", None),
        ("basla", SmsCommand.START, "az", None),
        ("старт", SmsCommand.START, "ru", None),
        ("salam, işıq yoxdur", SmsCommand.HELP, None, None),
        ("", SmsCommand.HELP, None, None),
        ("STATUS abc", SmsCommand.HELP, None, None),
        ("STOP please", SmsCommand.HELP, None, None),
    ],
)
def test_commands_in_three_languages(
    text: str, command: SmsCommand, locale: str | None, number: str | None
) -> None:
    request = parse_sms(text)
    assert (request.command, request.locale, request.application_number) == (
        command,
        locale,
        number,
    )


@pytest.mark.parametrize(
    ("text", "locale"),
    [("KÖMƏK", "az"), ("komek", "az"), ("Помощь", "ru"), ("help", "en"), ("???", "az")],
)
async def test_help_answers_in_the_keywords_language(
    webhook: Webhook, text: str, locale: str
) -> None:
    assert (await sms_json(webhook, text))[0] == 200
    assert await last_reply(webhook.sessions) == reply_text(sms_replies.HELP, locale)


async def test_status_of_one_application_and_the_privacy_rule(webhook: Webhook) -> None:
    number = await submitted(webhook.sessions)
    await sms_json(webhook, f"status {number.lower()}")
    mine = await last_reply(webhook.sessions)
    assert number in mine
    # Another phone asking for Aysel's application gets what a missing number gets.
    await sms_json(webhook, f"STATUS {number}", phone=OTHER_PHONE)
    theirs = await last_reply(webhook.sessions)
    await sms_json(webhook, "STATUS QM-2026-999999", phone=OTHER_PHONE)
    missing = await last_reply(webhook.sessions)
    await sms_json(webhook, "STATUS", phone=OTHER_PHONE)
    none_at_all = await last_reply(webhook.sessions)
    assert theirs == missing == none_at_all == reply_text(sms_replies.NOTHING_FOUND, "az")
    assert "Aysel" not in mine and "5ABC7D8" not in mine and "AA1234567" not in mine


async def test_debt_lists_unpaid_acts_of_the_senders_phone_in_russian(webhook: Webhook) -> None:
    today = datetime.now(UTC).date()
    body = {
        "number": "AKT-77", "subscriber_code": "100200300400500", "address": "Sumqayıt",
        "district": "Sumqayıt", "consumer_phone": AYSEL_PHONE, "detected_on": today.isoformat(),
        "last_inspection_on": (today - timedelta(days=30)).isoformat(),
        "violation_type": "meter_bypass", "loads": [{"kind": "appliance", "power_w": "2000"}],
        "signed": True, "inspectors": ["X"], "actor": "t",
    }  # fmt: skip
    act, actor = acts_api.new_act(body, today=today)
    async with webhook.sessions.begin() as session:
        await acts.register(session, act, actor=actor)
    await sms_json(webhook, "долг")
    text = await last_reply(webhook.sessions)
    # 2,000 W × 24 h × 30 days = 1,440 kWh, priced by month; "1 234,56" in Russian
    amount = transliterate(sms_replies.sms_money(act.amount, "ru"))
    assert text.startswith("Azerisiq: vashi neoplachennye akty: AKT-77 "), text
    assert f"{amount} AZN" in text and act.due_on.strftime("%d.%m.%Y") in text, text
    await sms_json(webhook, "BORC", phone=OTHER_PHONE)
    assert await last_reply(webhook.sessions) == reply_text(sms_replies.NO_DEBT, "az")


async def test_stop_silences_sms_notices_and_start_brings_them_back(webhook: Webhook) -> None:
    number = await submitted(webhook.sessions)
    await sms_json(webhook, "STOP")
    assert await last_reply(webhook.sessions) == reply_text(sms_replies.STOPPED, "az")

    async def sms_notices(target: str) -> list[OutboxMessage]:
        async with webhook.sessions.begin() as session:
            await application_changes.change_status(
                session, number, target, actor="t", comment=None
            )
        async with webhook.sessions() as session:
            result = await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.idempotency_key == f"application:{number}:{target}:sms"
                )
            )
            return list(result.scalars())

    assert await sms_notices("under_review") == []
    await sms_json(webhook, "start")
    assert await last_reply(webhook.sessions) == reply_text(sms_replies.STARTED, "az")
    assert len(await sms_notices("conditions_in_preparation")) == 1


async def test_the_query_limit_answers_once_then_keeps_silent(webhook: Webhook) -> None:
    for _ in range(10):
        assert (await sms_json(webhook, "help"))[0] == 200
    assert len(await replies(webhook.sessions)) == 10
    assert (await sms_json(webhook, "help"))[0] == 200
    assert await last_reply(webhook.sessions) == reply_text(sms_replies.LIMITED, "en")
    for _ in range(3):
        assert (await sms_json(webhook, "STATUS"))[0] == 200
    assert len(await replies(webhook.sessions)) == 11
    # Another phone is not limited by Aysel's queries.
    await sms_json(webhook, "KOMEK", phone=OTHER_PHONE)
    assert len(await replies(webhook.sessions)) == 12


async def test_messages_posted_at_once_are_answered_as_if_one_by_one(webhook: Webhook) -> None:
    """Concurrent posts share batches (one commit each): the limit, redeliveries and every
    sender's own answer come out as they do one message at a time."""
    aysel = [sms_json(webhook, "help", message_id=f"burst-{n}") for n in range(14)]
    again = [sms_json(webhook, "help", message_id="burst-3") for _ in range(3)]
    other = [
        sms_json(webhook, "STATUS", phone=OTHER_PHONE, message_id=f"other-{n}") for n in range(3)
    ]
    answers = await asyncio.gather(*aysel, *again, *other)
    assert all(status == 200 for status, _ in answers)
    assert sum('"duplicate"' in body for _, body in answers) == 3  # burst-3 once, only once
    sent = await replies(webhook.sessions)
    to_aysel = [m.payload["text"] for m in sent if m.recipient == AYSEL_PHONE]
    to_other = [m.payload["text"] for m in sent if m.recipient == OTHER_PHONE]
    help_text = reply_text(sms_replies.HELP, "en")
    assert sorted(to_aysel) == sorted([help_text] * 10 + [reply_text(sms_replies.LIMITED, "en")])
    assert len(to_other) == 3 and help_text not in to_other
    assert len({m.idempotency_key for m in sent}) == len(sent) == 14


async def test_one_citizen_per_phone_sms_first_then_telegram(webhook: Webhook) -> None:
    await sms_json(webhook, "STOP", phone=OTHER_PHONE)  # an SMS-only citizen, opted out
    number = await submitted(webhook.sessions, key="tg-1", phone=OTHER_PHONE)
    async with webhook.sessions() as session:
        rows = (
            (await session.execute(select(Citizen).where(Citizen.phone_e164 == OTHER_PHONE)))
            .scalars()
            .all()
        )
        assert len(rows) == 1
        [citizen] = rows
        assert citizen.telegram_user_id == 7001 and citizen.phone_verified
        assert citizen.sms_opted_out  # the SMS record's choice is kept
        found = await citizen_applications.mine(session, 7001)
        assert [a.number for a in found] == [number]
        assert await citizens.by_verified_phone(session, OTHER_PHONE) is not None


# --------------------------------------------------------------------------- every template


@pytest.mark.parametrize("locale", ["az", "ru", "en"])
def test_every_reply_is_one_gsm7_segment_with_the_longest_values(locale: str) -> None:
    from delivery.notices import STATUS_LABELS
    from storage.models import Application, ViolationAct

    longest_status = max(STATUS_LABELS, key=lambda s: len(translate(STATUS_LABELS[s], locale)))
    one_application = Application(
        number="QM-2026-000123", status=longest_status,
        status_changed_at=datetime(2026, 9, 30, 12, tzinfo=UTC),
    )  # fmt: skip
    one_act = ViolationAct(
        number="AKT-2026-000000042", amount=Decimal("99999.99"), paid_amount=None,
        due_on=datetime(2026, 9, 30).date(),
    )  # fmt: skip
    texts = [
        sms_replies.simple(message, locale, transliterate=True)
        for message in (sms_replies.HELP, sms_replies.NOTHING_FOUND, sms_replies.NO_DEBT,
                        sms_replies.STOPPED, sms_replies.STARTED, sms_replies.LIMITED)
    ]  # fmt: skip
    for many in (1, 2, 5, 20):
        texts.append(
            sms_replies.applications_reply([one_application] * many, locale, transliterate=True)
        )
        texts.append(sms_replies.debts_reply([one_act] * many, locale, transliterate=True))
    for text in texts:
        size = sms_size(text)
        assert size.encoding == "gsm7" and size.segments == 1, (text, size)
    # What does not fit is counted ("+18 more", "daha 18"), in the locale's words.
    more = transliterate(translate(sms_replies.MORE, locale)).format(count=18)
    assert more in sms_replies.debts_reply([one_act] * 20, locale, transliterate=True)


def test_without_transliteration_azerbaijani_letters_stay() -> None:
    text = sms_replies.simple(sms_replies.NOTHING_FOUND, "az", transliterate=False)
    assert "ə" in text and sms_size(text).encoding == "ucs2"


# --------------------------------------------------------------------------- fuzz

CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]


JSON_BODIES = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=80), st.integers(), st.none()),
        "from": st.one_of(st.text(max_size=20), st.just(AYSEL_PHONE), st.integers()),
        "to": st.text(max_size=10),
        "text": st.one_of(st.text(max_size=300), st.none(), st.lists(st.integers())),
    },
).map(lambda body: json.dumps(body).encode())
BODIES = st.one_of(st.binary(max_size=600), JSON_BODIES, st.text(max_size=300).map(str.encode))
# What an HTTP client can send in a header: printable ASCII.
ASCII = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@settings(
    max_examples=2000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    raw=BODIES,
    content_type=st.sampled_from(CONTENT_TYPES),
    sign=st.sampled_from(["valid", "random", "none"]),
    random_signature=st.text(alphabet="sha256=0123456789abcdef", max_size=72),
    twilio_signature_header=ASCII,
)
async def test_two_thousand_random_requests_never_5xx_and_rejected_ones_store_nothing(
    webhook: Webhook,
    raw: bytes,
    content_type: str,
    sign: str,
    random_signature: str,
    twilio_signature_header: str,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if sign == "valid":
        headers["X-Signature"] = json_signature(raw)
    elif sign == "random":
        headers["X-Signature"] = random_signature
        headers["X-Twilio-Signature"] = twilio_signature_header
    before = await count(webhook.sessions, SmsInbound)
    status, _, _ = await post(webhook.url, raw, headers)
    assert status < 500, (raw, headers, status)
    if status != 200:
        assert await count(webhook.sessions, SmsInbound) == before
