"""A local Telegram Bot API emulator for the console mode, end-to-end tests and benchmarks.

The emulator is an aiohttp server that speaks the part of the Bot API this bot uses, at
``/bot{token}/{method}``, so the real python-telegram-bot ``Application`` runs against it
unchanged (``ApplicationBuilder().base_url(emulator.base_url)``). A driver plays the users:

    async with BotApiEmulator() as emu:
        ...  # start the bot with token=emu.token, base_url=emu.base_url
        await emu.send_text(1, "/start")
        reply = await emu.next_message(1)
        await emu.press_button(1, "lang:az")
        await emu.edit_text(1, message_id, "/help")  # an edited_message, as Telegram sends it

Everything the driver can do in Python is also exposed as JSON under ``/_emulator/`` for when
the emulator runs as its own process: ``python -m emulator --port 8081``.

Faults (flood limits, 5xx, blocked users) can be switched on at runtime. Bodies are accepted
the way Telegram accepts them: query string, form-encoded, multipart and JSON; in form and
multipart bodies nested objects (reply_markup, entities, allowed_updates ...) are JSON strings.
"""

from emulator.params import html_to_text
from emulator.records import CallbackAnswer, EmulatorStats, MessageVersion, SentMessage
from emulator.server import SEND_METHODS, BotApiEmulator

__all__ = [
    "SEND_METHODS",
    "BotApiEmulator",
    "CallbackAnswer",
    "EmulatorStats",
    "MessageVersion",
    "SentMessage",
    "html_to_text",
]
