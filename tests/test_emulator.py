"""The Bot API emulator, driven by the real python-telegram-bot stack."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    MenuButtonCommands,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from emulator import BotApiEmulator, SentMessage

LANG_KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("AZ", callback_data="lang:az")],
        [InlineKeyboardButton("RU", callback_data="lang:ru")],
    ]
)


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url) as telegram_bot:
        yield telegram_bot


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_send_and_edit_round_trip(emu: BotApiEmulator, bot: Bot) -> None:
    assert (await bot.get_me()).username == "azerishiq_test_bot"
    emu.add_user(1, first_name="Aysel")

    sent = await bot.send_message(1, "Dil seçin", reply_markup=LANG_KEYBOARD)
    assert sent.message_id == 1
    assert sent.chat.id == 1 and sent.chat.first_name == "Aysel"
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.reply_markup == LANG_KEYBOARD
    record = emu.last_message(1)
    assert record is not None and record.reply_markup == LANG_KEYBOARD.to_dict()
    assert record.callback_data() == ["lang:az", "lang:ru"]

    edited = await bot.edit_message_text("Dil: AZ", chat_id=1, message_id=sent.message_id)
    assert isinstance(edited, type(sent))
    assert edited.text == "Dil: AZ" and edited.edit_date is not None
    assert edited.reply_markup is None  # editing text without markup drops the keyboard
    assert emu.messages(1) == [record]
    assert record.edited and record.text == "Dil: AZ"
    assert [v.text for v in record.edit_history] == ["Dil seçin"]

    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Dil: AZ", chat_id=1, message_id=sent.message_id)

    second = await bot.send_message(1, "<b>Salam</b> &amp; xoş gəldiniz", parse_mode="HTML")
    assert second.message_id == 2
    first_event, edit_event, html_event = await emu.wait_for_messages(1, 3, timeout=1)
    assert (first_event.text, first_event.is_edit) == ("Dil seçin", False)
    assert (edit_event.text, edit_event.is_edit) == ("Dil: AZ", True)
    assert html_event.text == "Salam & xoş gəldiniz"
    assert html_event.raw_text == "<b>Salam</b> &amp; xoş gəldiniz"
    assert emu.unread(1) == []


async def test_bad_requests_look_like_telegram(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(42, "hi")
    emu.add_user(1)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(1, "")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1, "x" * 4097)
    assert (await bot.send_message(1, "x" * 4096)).message_id == 1
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("new", chat_id=1, message_id=99)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1, "Ad: <Əli>", parse_mode="HTML")
    long_data = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(1, "hi", reply_markup=long_data)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(1, 99)
    assert len(emu.messages(1)) == 1
    assert emu.stats.sends_per_chat == {1: 1}


async def test_get_updates_delivers_injected_updates(emu: BotApiEmulator, bot: Bot) -> None:
    first = await emu.send_text(7, "/start ref42", first_name="Aysel", username="aysel")
    second = await emu.send_text(7, "salam")  # remembers the name and language
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first, second]
    start, hello = (u.message for u in updates)
    assert start is not None and hello is not None
    assert start.text == "/start ref42"
    assert start.parse_entities() == {start.entities[0]: "/start"}
    assert start.entities[0].type == "bot_command"
    assert hello.from_user is not None
    assert (hello.from_user.first_name, hello.from_user.language_code) == ("Aysel", "az")
    assert hello.chat.id == 7 and hello.message_id == start.message_id + 1

    assert await bot.get_updates(offset=second + 1, timeout=0) == ()  # confirmed
    third = await emu.send_text(7, "again")
    assert [u.update_id for u in await bot.get_updates(offset=second + 1)] == [third]


async def test_long_poll_wakes_up_and_times_out(emu: BotApiEmulator, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=dt.timedelta(seconds=0.2)) == ()
    assert 0.15 < time.monotonic() - started < 1.0

    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    started = time.monotonic()
    update_id = await emu.send_text(3, "hello")
    updates = await asyncio.wait_for(poll, 1)
    assert [u.update_id for u in updates] == [update_id]
    assert time.monotonic() - started < 0.5


async def test_a_second_poller_terminates_the_first(emu: BotApiEmulator, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    # a Bot has a single connection for getUpdates, so the second poller is another instance
    async with Bot(emu.token, base_url=emu.base_url) as other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await asyncio.wait_for(poll, 1)


async def test_user_updates_decode(emu: BotApiEmulator, bot: Bot) -> None:
    await emu.share_contact(5, "+994501234567")
    await emu.share_contact(5, "+994551112233", contact_user_id=6, first_name="Rəşad")
    await emu.share_location(5, 40.4093, 49.8671)
    await emu.send_photo(5, caption="sayğac")
    contact, other, location, photo = (u.message for u in await bot.get_updates())
    assert contact is not None and contact.contact is not None
    assert (contact.contact.phone_number, contact.contact.user_id) == ("+994501234567", 5)
    assert other is not None and other.contact is not None
    assert (other.contact.user_id, other.contact.first_name) == (6, "Rəşad")
    assert location is not None and location.location is not None
    assert location.location.latitude == pytest.approx(40.4093)
    assert photo is not None and photo.caption == "sayğac" and len(photo.photo) == 2


async def test_a_user_edits_only_their_own_text_messages(emu: BotApiEmulator, bot: Bot) -> None:
    await emu.send_text(5, "Aysel")
    await emu.send_text(5, "/start")
    await emu.share_contact(5, "+994501234567")
    sent = emu.sent_messages(5)
    assert [(m["message_id"], m.get("text")) for m in sent] == [
        (1, "Aysel"), (2, "/start"), (3, None)
    ]  # fmt: skip
    await emu.edit_text(5, 1, "Aytən")
    await emu.edit_text(5, 1, "/help me")
    *_, first, second = await bot.get_updates()
    assert first.message is None and first.edited_message is not None
    edited = first.edited_message
    assert (edited.message_id, edited.text, edited.chat.id, edited.from_user.id) == (  # type: ignore[union-attr]
        1, "Aytən", 5, 5
    )  # fmt: skip
    assert edited.edit_date is not None and edited.date <= edited.edit_date
    again = second.edited_message
    assert again is not None and again.text == "/help me"
    assert again.entities[0].type == "bot_command" and again.entities[0].length == 5
    assert emu.sent_messages(5)[0]["text"] == "/help me"

    await bot.send_message(5, "Adınız?")  # the bot's message 4: not the user's to edit
    for message_id, text, error in [
        (4, "x", LookupError), (99, "x", LookupError), (3, "x", ValueError),
        (1, "/help me", ValueError), (1, "  ", ValueError), (1, "x" * 4097, ValueError),
    ]:  # fmt: skip
        with pytest.raises(error):
            await emu.edit_text(5, message_id, text)
    with pytest.raises(LookupError):
        await emu.edit_text(6, 1, "x")  # no such user
    assert await bot.get_updates(offset=second.update_id + 1, timeout=0) == ()


async def test_application_dialogue(emu: BotApiEmulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Xoş gəlmisiniz!", reply_markup=LANG_KEYBOARD)

    async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        await query.answer(f"Seçildi: {query.data}")
        await query.edit_message_text(f"Dil: {query.data.removeprefix('lang:')}")

    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(emu.token).base_url(emu.base_url).build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(choose))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        await emu.send_text(1, "/start")
        reply = await emu.next_message(1, timeout=2)
        assert reply.text == "Xoş gəlmisiniz!" and not reply.is_edit
        assert reply.callback_data() == ["lang:az", "lang:ru"]

        pressed = await emu.press_button(1, "lang:ru")
        answer = await emu.wait_for_callback_answer(pressed, timeout=2)
        assert (answer.text, answer.show_alert, answer.message_id) == (
            "Seçildi: lang:ru",
            False,
            reply.message_id,
        )
        edit = await emu.next_message(1, timeout=2)
        assert (edit.text, edit.is_edit, edit.message_id) == ("Dil: ru", True, reply.message_id)
        assert emu.callback_answers(1) == [answer]
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert emu.stats.calls["getMe"] == 1 and emu.stats.calls["deleteWebhook"] == 1


async def test_press_button_needs_a_button(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(LookupError, match="no chat 1"):
        await emu.press_button(1, "lang:az")
    emu.add_user(1)
    with pytest.raises(LookupError, match="buttons on screen: none"):
        await emu.press_button(1, "lang:az")
    old = await bot.send_message(1, "old", reply_markup=LANG_KEYBOARD)
    new = await bot.send_message(1, "new", reply_markup=LANG_KEYBOARD)
    await emu.press_button(1, "lang:az")
    await emu.press_button(1, "lang:az", message_id=old.message_id)
    queries = [u.callback_query for u in await bot.get_updates()]
    assert [q.message.message_id for q in queries if q and q.message] == [
        new.message_id,
        old.message_id,
    ]
    await bot.delete_message(1, new.message_id)
    assert emu.messages(1)[-1].deleted
    with pytest.raises(LookupError, match=r"lang:xx.*\{1: \['lang:az', 'lang:ru'\]\}"):
        await emu.press_button(1, "lang:xx")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("gone", chat_id=1, message_id=new.message_id)
    assert queries[0] is not None
    assert await queries[0].answer("ok", show_alert=True)
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await queries[0].answer("twice")
    assert [(a.text, a.show_alert) for a in emu.callback_answers()] == [("ok", True)]


async def test_waiting_times_out_with_a_clear_message(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(1)
    await bot.send_message(1, "Müraciət qəbul edildi")
    with pytest.raises(TimeoutError, match=r"2 new bot message.*got 1: #1 sendMessage 'Müraciət"):
        await emu.wait_for_messages(1, 2, timeout=0.05)
    with pytest.raises(TimeoutError, match=r"'rədd'.*unread: #1 sendMessage 'Müraciət"):
        await emu.wait_for_text(1, "rədd", timeout=0.05)
    with pytest.raises(TimeoutError, match="callback query 99 was not answered"):
        await emu.wait_for_callback_answer(99, timeout=0.05)
    # nothing was consumed by the failed waits
    assert (await emu.wait_for_text(1, "qəbul", timeout=0.05)).message_id == 1
    with pytest.raises(TimeoutError, match="got 0: nothing"):
        await emu.next_message(1, timeout=0.05)


async def test_wait_for_text_skips_to_the_match(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(1)

    async def later() -> None:
        await asyncio.sleep(0.05)
        for text in ("bir", "iki", "üç"):
            await bot.send_message(1, text)

    task = asyncio.create_task(later())
    assert (await emu.wait_for_text(1, "ik", timeout=1)).text == "iki"
    assert (await emu.next_message(1, timeout=1)).text == "üç"
    await task


async def test_on_message_sees_sends_and_edits(emu: BotApiEmulator, bot: Bot) -> None:
    seen: list[SentMessage] = []
    unsubscribe = emu.on_message(seen.append)
    emu.add_user(1)
    sent = await bot.send_message(1, "a", reply_markup=LANG_KEYBOARD)
    await bot.edit_message_reply_markup(1, sent.message_id, reply_markup=None)
    unsubscribe()
    await bot.send_message(1, "b")
    assert [(m.text, m.is_edit, m.reply_markup is None) for m in seen] == [
        ("a", False, False),
        ("a", True, True),
    ]


async def test_rate_limits_raise_retry_after(
    emu: BotApiEmulator, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB 22.2+ warns when RetryAfter is built unless timedelta mode is on
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    for user in (1, 2, 3):
        emu.add_user(user)
    emu.rate_limits(overall_per_second=30, per_chat_per_second=1)
    await bot.send_message(1, "first")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "second")
    assert caught.value.retry_after == dt.timedelta(seconds=1)
    await bot.send_message(2, "another chat is fine")

    emu.rate_limits(overall_per_second=2, per_chat_per_second=0)
    await bot.send_message(1, "x")
    await bot.send_message(1, "y")
    with pytest.raises(RetryAfter):
        await bot.send_message(3, "z")
    assert emu.stats.rate_limited == 2
    assert emu.stats.sends_per_chat == {1: 3, 2: 1}

    emu.rate_limits(0, 0)
    for _ in range(5):
        await bot.send_message(3, "unlimited")


async def test_blocked_chat_is_forbidden(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(1)
    emu.block_chat(1)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(1, "hi")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(1, "typing")
    emu.unblock_chat(1)
    await bot.send_message(1, "hi")
    assert emu.stats.forbidden == 2 and emu.stats.sends_per_chat == {1: 1}


async def test_fail_every_nth_call(emu: BotApiEmulator, bot: Bot) -> None:
    emu.fail_every(3, status=502)
    outcomes = []
    for _ in range(6):
        try:
            await bot.get_me()
            outcomes.append("ok")
        except NetworkError as error:
            assert not isinstance(error, (BadRequest, Forbidden))
            outcomes.append(error.message)
    assert outcomes == ["ok", "ok", "Bad Gateway"] * 2
    emu.fail_every(1, status=503, methods=["sendMessage"])
    await bot.get_me()
    with pytest.raises(NetworkError, match="Service Unavailable"):
        await bot.send_message(1, "x")
    emu.fail_every(0)
    await bot.get_me()
    assert emu.stats.server_errors == 3
    with pytest.raises(ValueError, match="5xx"):
        emu.fail_every(2, status=404)


async def test_multipart_documents_and_photos(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(1)
    pdf = InputFile(b"%PDF" + b"x" * 1230, filename="akt-17.pdf")
    sent = await bot.send_document(1, pdf, caption="Akt <b>17</b>", parse_mode="HTML")
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.file_size) == ("akt-17.pdf", 1234)
    assert sent.caption == "Akt 17"
    record = emu.last_message(1)
    assert record is not None
    assert (record.method, record.file_name, record.file_size) == (
        "sendDocument",
        "akt-17.pdf",
        1234,
    )

    again = await bot.send_document(1, sent.document.file_id)
    assert again.document is not None and again.document.file_name == "akt-17.pdf"
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(1, "no-such-file")

    photo = await bot.send_photo(1, InputFile(b"\x89PNG" * 100, filename="qr.png"))
    assert photo.photo and photo.photo[-1].file_size == 400
    location = await bot.send_location(1, latitude=40.4, longitude=49.8)
    assert location.location is not None and location.location.longitude == pytest.approx(49.8)
    assert [m.method for m in emu.messages(1)] == [
        "sendDocument",
        "sendDocument",
        "sendPhoto",
        "sendLocation",
    ]


async def test_limits_are_counted_as_telegram_counts_them(emu: BotApiEmulator, bot: Bot) -> None:
    """UTF-16 code units of the displayed text (an emoji is 2), never more lenient."""
    emu.add_user(1)
    await bot.send_message(1, "🙂" * 2048)
    for too_long in ("🙂" * 2049, "x" * 4095 + "🙂"):
        with pytest.raises(BadRequest, match=r"^Message is too long$"):
            await bot.send_message(1, too_long)
    sent = await bot.send_message(1, "x")
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.edit_message_text("ə🙂" * 1366, chat_id=1, message_id=sent.message_id)
    await bot.send_message(1, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # tags not counted
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(1, "&lt;" * 4097, parse_mode="HTML")

    photo = InputFile(b"\x89PNG", filename="a.png")
    await bot.send_photo(1, photo, caption="🙂" * 512)
    with pytest.raises(BadRequest, match=r"(?i)^message caption is too long$"):
        await bot.send_photo(1, photo, caption="🙂" * 513)

    await bot.send_message(1, "x", reply_markup=InlineKeyboardMarkup.from_button(
        InlineKeyboardButton("ok", callback_data="ə" * 32)))  # fmt: skip
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(1, "x", reply_markup=InlineKeyboardMarkup.from_button(
            InlineKeyboardButton("ok", callback_data="ə" * 32 + "x")))  # fmt: skip


async def test_webhook_push_with_secret_and_retry(emu: BotApiEmulator, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    delivered = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        if len(received) == 1:
            return web.Response(status=500)  # the emulator must retry
        delivered.set()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    emu.webhook_retry_delay = 0.01
    try:
        update_id = await emu.send_text(1, "/start")  # pending before the webhook is set
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr-et_")
        await asyncio.wait_for(delivered.wait(), 1)
        assert [secret for secret, _ in received] == ["s3cr-et_", "s3cr-et_"]
        assert received[0][1] == received[1][1]
        assert received[1][1]["update_id"] == update_id
        assert Update.de_json(received[1][1], bot).message.text == "/start"  # type: ignore[union-attr]

        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()

        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        later = await emu.send_text(1, "polling again")
        assert [u.update_id for u in await bot.get_updates()] == [later]
        assert len(received) == 2
    finally:
        await runner.cleanup()


async def test_raw_http_shapes(emu: BotApiEmulator, http: aiohttp.ClientSession) -> None:
    api = f"{emu.base_url}{emu.token}"
    async with http.get(f"{api}/fooBar") as response:
        assert response.status == 404
        assert await response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
    async with http.get(f"{emu.base_url}123:wrong/getMe") as response:
        assert response.status == 401
        assert (await response.json())["description"] == "Unauthorized"
    emu.add_user(1)
    markup = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    async with http.post(
        f"{api}/sendMessage", json={"chat_id": 1, "text": "json", "reply_markup": markup}
    ) as response:
        body = await response.json()
        assert body["ok"] and body["result"]["reply_markup"] == markup
    async with http.get(f"{api}/sendMessage", params={"chat_id": "1", "text": "query"}) as response:
        assert (await response.json())["result"]["text"] == "query"
    async with http.post(f"{api}/sendMessage", data={"chat_id": "1"}) as response:
        assert response.status == 400
        assert await response.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: message text is empty",
        }
    emu.rate_limits(per_chat_per_second=1)
    async with http.post(f"{api}/sendMessage", data={"chat_id": "1", "text": "a"}) as response:
        assert response.status == 200
    async with http.post(f"{api}/sendMessage", data={"chat_id": "1", "text": "b"}) as response:
        assert response.status == 429
        assert await response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }


async def test_wrong_token_is_invalid_token(emu: BotApiEmulator) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("1:wrong", base_url=emu.base_url):
            pass


async def test_commands_menu_chat_and_close(emu: BotApiEmulator, bot: Bot) -> None:
    commands = [BotCommand("start", "Başla"), BotCommand("lang", "Dil")]
    assert await bot.set_my_commands(commands, language_code="az")
    assert await bot.get_my_commands(language_code="az") == tuple(commands)
    assert await bot.get_my_commands() == ()
    assert emu.commands(language_code="az")[0] == {"command": "start", "description": "Başla"}
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "x")])
    assert await bot.delete_my_commands(language_code="az")
    assert await bot.get_my_commands(language_code="az") == ()

    emu.add_user(9, first_name="Nigar", username="nigar")
    assert await bot.set_chat_menu_button(9, MenuButtonCommands())
    assert emu.menu_buttons[9] == {"type": "commands"}
    chat = await bot.get_chat(9)
    assert (chat.id, chat.first_name, chat.username, chat.type) == (9, "Nigar", "nigar", "private")
    assert await bot.send_chat_action(9, "typing")
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("Nömrəni paylaş", request_contact=True)]])
    sent = await bot.send_message(9, "Telefon?", reply_markup=keyboard)
    assert sent.reply_markup is None  # Telegram echoes only inline keyboards
    assert emu.reply_keyboard(9) == [[{"text": "Nömrəni paylaş", "request_contact": True}]]
    assert await bot.log_out() and await bot.close()


async def test_driver_http_endpoints(
    emu: BotApiEmulator, bot: Bot, http: aiohttp.ClientSession
) -> None:
    driver = emu.driver_url

    async def call(action: str, **body: Any) -> tuple[int, Any]:
        async with http.post(f"{driver}/{action}", json=body) as response:
            return response.status, await response.json()

    status, body = await call("send_text", user_id=4, text="/start", first_name="Kamran")
    first = body["result"]["update_id"]
    assert status == 200 and body == {"ok": True, "result": {"update_id": first}}
    assert isinstance(first, int) and first > 0
    assert (await call("share_contact", user_id=4, phone_number="+994501112233"))[0] == 200
    assert (await call("share_location", user_id=4, latitude=40.1, longitude=49.2))[0] == 200
    kinds = [
        (u.message.text, bool(u.message.contact), bool(u.message.location))
        for u in await bot.get_updates()
        if u.message
    ]
    assert kinds == [("/start", False, False), (None, True, False), (None, False, True)]

    await bot.send_message(4, "Dil?", reply_markup=LANG_KEYBOARD)
    async with http.get(f"{driver}/messages", params={"chat_id": "4"}) as response:
        messages = (await response.json())["result"]
    assert [(m["text"], m["message_id"]) for m in messages] == [("Dil?", 4)]
    async with http.get(
        f"{driver}/next_message", params={"chat_id": "4", "timeout": "1"}
    ) as response:
        assert (await response.json())["result"]["text"] == "Dil?"
    async with http.get(
        f"{driver}/next_message", params={"chat_id": "4", "timeout": "0.05"}
    ) as response:
        assert response.status == 408
        assert "got 0" in (await response.json())["description"]

    status, body = await call("press_button", user_id=4, callback_data="lang:az")
    assert status == 200
    query = (await bot.get_updates(offset=first + 3))[0].callback_query
    assert query is not None and query.data == "lang:az"
    status, body = await call("press_button", user_id=4, callback_data="nope")
    assert status == 400 and "buttons on screen" in body["description"]
    assert (await call("send_text", user_id=4))[0] == 400  # missing text
    async with http.get(f"{driver}/sent_messages", params={"user_id": "4"}) as response:
        assert (await response.json())["result"][0]["text"] == "/start"
    status, body = await call("edit_text", user_id=4, message_id=1, text="/help")
    assert status == 200 and isinstance(body["result"]["update_id"], int)
    assert (await call("edit_text", user_id=4, message_id=4, text="x"))[0] == 400  # the bot's

    status, body = await call("faults", block_chat=[4], fail_every={"n": 0})
    assert status == 200 and body["result"]["blocked_chats"] == [4]
    with pytest.raises(Forbidden):
        await bot.send_message(4, "blocked")
    status, body = await call("faults", reset=True)
    assert body["result"]["blocked_chats"] == []
    async with http.get(f"{driver}/stats") as response:
        stats = (await response.json())["result"]
    assert stats["forbidden"] == 1 and stats["calls"]["sendMessage"] == 2
    assert (await call("no_such_action"))[0] == 404


async def test_command_line_serves(tmp_path: Any) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulator",
        "--port",
        "0",
        "--token",
        "123:abc",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        token_line = (await asyncio.wait_for(process.stdout.readline(), 5)).decode().strip()
        url_line = (await asyncio.wait_for(process.stdout.readline(), 5)).decode().strip()
        assert token_line == "TELEGRAM_BOT_TOKEN=123:abc"
        assert url_line.startswith("TELEGRAM_API_BASE_URL=http://127.0.0.1:")
        base_url = url_line.partition("=")[2]
        async with Bot("123:abc", base_url=base_url) as bot:
            assert (await bot.get_me()).id == 123
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 5) == 0


async def test_update_ids_start_where_telegram_chooses() -> None:
    """A bot that stores update ids must not assume they restart at 1 (the console restarts its
    emulator on the same database); Telegram also picks a new start after a week of silence."""
    async with BotApiEmulator() as one, BotApiEmulator() as two:
        one.add_user(1)
        two.add_user(1)
        assert await one.send_text(1, "a") != await two.send_text(1, "a")
    async with BotApiEmulator(first_update_id=500) as chosen:
        chosen.add_user(1)
        assert await chosen.send_text(1, "a") == 500
