"""End-to-end harness: the real Application, polling the Bot API emulator over HTTP.

Dialogue tests read like the conversation they check::

    await citizen.says("/start")
    await citizen.sees("Xoş gəlmisiniz")
    await citizen.says("Kömək")
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime import make_services, running_bot
from bot.settings import Settings
from chat.context import BotApplication
from emulator import BotApiEmulator, SentMessage

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0
#: The governor's rates for tests that are not about pacing: it is in the path, but a dialogue
#: test answering at machine speed would otherwise wait a second for every message. Tests of
#: pacing pass ``paced=True`` (production settings) and turn on the emulator's limits.
UNPACED: Mapping[str, object] = {
    "telegram_global_rate": 5_000.0,
    "telegram_per_chat_rate": 1_000.0,
}


@dataclass
class Citizen:
    """One Telegram user talking to the bot in a private chat."""

    emulator: BotApiEmulator
    user_id: int
    first_name: str = "Aysel"
    language_code: str = "az"

    async def says(self, text: str) -> None:
        await self.emulator.send_text(
            self.user_id, text, first_name=self.first_name, language_code=self.language_code
        )

    async def edits(self, old_text: str, new_text: str) -> None:
        """Edit the newest message this citizen sent with ``old_text`` (Telegram: *Edit*)."""
        sent = [m for m in self.emulator.sent_messages(self.user_id) if m.get("text") == old_text]
        assert sent, f"{self.user_id} sent no message {old_text!r}"
        await self.emulator.edit_text(self.user_id, sent[-1]["message_id"], new_text)

    async def presses(self, callback_data: str) -> None:
        await self.emulator.press_button(self.user_id, callback_data)

    async def shares_contact(self, phone: str, *, owner_id: int | None = None) -> None:
        await self.emulator.share_contact(self.user_id, phone, contact_user_id=owner_id)

    async def shares_location(self, latitude: float, longitude: float) -> None:
        await self.emulator.share_location(self.user_id, latitude, longitude)

    async def reply(self, timeout: float = TIMEOUT) -> SentMessage:
        """The next message (or edit) the bot sends this citizen."""
        return await self.emulator.next_message(self.user_id, timeout=timeout)

    async def sees(self, substring: str, timeout: float = TIMEOUT) -> SentMessage:
        """Wait for a bot message containing ``substring`` (earlier ones are skipped)."""
        return await self.emulator.wait_for_text(self.user_id, substring, timeout=timeout)

    def keyboard(self) -> list[str]:
        """Labels of the reply keyboard now shown."""
        rows = self.emulator.reply_keyboard(self.user_id) or []
        return [button["text"] for row in rows for button in row]


def settings_for(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": database_url, "webhook_url": None}
    values.update(overrides)
    return Settings.model_validate(values)


@asynccontextmanager
async def bot_on_emulator(
    engine: AsyncEngine,
    emulator: BotApiEmulator,
    *,
    staff_ids: Iterable[int] = (),
    settings_overrides: Mapping[str, object] | None = None,
    paced: bool = False,
) -> AsyncIterator[BotApplication]:
    """The bot as `serve` builds it, polling ``emulator``, on the test database.

    Its Telegram governor runs at :data:`UNPACED` rates unless ``paced`` (the settings').
    """
    settings = settings_for(str(engine.url.render_as_string(hide_password=False)))
    settings = settings.model_copy(update={"staff_telegram_ids": frozenset(staff_ids)})
    if not paced:
        settings = settings.model_copy(update=dict(UNPACED))
    if settings_overrides:
        settings = settings.model_copy(update=dict(settings_overrides))
    services = make_services(settings, engine)
    async with running_bot(
        settings, services, token=emulator.token, base_url=emulator.base_url, poll_timeout=1
    ) as application:
        yield application


class ServeProcess:
    """`azerishiq-bot serve` (or another command) in a child process, for crash tests."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        database_url: str,
        http_port: int,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.http_port = http_port
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": emulator.token,
            "TELEGRAM_API_BASE_URL": emulator.base_url,
            "DATABASE_URL": database_url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(http_port),
            "LOG_LEVEL": "WARNING",
            **{name.upper(): str(value) for name, value in UNPACED.items()},
        }
        self.env.pop("WEBHOOK_URL", None)
        self.env.update(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._final_output = ""

    def start(self, command: str = "serve") -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", command],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            start_new_session=True,  # its own process group, killed as a whole
        )

    async def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown hook, no final flush."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        await asyncio.to_thread(self.process.wait, 10)

    def output(self) -> str:
        """What every run of the process wrote to stderr so far (read without moving the
        file offset the child shares: it keeps appending)."""
        fd = self.log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    async def stop(self) -> str:
        """SIGTERM and wait; returns what every run of the process wrote to stderr.

        The wait runs in a thread: the emulator lives in this event loop and must keep
        answering the bot's last calls while it shuts down.
        """
        if self.log.closed:  # stopped before
            return self._final_output
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 15)
            except subprocess.TimeoutExpired:
                await self.kill()
        self._final_output = self.output()
        self.log.close()
        return self._final_output
