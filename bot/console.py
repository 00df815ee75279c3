"""`azerishiq-bot console`: chat with the real bot in a terminal, no Telegram token needed.

The very same Application runs against the built-in Bot API emulator; this module only plays
the citizen: it prints what the bot sends (buttons numbered) and turns typed lines into
updates. It reads standard input line by line, so it can be scripted.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import TextIO

from bot.emulator import BotApiEmulator, SentMessage
from bot.runtime import open_services, running_bot
from bot.settings import Settings

DEFAULT_PHONE = "+994501234567"
QUIET_SECONDS = 0.4
MAX_WAIT_SECONDS = 15.0

BANNER = (
    "Azərişıq bot console — type a message; a number presses a button; /command; "
    f":contact [PHONE] (default {DEFAULT_PHONE}); :location LAT LON; Ctrl-D quits.\n"
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


class Console:
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
        self.inline: list[Button] = []
        self.keyboard: list[list[Button]] = []
        self.activity = asyncio.Event()

    # ------------------------------------------------------------------ the bot speaks

    def show(self, message: SentMessage) -> None:
        if message.chat_id != self.user_id:
            return
        self.activity.set()
        markup = message.reply_markup or {}
        prefix = "bot (edited)> " if message.is_edit else "bot> "
        if message.deleted:
            self._print(f"{prefix}[message deleted]")
            return
        body = message.text or f"[{message.method.removeprefix('send').lower()}]"
        self._print(
            prefix + "\n".join(line.rstrip() for line in body.split("\n")).replace("\n", "\n     ")
        )
        shown_before = (len(self.inline), self.keyboard)
        # The buttons of the newest message are the ones a number presses.
        self.inline = [
            Button(b["text"], callback_data=b.get("callback_data"), message_id=message.message_id)
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]
        if self.inline:
            self._print_rows([self.inline], start=1, title="")
        if "keyboard" in markup:
            self.keyboard = [[_reply_button(b) for b in row] for row in markup["keyboard"]]
        elif "remove_keyboard" in markup:
            self.keyboard = []
        if self.keyboard and (len(self.inline), self.keyboard) != shown_before:
            self._print_rows(self.keyboard, start=len(self.inline) + 1, title="menu:")

    def _print_rows(self, rows: list[list[Button]], start: int, title: str) -> None:
        number = start
        lead = f"     {title} " if title else "     "
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
        return self.inline + [button for row in self.keyboard for button in row]

    # ------------------------------------------------------------------ the citizen speaks

    async def handle(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        if text.isdigit():
            await self._press(int(text))
        elif text.startswith(":contact"):
            phone = text.removeprefix(":contact").strip() or DEFAULT_PHONE
            await self.emulator.share_contact(self.user_id, phone)
        elif text.startswith(":location"):
            await self._share_location(text.removeprefix(":location").split())
        else:
            await self.emulator.send_text(
                self.user_id, text, first_name=self.first_name, language_code=self.language_code
            )

    async def _press(self, number: int) -> None:
        buttons = self.buttons()
        if not 1 <= number <= len(buttons):
            await self.emulator.send_text(self.user_id, str(number))  # a plain number answer
            return
        button = buttons[number - 1]
        if button.callback_data is not None:
            await self.emulator.press_button(
                self.user_id, button.callback_data, message_id=button.message_id
            )
        elif button.request_contact:
            await self.emulator.share_contact(self.user_id, DEFAULT_PHONE)
        elif button.request_location:
            self._print("     (type :location LAT LON to share a location)")
        else:
            await self.emulator.send_text(self.user_id, button.label)

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
    # The console's emulator is not Telegram: pacing one chat at a message a second would only
    # make the demo slow (and cut a reply of several messages in two).
    settings = settings.model_copy(
        update={
            "webhook_url": None,
            "telegram_per_chat_rate": 1000.0,
            "telegram_per_chat_burst": 20,
        }
    )
    async with (
        BotApiEmulator() as emulator,
        open_services(settings) as services,
        running_bot(
            settings, services, token=emulator.token, base_url=emulator.base_url, poll_timeout=1
        ),
    ):
        console = Console(emulator, user_id, first_name, language_code, out)
        emulator.on_message(console.show)
        print(BANNER, file=out, flush=True)
        echo = not stdin.isatty()
        while True:
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            if echo and line.strip():
                print(f"you> {line.strip()}", file=out, flush=True)
            await console.handle(line)
            await console.settle()
