"""``python -m emulator --port 8081``: the emulator as its own process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from emulator.server import BotApiEmulator


async def _serve(host: str, port: int, token: str | None) -> None:
    async with BotApiEmulator(token=token, host=host, port=port) as emulator:
        print(f"TELEGRAM_BOT_TOKEN={emulator.token}")
        print(f"TELEGRAM_API_BASE_URL={emulator.base_url}")
        print(f"# driver API: {emulator.driver_url}/send_text etc.; Ctrl-C to stop", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Telegram Bot API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=None, help="bot token to accept (default: random)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.token))


if __name__ == "__main__":
    main()
