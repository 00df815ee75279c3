"""``uv run python -m bench``: the bot against its baselines, as ratios measured in one command.

Prints a table and writes ``bench/RESULTS.md``. Sizes are options (``--help``); the defaults
finish in a few minutes on 2 cores. PostgreSQL is used when it answers at ``--postgres``
(a scratch database ``azerishiq_bench`` is created there); otherwise its rows say so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench import broadcast, memory, sms, startup, updates

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SCRATCH = "azerishiq_bench"


async def scratch_postgres(url: str) -> str | None:
    """A fresh empty database beside ``url``'s, or None when PostgreSQL does not answer."""
    import asyncpg  # the production driver; only needed here

    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        connection = await asyncpg.connect(plain, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {SCRATCH}")
    finally:
        await connection.close()
    return url.rsplit("/", 1)[0] + "/" + SCRATCH


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--citizens", type=int, default=30, help="concurrent connection requests")
    parser.add_argument("--sms", type=int, default=2000, help="SMS STATUS queries")
    parser.add_argument("--broadcast", type=int, default=750, help="broadcast recipients")
    parser.add_argument("--memory", type=int, default=100_000, help="stored conversations")
    parser.add_argument("--startups", type=int, default=5, help="console starts measured")
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES))
    args = parser.parse_args(argv)

    rows: list[tuple[str, str, str, str]] = []  # what, ours, baseline, ratio
    print("console start-up …", flush=True)
    rows += startup.rows(startup.run(args.startups)[0])
    with tempfile.TemporaryDirectory() as folder:
        engines = {"SQLite": f"sqlite+aiosqlite:///{folder}/bench.db"}
        postgres = asyncio.run(scratch_postgres(args.postgres))
        if postgres:
            engines["PostgreSQL"] = postgres
        else:
            rows.append(("PostgreSQL", "not reachable at " + args.postgres, "—", "—"))
        for name, url in engines.items():
            print(f"updates on {name} …", flush=True)
            found = updates.run(url, args.citizens)
            bot, echo = found["bot"], found["echo"]
            rows.append((
                f"updates/s, {args.citizens} connection requests ({name})",
                f"{bot.per_second:.1f}", f"{echo.per_second:.1f} (echo bot)",
                f"{bot.per_second / echo.per_second:.0%}",
            ))  # fmt: skip
            for q in (0.5, 0.99):
                rows.append((
                    f"p{int(q * 100)} latency ({name})", ms(bot.quantile(q)),
                    ms(echo.quantile(q)), f"{bot.quantile(q) / max(echo.quantile(q), 1e-9):.1f}×",
                ))  # fmt: skip
            print(f"sms on {name} …", flush=True)
            found = sms.run(url, args.sms)
            ours, bare = found["bot"], found["baseline"]
            rows.append((
                f"SMS STATUS/s, {args.sms} queries ({name})", f"{ours.per_second:.0f}",
                f"{bare.per_second:.0f} (bare aiohttp)", f"{ours.per_second / bare.per_second:.0%}",
            ))  # fmt: skip
            rows.append((
                f"SMS p99 ({name})", ms(ours.quantile(0.99)), ms(bare.quantile(0.99)),
                f"{ours.quantile(0.99) / max(bare.quantile(0.99), 1e-9):.1f}×",
            ))  # fmt: skip
        print("broadcast …", flush=True)
        sent = broadcast.run(engines["SQLite"].replace("bench.db", "broadcast.db"), args.broadcast)
        rows.append((
            f"broadcast msg/s, {sent['recipients']} recipients (emulator: 30/s, 1/s per chat)",
            f"{sent['rate']:.1f}", f"{sent['configured']:.0f} (configured)",
            f"{sent['rate'] / sent['configured']:.0%}",
        ))  # fmt: skip
        rows.append((
            "broadcast delivered exactly once / 429s", f"{sent['delivered_once']}",
            f"{sent['recipients']}", f"{sent['rate_limited']} × 429",
        ))  # fmt: skip
        print("memory …", flush=True)
        used = memory.run(args.memory)
        rows.append((
            f"RSS with {used['size']:,} conversations and citizens", f"{used['full_mb']:.0f} MB",
            f"{used['empty_mb']:.0f} MB (empty database)",
            f"+{used['full_mb'] - used['empty_mb']:.0f} MB",
        ))  # fmt: skip

    header = ("measure", "bot", "baseline", "ratio")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [
        " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in [header, *rows]
    ]
    print("\n".join(lines))
    machine = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} CPUs · Python "
        f"{platform.python_version()} · {platform.machine()}"
    )
    table = ["| " + " | ".join(header) + " |", "|---|---|---|---|"]
    table += ["| " + " | ".join(row) + " |" for row in rows]
    RESULTS.write_text(
        "# Benchmark results\n\n"
        f"`uv run python -m bench {' '.join(argv if argv is not None else sys.argv[1:])}`"
        f" — {machine}\n\n" + "\n".join(table) + "\n",
        encoding="utf-8",
    )
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
