"""The `azerishiq-bot` command line: serve, console, migrate, worker."""

from __future__ import annotations

import argparse
import asyncio
import sys
from importlib.metadata import PackageNotFoundError, version

from pydantic import ValidationError

from bot import logs
from bot.console import DEFAULT_USER_ID
from bot.settings import Settings, describe_error

PROG = "azerishiq-bot"
EXIT_BAD_SETTINGS = 2


def _version() -> str:
    try:
        return version("azerishiq-bot")
    except PackageNotFoundError:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Azərişıq citizen bot. Settings come from the environment and ./.env.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "serve", help="run the bot (polling, or webhook if WEBHOOK_URL is set) and HTTP server"
    )
    console = commands.add_parser(
        "console", help="chat with the bot in this terminal; no Telegram token needed"
    )
    console.add_argument(
        "--user-id", type=int, default=DEFAULT_USER_ID, help="your Telegram user id"
    )
    console.add_argument("--name", default="Vətəndaş", help="your first name")
    console.add_argument(
        "--language-code", default="az", help="your Telegram app language (az, ru, en)"
    )
    commands.add_parser("migrate", help="apply database migrations up to the newest")
    commands.add_parser(
        "worker", help="send the outbox only (Telegram, SMS, e-mail); run several on PostgreSQL"
    )
    return parser


def _fail(message: str, code: int = EXIT_BAD_SETTINGS) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except (ValidationError, ValueError) as error:
        return _fail(describe_error(error))
    level = settings.log_level
    if args.command == "console" and level == "INFO":
        level = "WARNING"  # the terminal is the chat; keep routine logs out of it
    logs.configure(level, settings.log_format)

    try:
        if args.command == "serve":
            if settings.telegram_bot_token is None:
                return _fail(
                    "TELEGRAM_BOT_TOKEN is not set. To try the bot without a token, "
                    f"run: {PROG} console"
                )
            from bot.runtime import serve

            asyncio.run(serve(settings))
        elif args.command == "console":
            from bot.console import run_console

            asyncio.run(
                run_console(
                    settings,
                    user_id=args.user_id,
                    first_name=args.name,
                    language_code=args.language_code,
                )
            )
        elif args.command == "migrate":
            from storage.migrate import upgrade_to_head

            asyncio.run(upgrade_to_head(settings.database_url))
            print(f"{PROG}: the database is up to date")
        elif args.command == "worker":
            if settings.telegram_bot_token is None:
                return _fail("TELEGRAM_BOT_TOKEN is not set; the worker needs it to send messages")
            from bot.worker import run_worker

            asyncio.run(run_worker(settings))
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if not _cannot_start(error):
            raise
        # Typically: the database or the Bot API server cannot be reached, or a bad token.
        return _fail(f"cannot start: {error}", code=1)
    return 0


def _cannot_start(error: Exception) -> bool:
    """An OSError or python-telegram-bot's error: told in one line, not a traceback.

    ``telegram`` is not imported here for the check (a third of a second before the console's
    banner): an error of its kind can only come once it is loaded.
    """
    if isinstance(error, OSError):
        return True
    telegram_error = sys.modules.get("telegram.error")
    return telegram_error is not None and isinstance(error, telegram_error.TelegramError)


if __name__ == "__main__":
    sys.exit(main())
