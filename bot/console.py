"""`azerishiq-bot console`: chat with the real bot in a terminal, no Telegram token needed.

The very same Application runs against the Bot API emulator (the top-level ``emulator``
package of the source tree: a development tool, not in the wheel); this module only plays
the citizen: it prints what the bot sends (buttons numbered) and turns typed lines into
updates. It reads standard input line by line, so it can be scripted.

Start-up: the banner comes first, before the bot's libraries are loaded (a second or more on a
busy machine); lines typed meanwhile wait in standard input. So this module imports only the
standard library at the top, and ``bot.cli`` imports it cheaply.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bot.demo import DemoData
    from bot.settings import Settings
    from emulator import BotApiEmulator, CallbackAnswer, SentMessage

DEFAULT_PHONE = "+994501234567"
DEFAULT_USER_ID = 100001
QUIET_SECONDS = 0.4
MAX_WAIT_SECONDS = 15.0

BANNER = (
    "Azərişıq bot console — type a message; a number presses a button of the newest message; "
    f"/command; :contact [PHONE] (default {DEFAULT_PHONE}); :location LAT LON; :text TEXT sends "
    "TEXT as it is; Ctrl-D quits.\n"
)


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    callback_data: str | None = None
    message_id: int | None = None
    request_contact: bool = False
    request_location: bool = False


def _reply_button(raw: str | dict[str, object]) -> Button:
    if isinstance(raw, str):
        return Button(raw)
    return Button(
        str(raw["text"]),
        request_contact=bool(raw.get("request_contact")),
        request_location=bool(raw.get("request_location")),
    )


#: A typed number this short is meant as a button, never as data (codes, phones are longer).
BUTTON_DIGITS = 2
HINT = "     "


class Console:
    """Prints what the bot sends and turns typed lines into updates.

    Numbering: each message's buttons are numbered from [1] — the main menu is always
    [1] Qoşulma müraciəti … [7] Kömək — and a number presses a button of the newest message
    with buttons since the citizen's last line (the one on screen). A short number that is
    not on screen is refused here, never sent: after a message without buttons, "3" must not
    press a button scrolled away long ago.
    """

    def __init__(
        self,
        emulator: BotApiEmulator,
        user_id: int,
        first_name: str,
        language_code: str,
        out: TextIO,
    ) -> None:
        self.emulator = emulator
        self.user_id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.out = out
        self.screen: list[Button] = []
        self.screen_message: int | None = None
        self.new_turn = True
        self.activity = asyncio.Event()

    # ------------------------------------------------------------------ the bot speaks

    def show(self, message: SentMessage) -> None:
        if message.chat_id != self.user_id:
            return
        self.activity.set()
        if self.new_turn:  # the first message after the citizen's line: a new screen
            self.new_turn = False
            self._set_screen([], None)
        markup = message.reply_markup or {}
        prefix = "bot (edited)> " if message.is_edit else "bot> "
        if message.deleted:
            self._print(f"{prefix}[message deleted]")
            if message.message_id == self.screen_message:
                self._set_screen([], None)
            return
        body = message.text or f"[{message.method.removeprefix('send').lower()}]"
        self._print(
            prefix + "\n".join(line.rstrip() for line in body.split("\n")).replace("\n", "\n     ")
        )
        inline = [
            [
                Button(
                    b["text"], callback_data=b.get("callback_data"), message_id=message.message_id
                )
                for b in row
            ]
            for row in markup.get("inline_keyboard", [])
        ]
        keyboard = [[_reply_button(b) for b in row] for row in markup.get("keyboard", [])]
        if keyboard and all(b.request_contact or b.request_location for r in keyboard for b in r):
            # Only "share my contact / location" below the text field: the console's :contact
            # and :location do that, so these do not take the numbers of the message above.
            self._print(HINT + self._request_hint(keyboard))
            return
        rows = inline or keyboard
        if rows:
            self._print_rows(rows, title="" if inline else "menu:")
            self._set_screen([button for row in rows for button in row], message.message_id)
        elif message.is_edit and message.message_id == self.screen_message:
            self._set_screen([], None)  # the buttons on screen were taken away

    def notice(self, answer: CallbackAnswer) -> None:
        """A pressed button's answer (Telegram shows it briefly over the chat)."""
        if answer.user_id == self.user_id and answer.text:
            self.activity.set()
            self._print(f"bot (notice)> {answer.text}")

    def _request_hint(self, keyboard: list[list[Button]]) -> str:
        hints = []
        for button in (b for row in keyboard for b in row):
            command = ":contact" if button.request_contact else ":location LAT LON"
            hints.append(f"[{button.label}] below the text field: type {command}")
        return "(" + "; ".join(hints) + ")"

    def _set_screen(self, buttons: list[Button], message_id: int | None) -> None:
        self.screen, self.screen_message = buttons, message_id

    def _print_rows(self, rows: list[list[Button]], title: str) -> None:
        number = 1
        lead = f"{HINT}{title} " if title else HINT
        for index, row in enumerate(rows):
            cells = []
            for button in row:
                cells.append(f"[{number}] {button.label}")
                number += 1
            indent = lead if index == 0 else " " * len(lead)
            self._print(indent + "  ".join(cells))

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def buttons(self) -> list[Button]:
        """What a typed number presses now."""
        return list(self.screen)

    # ------------------------------------------------------------------ the citizen speaks

    async def handle(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        if text.isdigit() and (len(text) <= BUTTON_DIGITS or 1 <= int(text) <= len(self.screen)):
            await self._press(int(text))
            return
        self.new_turn = True
        if text.startswith(":contact"):
            phone = text.removeprefix(":contact").strip() or DEFAULT_PHONE
            await self.emulator.share_contact(self.user_id, phone)
        elif text.startswith(":location"):
            await self._share_location(text.removeprefix(":location").split())
        elif text.startswith(":text "):
            await self._say(text.removeprefix(":text ").strip())
        else:
            await self._say(text)

    async def _say(self, text: str) -> None:
        await self.emulator.send_text(
            self.user_id, text, first_name=self.first_name, language_code=self.language_code
        )

    async def _press(self, number: int) -> None:
        if not 1 <= number <= len(self.screen):
            self._refuse(number)
            return
        button = self.screen[number - 1]
        if button.request_location:
            self._print(f"{HINT}(type :location LAT LON to share a location)")
            return
        self.new_turn = True
        if button.callback_data is not None:
            await self.emulator.press_button(
                self.user_id, button.callback_data, message_id=button.message_id
            )
        elif button.request_contact:
            await self.emulator.share_contact(self.user_id, DEFAULT_PHONE)
        else:
            await self._say(button.label)

    def _refuse(self, number: int) -> None:
        """Console chrome, like the banner: the console refuses, the bot never sees it."""
        if len(self.screen) == 1:
            where = "the button on screen is [1]"
        elif self.screen:
            where = f"the buttons on screen are [1] to [{len(self.screen)}]"
        else:
            where = "there are no buttons on screen now (/start shows the menu)"
        self._print(
            f"{HINT}(no button [{number}]: {where}; to send {number} as a message, "
            f"type :text {number})"
        )

    async def _share_location(self, parts: list[str]) -> None:
        try:
            latitude, longitude = (float(part) for part in parts)
        except ValueError:
            self._print("     usage: :location LAT LON   e.g. :location 40.41 49.87")
            return
        await self.emulator.share_location(self.user_id, latitude, longitude)

    async def settle(self) -> None:
        """Wait until the bot has been quiet for a moment (so output follows input)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_WAIT_SECONDS
        while loop.time() < deadline:
            self.activity.clear()
            try:
                await asyncio.wait_for(self.activity.wait(), QUIET_SECONDS)
            except TimeoutError:
                return


async def run_console(
    settings: Settings,
    *,
    user_id: int,
    first_name: str,
    language_code: str,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> None:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    print(BANNER, file=out, flush=True)
    # Only now the bot: loading it is most of the start-up, and the banner need not wait.
    from bot.demo import seed_demo
    from bot.runtime import open_services, running_bot
    from i18n import resolve_locale

    emulator_type = _emulator()

    # The console's emulator is not Telegram: pacing one chat at a message a second would only
    # make the demo slow (and cut a reply of several messages in two).
    settings = settings.model_copy(
        update={
            "webhook_url": None,
            "telegram_per_chat_rate": 1000.0,
            "telegram_per_chat_burst": 20,
        }
    )
    async with emulator_type() as emulator, open_services(settings) as services:
        demo = await seed_demo(
            services.sessions,
            user_id=user_id,
            phone=DEFAULT_PHONE,
            locale=resolve_locale(None, language_code),
        )
        async with running_bot(
            settings, services, token=emulator.token, base_url=emulator.base_url, poll_timeout=1
        ):
            await _chat(
                emulator,
                demo,
                stdin,
                out,
                Console(emulator, user_id, first_name, language_code, out),
            )


def _emulator() -> type[BotApiEmulator]:
    """The emulator class, imported only when the console runs; it is not in the wheel."""
    try:
        from emulator import BotApiEmulator
    except ModuleNotFoundError as error:
        if error.name != "emulator":
            raise
        raise SystemExit(
            "The console needs the Bot API emulator, a development tool that is not installed "
            "with the bot: run it from a checkout of the source (uv run azerishiq-bot console)."
        ) from None
    return BotApiEmulator


async def _chat(
    emulator: BotApiEmulator, demo: DemoData, stdin: TextIO, out: TextIO, console: Console
) -> None:
    emulator.on_message(console.show)
    emulator.on_callback_answer(console.notice)
    print(demo.note(), file=out, flush=True)
    echo = not stdin.isatty()
    while True:
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        if echo and line.strip():
            print(f"you> {line.strip()}", file=out, flush=True)
        await console.handle(line)
        await console.settle()
