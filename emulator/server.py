"""The Bot API server and the driver that plays the users (see the package docstring)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import itertools
import json
import logging
import math
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from emulator.params import ApiError, Params, Upload, bad, html_to_text, read_params, utf16_len
from emulator.records import (
    AnswerCallback,
    CallbackAnswer,
    EmulatorStats,
    JSONDict,
    MessageCallback,
    MessageVersion,
    SentMessage,
)
from emulator.state import Bucket, Chat, Query, Webhook

_LOG = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105
# UTF-16 code units of the text as displayed (after HTML tags are removed), as Telegram counts
MAX_TEXT = 4096
MAX_CAPTION = 1024
SEND_METHODS = frozenset({"sendmessage", "senddocument", "sendphoto", "sendlocation"})
# Methods addressed to a chat that fail with 403 once the user has blocked the bot.
CHAT_METHODS = SEND_METHODS | {"sendchataction", "editmessagetext", "editmessagereplymarkup"}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


# --------------------------------------------------------------------------- emulator


class BotApiEmulator:
    """A Bot API server on localhost plus a driver API that plays the users."""

    def __init__(
        self,
        token: str | None = None,
        bot_username: str = "azerishiq_test_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        history_per_chat: int = 10_000,
        max_pending_updates: int = 100_000,
        webhook_retry_delay: float = 0.1,
        first_update_id: int | None = None,
    ) -> None:
        self._token = (
            token or f"{1_000_000 + secrets.randbelow(9_000_000)}:{secrets.token_urlsafe(26)}"
        )
        bot_id, _, _ = self._token.partition(":")
        self._me: JSONDict = {
            "id": int(bot_id) if bot_id.isdigit() else 1,
            "is_bot": True,
            "first_name": "Azərişıq (emulated)",
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._host = host
        self._port = port
        self.history_per_chat = history_per_chat
        self.webhook_retry_delay = webhook_retry_delay
        self.stats = EmulatorStats()

        self._chats: dict[int, Chat] = {}
        # Telegram numbers updates sequentially from a number of its choosing (chosen afresh
        # after a week without updates), so a bot must not assume they start anywhere: each
        # emulator starts somewhere new, as a bot that stores update ids (the inbox) will see.
        self._update_id = (
            first_update_id - 1 if first_update_id is not None else secrets.randbelow(2**30)
        )
        self._pending: deque[tuple[int, bytes]] = deque(maxlen=max_pending_updates)
        self._allowed_updates: frozenset[str] | None = None
        self._updates_changed = asyncio.Condition()  # pending updates, polls, webhook
        self._poll_generation = 0
        self._webhook: Webhook | None = None
        self._session: ClientSession | None = None
        self._bot_activity = asyncio.Condition()  # sent messages, edits, callback answers
        self._open_queries: dict[str, Query] = {}
        self._answers: deque[CallbackAnswer] = deque(maxlen=history_per_chat)
        self._message_callbacks: list[MessageCallback] = []
        self._answer_callbacks: list[AnswerCallback] = []
        self._files: dict[str, JSONDict] = {}
        self._file_seq = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.menu_buttons: dict[int | None, JSONDict] = {}

        self._overall_rate = 0.0
        self._chat_rate = 0.0
        self._overall_bucket: Bucket | None = None
        self._chat_buckets: dict[int, Bucket] = {}
        self._fail_every = 0
        self._fail_status = 502
        self._fail_methods: frozenset[str] | None = None
        self._fail_counter = 0
        self._blocked: set[int] = set()

        self._closing = False
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Callable[[Params], Awaitable[Any]]] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
                "deleteMessage": self._delete_message,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "sendLocation": self._send_location,
                "getChat": self._get_chat,
                "close": self._true,
                "logOut": self._true,
            }.items()
        }

    # ----------------------------------------------------------------- lifecycle

    @property
    def token(self) -> str:
        return self._token

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """The Bot API base URL without the token, as python-telegram-bot wants it."""
        return f"{self._origin()}/bot"

    @property
    def driver_url(self) -> str:
        """Where the ``/_emulator/`` JSON driver endpoints live."""
        return f"{self._origin()}/_emulator"

    def _origin(self) -> str:
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self._port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("POST", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/_emulator/{action}", self._handle_driver)
        app.router.add_route("POST", "/_emulator/{action}", self._handle_driver)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.create_server((self._host, self._port))
        try:
            await web.SockSite(self._runner, sock).start()
        except BaseException:
            sock.close()
            raise
        self._port = sock.getsockname()[1]

    async def stop(self) -> None:
        self._closing = True
        await self._cancel_webhook()
        for condition in (self._updates_changed, self._bot_activity):
            async with condition:
                condition.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ----------------------------------------------------------------- driver: users act

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> None:
        """Register (or update) a user, so the bot can write to them before they write."""
        chat = self._chats.get(user_id)
        if chat is None:
            self._chats[user_id] = Chat(
                user_id,
                first_name or "Test",
                last_name,
                username,
                language_code or "az",
                self.history_per_chat,
            )
            return
        chat.first_name = first_name or chat.first_name
        chat.last_name = last_name or chat.last_name
        chat.username = username or chat.username
        chat.language_code = language_code or chat.language_code

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> int:
        """The user writes ``text``; a leading /command gets its bot_command entity."""
        self.add_user(
            user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        return await self._user_message(user_id, _text_fields(text))

    async def edit_text(self, user_id: int, message_id: int, text: str) -> int:
        """The user edits a text message they sent: the bot gets an ``edited_message``.

        As in Telegram, only the user's own text messages can be edited, to a new non-empty
        text of at most 4,096 UTF-16 code units; the update carries the original ``date`` and a new
        ``edit_date``. Returns the update id.
        """
        chat = self._chats.get(user_id)
        original = chat.sent.get(message_id) if chat else None
        if chat is None or original is None:
            raise LookupError(f"user {user_id} sent no message {message_id}")
        if "text" not in original:
            raise ValueError(f"message {message_id} has no text to edit")
        if not text.strip() or utf16_len(text) > MAX_TEXT:
            raise ValueError(f"a message text has 1 to {MAX_TEXT} UTF-16 code units")
        if text == original["text"]:
            raise ValueError("the text is unchanged: Telegram sends no edit")
        edited = {k: v for k, v in original.items() if k != "entities"}
        edited.update(_text_fields(text), edit_date=max(int(time.time()), original["date"]))
        chat.remember_sent(edited)
        return await self._enqueue(self._next_update_id(), "edited_message", edited)

    def sent_messages(self, user_id: int) -> list[JSONDict]:
        """What the user sent (as last edited), oldest first: their ``message_id`` to edit."""
        chat = self._chats.get(user_id)
        return [dict(message) for message in chat.sent.values()] if chat else []

    async def share_contact(
        self,
        user_id: int,
        phone_number: str,
        *,
        contact_user_id: int | None = None,
        first_name: str | None = None,
    ) -> int:
        """The user shares a contact: their own unless ``contact_user_id`` says otherwise."""
        self.add_user(user_id)
        own = contact_user_id is None or contact_user_id == user_id
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": first_name or (self._chats[user_id].first_name if own else "Contact"),
            "user_id": user_id if contact_user_id is None else contact_user_id,
        }
        return await self._user_message(user_id, {"contact": contact})

    async def share_location(self, user_id: int, latitude: float, longitude: float) -> int:
        self.add_user(user_id)
        location = {"latitude": latitude, "longitude": longitude}
        return await self._user_message(user_id, {"location": location})

    async def send_photo(self, user_id: int, caption: str | None = None) -> int:
        self.add_user(user_id)
        fields: JSONDict = {
            "photo": [self._new_photo(1_200, 90, 90), self._new_photo(48_000, 800, 600)]
        }
        if caption:
            fields["caption"] = caption
        return await self._user_message(user_id, fields)

    async def press_button(
        self, user_id: int, callback_data: str, *, message_id: int | None = None
    ) -> int:
        """The user presses the inline button with ``callback_data``.

        Without ``message_id`` the newest bot message in the chat carrying that button is used.
        The callback query id is ``str(update_id)``; the answer shows up in callback_answers().
        """
        chat = self._chats.get(user_id)
        if chat is None:
            raise LookupError(f"no button with callback_data={callback_data!r}: no chat {user_id}")
        candidates = [m for m in chat.messages.values() if not m.deleted]
        if message_id is not None:
            candidates = [m for m in candidates if m.message_id == message_id]
            if not candidates:
                raise LookupError(f"chat {user_id} has no bot message {message_id}")
        for message in reversed(candidates):
            if callback_data in message.callback_data():
                break
        else:
            shown = {m.message_id: m.callback_data() for m in candidates if m.callback_data()}
            raise LookupError(
                f"no button with callback_data={callback_data!r} in chat {user_id}"
                f"{'' if message_id is None else f' message {message_id}'}; "
                f"buttons on screen: {shown or 'none'}"
            )
        update_id = self._next_update_id()
        query_id = str(update_id)
        self._open_queries[query_id] = Query(update_id, user_id, message.message_id, callback_data)
        if len(self._open_queries) > self.history_per_chat:
            del self._open_queries[next(iter(self._open_queries))]
        query = {
            "id": query_id,
            "from": chat.user_json(),
            "message": self._message_json(message),
            "chat_instance": str(user_id),
            "data": callback_data,
        }
        return await self._enqueue(update_id, "callback_query", query)

    async def inject_update(self, update: JSONDict) -> int:
        """Escape hatch: queue ``{"<type>": {...}}`` as is; update_id is added."""
        ((kind, payload),) = update.items()
        return await self._enqueue(self._next_update_id(), kind, payload)

    async def _user_message(self, user_id: int, fields: JSONDict) -> int:
        chat = self._chats[user_id]
        message = {
            "message_id": chat.next_message_id(),
            "from": chat.user_json(),
            "chat": chat.chat_json(),
            "date": int(time.time()),
            **fields,
        }
        chat.remember_sent(message)
        return await self._enqueue(self._next_update_id(), "message", message)

    def _next_update_id(self) -> int:
        self._update_id += 1
        return self._update_id

    async def _enqueue(self, update_id: int, kind: str, payload: JSONDict) -> int:
        if self._allowed_updates is not None and kind not in self._allowed_updates:
            return update_id  # Telegram drops updates of types the bot did not ask for
        if len(self._pending) == self._pending.maxlen:
            _LOG.warning("emulator: %d pending updates, dropping the oldest", len(self._pending))
        body = json.dumps({"update_id": update_id, kind: payload}, ensure_ascii=False)
        self._pending.append((update_id, body.encode()))
        async with self._updates_changed:
            self._updates_changed.notify_all()
        return update_id

    # ----------------------------------------------------------------- driver: read the bot

    def users(self) -> list[int]:
        return list(self._chats)

    @property
    def webhook_url(self) -> str | None:
        """The webhook the bot set, if any (updates are then pushed, not polled)."""
        return self._webhook.url if self._webhook is not None else None

    def pending_update_ids(self) -> list[int]:
        """Updates not yet confirmed (by a getUpdates ``offset`` past them, or a webhook 2xx).

        Like Telegram, the emulator delivers these again to the next getUpdates: a bot killed
        after fetching an update but before confirming it gets it once more after a restart.
        """
        return [update_id for update_id, _ in self._pending]

    def messages(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in the chat, oldest first, in their current state."""
        chat = self._chats.get(chat_id)
        return list(chat.messages.values()) if chat else []

    def last_message(self, chat_id: int) -> SentMessage | None:
        chat = self._chats.get(chat_id)
        return next(reversed(chat.messages.values()), None) if chat else None

    def unread(self, chat_id: int) -> list[SentMessage]:
        """Events (sends and edits) that next_message() has not handed out yet; no waiting."""
        chat = self._chats.get(chat_id)
        return chat.unread() if chat else []

    def _unread_count(self, chat_id: int) -> int:
        chat = self._chats.get(chat_id)
        return chat.unread_count() if chat else 0

    def reply_keyboard(self, chat_id: int) -> list[list[JSONDict]] | None:
        """The reply keyboard currently shown in the chat, if any."""
        for message in reversed(self.messages(chat_id)):
            markup = message.reply_markup or {}
            if "keyboard" in markup:
                return [
                    [b if isinstance(b, dict) else {"text": b} for b in row]
                    for row in markup["keyboard"]
                ]
            if "remove_keyboard" in markup:
                return None
        return None

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait for ``count`` unread events in the chat, consume and return them."""
        try:
            async with asyncio.timeout(timeout), self._bot_activity:
                await self._bot_activity.wait_for(
                    lambda: self._closing or self._unread_count(chat_id) >= count
                )
        except TimeoutError:
            pass
        events = self.unread(chat_id)[:count]
        if len(events) < count:
            raise TimeoutError(
                f"waited {timeout}s for {count} new bot message(s) in chat {chat_id}, "
                f"got {len(events)}: {_describe(events)}"
            )
        self._chats[chat_id].consume(count)
        return events

    async def next_message(self, chat_id: int, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """The next send or edit in the chat not yet handed out (edits have is_edit=True)."""
        return (await self.wait_for_messages(chat_id, 1, timeout))[0]

    async def wait_for_text(
        self,
        chat_id: int,
        substring: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """Consume events up to the first whose text contains ``substring``; return it."""

        def match() -> int | None:
            for index, event in enumerate(self.unread(chat_id)):
                if substring in (event.text or ""):
                    return index
            return None

        try:
            async with asyncio.timeout(timeout), self._bot_activity:
                await self._bot_activity.wait_for(lambda: self._closing or match() is not None)
        except TimeoutError:
            pass
        index = match()
        if index is None:
            raise TimeoutError(
                f"waited {timeout}s for a bot message containing {substring!r} in chat "
                f"{chat_id}; unread: {_describe(self.unread(chat_id))}"
            )
        event = self.unread(chat_id)[index]
        self._chats[chat_id].consume(index + 1)
        return event

    def callback_answers(self, user_id: int | None = None) -> list[CallbackAnswer]:
        return [a for a in self._answers if user_id is None or a.user_id == user_id]

    async def wait_for_callback_answer(
        self,
        update_id: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """Wait until the bot answers the callback query created by press_button()."""

        def find() -> CallbackAnswer | None:
            return next((a for a in self._answers if a.update_id == update_id), None)

        try:
            async with asyncio.timeout(timeout), self._bot_activity:
                await self._bot_activity.wait_for(lambda: self._closing or find() is not None)
        except TimeoutError:
            pass
        answer = find()
        if answer is None:
            raise TimeoutError(f"waited {timeout}s: callback query {update_id} was not answered")
        return answer

    def on_message(self, callback: MessageCallback) -> Callable[[], None]:
        """Call ``callback`` with every send and edit (a snapshot); returns an unsubscriber."""
        self._message_callbacks.append(callback)
        return lambda: self._message_callbacks.remove(callback)

    def on_callback_answer(self, callback: AnswerCallback) -> Callable[[], None]:
        self._answer_callbacks.append(callback)
        return lambda: self._answer_callbacks.remove(callback)

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        return list(self._commands.get((_scope_key(scope), language_code), []))

    # ----------------------------------------------------------------- faults

    def rate_limits(self, overall_per_second: float = 30, per_chat_per_second: float = 1) -> None:
        """Enforce flood limits on the send methods (429 + retry_after); 0 turns one off."""
        self._overall_rate = overall_per_second
        self._chat_rate = per_chat_per_second
        self._overall_bucket = None
        self._chat_buckets.clear()

    def fail_every(
        self, n: int, status: int = 502, *, methods: Iterable[str] | None = None
    ) -> None:
        """Answer every ``n``th Bot API call (of ``methods``, default all) with ``status``."""
        if not 500 <= status <= 599:
            raise ValueError(f"status must be a 5xx code, not {status}")
        self._fail_every = max(0, n)
        self._fail_status = status
        self._fail_methods = None if methods is None else frozenset(m.lower() for m in methods)
        self._fail_counter = 0

    def block_chat(self, chat_id: int) -> None:
        """The user blocked the bot: everything sent to the chat gets 403."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def reset_faults(self) -> None:
        self.rate_limits(0, 0)
        self.fail_every(0)
        self._blocked.clear()

    def faults(self) -> JSONDict:
        return {
            "rate_limits": {
                "overall_per_second": self._overall_rate,
                "per_chat_per_second": self._chat_rate,
            },
            "fail_every": {"n": self._fail_every, "status": self._fail_status},
            "blocked_chats": sorted(self._blocked),
        }

    def reset_stats(self) -> None:
        self.stats = EmulatorStats()

    def _check_rate(self, chat_id: int) -> None:
        now = time.monotonic()
        buckets: list[Bucket] = []
        if self._overall_rate > 0:
            if self._overall_bucket is None:
                self._overall_bucket = Bucket(self._overall_rate, max(1.0, self._overall_rate), now)
            buckets.append(self._overall_bucket)
        if self._chat_rate > 0:
            bucket = self._chat_buckets.get(chat_id)
            if bucket is None:
                bucket = self._chat_buckets[chat_id] = Bucket(
                    self._chat_rate, max(1.0, self._chat_rate), now
                )
            buckets.append(bucket)
        wait = max((b.wait(now) for b in buckets), default=0.0)
        if wait > 0:
            self.stats.rate_limited += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        for bucket in buckets:
            bucket.tokens -= 1.0

    # ----------------------------------------------------------------- HTTP: Bot API

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self._token:
            return ApiError(401, "Unauthorized").response()
        name = request.match_info["method"]
        self.stats.calls[name] += 1
        method = name.lower()
        handler = self._methods.get(method)
        if handler is None:
            return ApiError(404, "Not Found: method not found").response()
        if self._fail_every and (self._fail_methods is None or method in self._fail_methods):
            self._fail_counter += 1
            if self._fail_counter % self._fail_every == 0:
                self.stats.server_errors += 1
                return ApiError(self._fail_status, HTTPStatus(self._fail_status).phrase).response()
        try:
            params = await read_params(request)
            if method in CHAT_METHODS:
                self._check_reachable(params)
            result = await handler(params)
        except ApiError as error:
            return error.response()
        except ConnectionResetError:  # the bot went away mid-request (killed): nobody to answer
            _LOG.debug("emulator: the client left during %s", name)
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        except Exception as exc:  # an emulator bug: say so instead of a bare 500 page
            _LOG.exception("emulator: %s failed", name)
            return ApiError(500, f"Internal Server Error: {exc!r}").response()
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response({"ok": True, "result": result})

    def _check_reachable(self, params: Params) -> None:
        chat_id = self._chat(params).id
        if chat_id in self._blocked:
            self.stats.forbidden += 1
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _chat(self, params: Params) -> Chat:
        value = params.text("chat_id")
        if not value:
            raise bad("chat_id is empty")
        try:
            chat = self._chats.get(int(value))
        except ValueError:
            chat = None
        if chat is None:
            raise bad("chat not found")
        return chat

    async def _true(self, params: Params) -> bool:
        return True

    async def _get_me(self, params: Params) -> JSONDict:
        return self._me

    async def _get_updates(self, params: Params) -> web.Response:
        if self._webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = params.integer("offset", 0) or 0
        limit = min(max(params.integer("limit", 100) or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        allowed = params.obj("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
        if offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()
        else:
            while self._pending and self._pending[0][0] < offset:
                self._pending.popleft()

        self._poll_generation += 1
        generation = self._poll_generation
        async with self._updates_changed:
            self._updates_changed.notify_all()  # an older long poll now ends with 409
            if not self._pending and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._updates_changed.wait_for(
                            lambda: (
                                bool(self._pending)
                                or generation != self._poll_generation
                                or self._webhook is not None
                                or self._closing
                            )
                        )
        if generation != self._poll_generation:
            raise ApiError(409, CONFLICT_POLL)
        bodies = [body for _, body in itertools.islice(self._pending, limit)]
        if self._webhook is not None:
            bodies = []
        return web.Response(
            body=b'{"ok":true,"result":[' + b",".join(bodies) + b"]}",
            content_type="application/json",
        )

    async def _set_webhook(self, params: Params) -> bool:
        url = params.text("url") or ""
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.text("secret_token") or None
        if secret is not None and not (
            len(secret) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in secret)
        ):
            raise bad("secret token contains unallowed characters")
        allowed = params.obj("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        await self._cancel_webhook()
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=10))
        hook = Webhook(url, secret, params.integer("max_connections", 40) or 40)
        self._webhook = hook
        hook.task = asyncio.create_task(self._push_updates(hook))
        async with self._updates_changed:
            self._updates_changed.notify_all()  # a waiting getUpdates returns
        return True

    async def _delete_webhook(self, params: Params) -> bool:
        await self._cancel_webhook()
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _cancel_webhook(self) -> None:
        hook, self._webhook = self._webhook, None
        if hook is not None and hook.task is not None:
            hook.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hook.task

    async def _get_webhook_info(self, params: Params) -> JSONDict:
        hook = self._webhook
        info: JSONDict = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    async def _push_updates(self, hook: Webhook) -> None:
        """Deliver pending updates to the webhook one by one, in order, retrying failures."""
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if hook.secret:
            headers[SECRET_HEADER] = hook.secret
        delay = self.webhook_retry_delay
        while True:
            async with self._updates_changed:
                await self._updates_changed.wait_for(lambda: bool(self._pending))
            update_id, body = self._pending[0]
            try:
                async with self._session.post(hook.url, data=body, headers=headers) as response:
                    await response.read()
                    error = (
                        None
                        if 200 <= response.status < 300
                        else f"Wrong response from the webhook: {response.status} {response.reason}"
                    )
            except (ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc!r}"
            if error is None:
                if self._pending and self._pending[0][0] == update_id:
                    self._pending.popleft()
                delay = self.webhook_retry_delay
                continue
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _send_message(self, params: Params) -> JSONDict:
        chat = self._chat(params)
        text, raw, parse_mode = _rendered(params, "text", MAX_TEXT)
        if text is None:
            raise bad("message text is empty")
        markup = _reply_markup(params)
        self._check_rate(chat.id)
        message = self._new_message(chat, "sendMessage", text, raw, parse_mode, markup)
        message.entities = params.obj("entities")
        return await self._sent(chat, message)

    async def _send_document(self, params: Params) -> JSONDict:
        return await self._send_file(params, "document", "sendDocument")

    async def _send_photo(self, params: Params) -> JSONDict:
        return await self._send_file(params, "photo", "sendPhoto")

    async def _send_file(self, params: Params, kind: str, method: str) -> JSONDict:
        chat = self._chat(params)
        file = self._input_file(params, kind)
        caption, raw, parse_mode = _rendered(params, "caption", MAX_CAPTION)
        markup = _reply_markup(params)
        self._check_rate(chat.id)
        message = self._new_message(chat, method, caption, raw, parse_mode, markup)
        message.file_name = file.get("file_name")
        message.file_size = file.get("file_size")
        if kind == "photo":
            size = {key: file[key] for key in ("file_id", "file_unique_id", "file_size")}
            message.attachment = {"photo": [{**size, "width": 800, "height": 600}]}
        else:
            message.attachment = {"document": file}
        return await self._sent(chat, message)

    async def _send_location(self, params: Params) -> JSONDict:
        chat = self._chat(params)
        latitude, longitude = params.number("latitude"), params.number("longitude")
        if latitude is None or longitude is None:
            raise bad("latitude and longitude must be specified")
        markup = _reply_markup(params)
        self._check_rate(chat.id)
        message = self._new_message(chat, "sendLocation", None, None, None, markup)
        message.attachment = {"location": {"latitude": latitude, "longitude": longitude}}
        return await self._sent(chat, message)

    def _input_file(self, params: Params, name: str) -> JSONDict:
        value = params.raw(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.raw(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            return self._new_file(value.filename, value.size, value.content_type)
        if isinstance(value, str) and value in self._files:
            return dict(self._files[value])
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._new_file(value.rsplit("/", 1)[-1] or "file", 0, None)
        if not value:
            raise bad(f"there is no {name} in the request")
        raise bad("wrong file identifier/HTTP URL specified")

    def _new_file(self, file_name: str | None, size: int, mime_type: str | None) -> JSONDict:
        seq = next(self._file_seq)
        file: JSONDict = {"file_id": f"EMU-FILE-{seq}", "file_unique_id": f"emu{seq}"}
        if file_name:
            file["file_name"] = file_name
        if mime_type:
            file["mime_type"] = mime_type
        file["file_size"] = size
        self._files[file["file_id"]] = file
        return dict(file)

    def _new_photo(self, size: int, width: int, height: int) -> JSONDict:
        photo = self._new_file(None, size, None)
        return {**photo, "width": width, "height": height}

    def _new_message(
        self,
        chat: Chat,
        method: str,
        text: str | None,
        raw: str | None,
        parse_mode: str | None,
        markup: JSONDict | None,
    ) -> SentMessage:
        return SentMessage(
            message_id=chat.next_message_id(),
            chat_id=chat.id,
            text=text,
            reply_markup=markup,
            method=method,
            timestamp=time.time(),
            raw_text=raw,
            parse_mode=parse_mode,
        )

    async def _sent(self, chat: Chat, message: SentMessage) -> JSONDict:
        chat.remember(message)
        self.stats.sends_per_chat[chat.id] += 1
        await self._emit(chat, dataclasses.replace(message))
        return self._message_json(message)

    async def _emit(self, chat: Chat, event: SentMessage) -> None:
        chat.events.append(event)
        chat.event_count += 1
        async with self._bot_activity:
            self._bot_activity.notify_all()
        for callback in list(self._message_callbacks):
            await _call(callback, event)

    def _message_json(self, message: SentMessage) -> JSONDict:
        chat = self._chats[message.chat_id]
        result: JSONDict = {
            "message_id": message.message_id,
            "from": self._me,
            "chat": chat.chat_json(),
            "date": int(message.timestamp),
        }
        if message.edit_timestamp is not None:
            result["edit_date"] = int(message.edit_timestamp)
        if message.attachment:
            result.update(message.attachment)
        if message.text is not None:
            result["text" if message.method == "sendMessage" else "caption"] = message.text
        if message.entities:
            result["entities"] = message.entities
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            result["reply_markup"] = message.reply_markup
        return result

    def _message_to_edit(self, params: Params) -> tuple[Chat, SentMessage]:
        if params.raw("inline_message_id"):
            raise bad("inline messages are not supported by the emulator")
        chat = self._chat(params)
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad("message to edit not found")
        return chat, message

    async def _edit_message_text(self, params: Params) -> JSONDict:
        chat, message = self._message_to_edit(params)
        text, raw, parse_mode = _rendered(params, "text", MAX_TEXT)
        if text is None:
            raise bad("message text is empty")
        if message.method != "sendMessage":
            raise bad("there is no text in the message to edit")
        markup = _inline_only(_reply_markup(params))
        if (raw, parse_mode, markup) == (
            message.raw_text,
            message.parse_mode,
            _inline_only(message.reply_markup),
        ):
            raise bad(NOT_MODIFIED)
        return await self._edited(chat, message, text, raw, parse_mode, markup)

    async def _edit_message_reply_markup(self, params: Params) -> JSONDict:
        chat, message = self._message_to_edit(params)
        markup = _inline_only(_reply_markup(params))
        if markup == _inline_only(message.reply_markup):
            raise bad(NOT_MODIFIED)
        return await self._edited(
            chat, message, message.text, message.raw_text, message.parse_mode, markup
        )

    async def _edited(
        self,
        chat: Chat,
        message: SentMessage,
        text: str | None,
        raw: str | None,
        parse_mode: str | None,
        markup: JSONDict | None,
    ) -> JSONDict:
        now = time.time()
        version = MessageVersion(
            message.text, message.reply_markup, message.edit_timestamp or message.timestamp
        )
        message.edit_history = (*message.edit_history, version)
        message.text, message.raw_text, message.parse_mode = text, raw, parse_mode
        message.reply_markup = markup
        message.edited = True
        message.edit_timestamp = now
        await self._emit(chat, dataclasses.replace(message, is_edit=True))
        return self._message_json(message)

    async def _delete_message(self, params: Params) -> bool:
        chat = self._chat(params)
        message = chat.messages.get(params.integer("message_id") or 0)
        if message is None or message.deleted:
            raise bad("message to delete not found")
        message.deleted = True
        return True

    async def _answer_callback_query(self, params: Params) -> bool:
        query = self._open_queries.pop(params.text("callback_query_id") or "", None)
        if query is None:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        answer = CallbackAnswer(
            update_id=query.update_id,
            callback_query_id=str(query.update_id),
            user_id=query.user_id,
            chat_id=query.user_id,
            message_id=query.message_id,
            data=query.data,
            text=params.text("text"),
            show_alert=params.flag("show_alert"),
            url=params.text("url"),
            timestamp=time.time(),
        )
        self._answers.append(answer)
        async with self._bot_activity:
            self._bot_activity.notify_all()
        for callback in list(self._answer_callbacks):
            await _call(callback, answer)
        return True

    async def _send_chat_action(self, params: Params) -> bool:
        if not params.text("action"):
            raise bad("action is empty")
        return True

    async def _set_my_commands(self, params: Params) -> bool:
        commands = params.obj("commands")
        if not isinstance(commands, list):
            raise bad("commands must be an array")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not (
                1 <= len(name) <= 32 and all(c.islower() or c.isdigit() or c == "_" for c in name)
            ):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(params.obj("scope")), params.text("language_code") or "")
        self._commands[key] = commands
        return True

    async def _get_my_commands(self, params: Params) -> list[JSONDict]:
        return self.commands(params.obj("scope"), params.text("language_code") or "")

    async def _delete_my_commands(self, params: Params) -> bool:
        self._commands.pop(
            (_scope_key(params.obj("scope")), params.text("language_code") or ""), None
        )
        return True

    async def _set_chat_menu_button(self, params: Params) -> bool:
        chat_id = self._chat(params).id if params.raw("chat_id") else None
        self.menu_buttons[chat_id] = params.obj("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, params: Params) -> JSONDict:
        chat_id = self._chat(params).id if params.raw("chat_id") else None
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "commands"}

    async def _get_chat(self, params: Params) -> JSONDict:
        return {
            **self._chat(params).chat_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    # ----------------------------------------------------------------- HTTP: driver

    async def _handle_driver(self, request: web.Request) -> web.Response:
        """``/_emulator/{action}``: the driver API as JSON, thin over the Python methods."""
        args: JSONDict = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return _driver_error(400, "the body must be a JSON object")
            args.update(body)
        for key, kind in _DRIVER_NUMBERS.items():  # query strings carry only text
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = kind(args[key])
        action = request.match_info["action"]
        actions: dict[str, Callable[..., Any]] = {
            "send_text": self.send_text,
            "edit_text": self.edit_text,
            "sent_messages": self.sent_messages,
            "press_button": self.press_button,
            "share_contact": self.share_contact,
            "share_location": self.share_location,
            "send_photo": self.send_photo,
            "add_user": self.add_user,
            "inject_update": self.inject_update,
            "messages": lambda chat_id: [dataclasses.asdict(m) for m in self.messages(chat_id)],
            "next_message": self._driver_next_message,
            "callback_answers": lambda user_id=None: [
                dataclasses.asdict(a) for a in self.callback_answers(user_id)
            ],
            "faults": self._driver_faults,
            "stats": lambda: {
                "calls": dict(self.stats.calls),
                "rate_limited": self.stats.rate_limited,
                "server_errors": self.stats.server_errors,
                "forbidden": self.stats.forbidden,
                "sends_per_chat": dict(self.stats.sends_per_chat),
            },
        }
        function = actions.get(action)
        if function is None:
            return _driver_error(404, f"unknown action {action!r}")
        try:
            result = function(**args)
            if inspect.isawaitable(result):
                result = await result
        except TimeoutError as exc:
            return _driver_error(408, str(exc))
        except (TypeError, ValueError, LookupError) as exc:
            return _driver_error(400, str(exc))
        if action in _DRIVER_UPDATES:
            result = {"update_id": result}
        return web.json_response({"ok": True, "result": result})

    async def _driver_next_message(self, chat_id: int, timeout: float = 5.0) -> JSONDict:  # noqa: ASYNC109
        return dataclasses.asdict(await self.next_message(chat_id, timeout))

    def _driver_faults(
        self,
        rate_limits: JSONDict | None = None,
        fail_every: JSONDict | None = None,
        block_chat: list[int] | None = None,
        unblock_chat: list[int] | None = None,
        reset: bool = False,
    ) -> JSONDict:
        if reset:
            self.reset_faults()
        if rate_limits is not None:
            self.rate_limits(**rate_limits)
        if fail_every is not None:
            self.fail_every(**fail_every)
        for chat_id in block_chat or ():
            self.block_chat(int(chat_id))
        for chat_id in unblock_chat or ():
            self.unblock_chat(int(chat_id))
        return self.faults()


_DRIVER_NUMBERS: dict[str, Callable[[str], Any]] = {
    "user_id": int,
    "chat_id": int,
    "message_id": int,
    "contact_user_id": int,
    "latitude": float,
    "longitude": float,
    "timeout": float,
}


_DRIVER_UPDATES = frozenset(
    {
        "send_text", "edit_text", "press_button", "share_contact", "share_location",
        "send_photo", "inject_update",
    }
)  # fmt: skip


def _text_fields(text: str) -> JSONDict:
    """A text message's fields: a leading /command gets its bot_command entity."""
    fields: JSONDict = {"text": text}
    if text.startswith("/") and len(text) > 1:
        command = text.split(maxsplit=1)[0]
        fields["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
    return fields


def _driver_error(status: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "description": description}, status=status)


def _rendered(params: Params, name: str, limit: int) -> tuple[str | None, str | None, str | None]:
    """(displayed text, text as sent, parse_mode) of a text or caption parameter."""
    raw = params.text(name)
    if raw is None or raw == "":
        return None, None, None
    parse_mode = params.text("parse_mode") or None
    text = html_to_text(raw) if (parse_mode or "").lower() == "html" else raw
    if not text.strip():
        if name == "caption":
            return None, None, None
        raise bad("message text is empty")
    if utf16_len(text) > limit:  # Telegram counts UTF-16 code units of the displayed text
        raise bad("message is too long" if name == "text" else "message caption is too long")
    return text, raw, parse_mode


def _reply_markup(params: Params) -> JSONDict | None:
    markup = params.obj("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", ()):
        for button in row:
            data = button.get("callback_data") if isinstance(button, dict) else None
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad("BUTTON_DATA_INVALID")
    return markup


def _inline_only(markup: JSONDict | None) -> JSONDict | None:
    return markup if markup and "inline_keyboard" in markup else None


def _scope_key(scope: JSONDict | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _describe(events: list[SentMessage]) -> str:
    if not events:
        return "nothing"
    return "; ".join(
        f"#{e.message_id}{' (edit)' if e.is_edit else ''} {e.method} {_shorten(e.text)!r}"
        for e in events
    )


def _shorten(text: str | None, limit: int = 80) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


async def _call(callback: Callable[[Any], Awaitable[None] | None], argument: Any) -> None:
    try:
        result = callback(argument)
        if inspect.isawaitable(result):
            await result
    except Exception:
        _LOG.exception("emulator: subscriber %r failed", callback)


# --------------------------------------------------------------------------- command line
