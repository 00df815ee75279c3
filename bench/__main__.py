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
from typing import Any

from bench import broadcast, burst, memory, sms, startup, updates

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SCRATCH = "azerishiq_bench"


async def scratch_postgres(url: str, name: str = SCRATCH) -> str | None:
    """A fresh empty database beside ``url``'s, or None when PostgreSQL does not answer."""
    import asyncpg  # the production driver; only needed here

    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        connection = await asyncpg.connect(plain, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    return url.rsplit("/", 1)[0] + "/" + name


async def drop_postgres(url: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await connection.close()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


Row = tuple[str, str, str, str]  # what, ours, baseline, ratio
SECTIONS = ("startup", "updates", "sms", "broadcast", "burst", "memory")


def updates_rows(engines: dict[str, str], citizens: int) -> list[Row]:
    rows: list[Row] = []
    for name, url in engines.items():
        print(f"updates on {name} …", flush=True)
        found = updates.run(url, citizens)
        bot, echo = found["bot"], found["echo"]
        rows.append((
            f"updates/s, {citizens} connection requests ({name})",
            f"{bot.per_second:.1f}", f"{echo.per_second:.1f} (echo bot)",
            f"{bot.per_second / echo.per_second:.0%}",
        ))  # fmt: skip
        for q in (0.5, 0.99):
            rows.append((
                f"p{int(q * 100)} latency ({name})", ms(bot.quantile(q)),
                ms(echo.quantile(q)), f"{bot.quantile(q) / max(echo.quantile(q), 1e-9):.1f}×",
            ))  # fmt: skip
    return rows


def sms_rows(engines: dict[str, str], count: int) -> list[Row]:
    rows: list[Row] = []
    for name, url in engines.items():
        print(f"sms on {name} …", flush=True)
        found = sms.run(url, count)
        ours, bare = found["bot"], found["baseline"]
        rows.append((
            f"SMS STATUS/s, {count} queries ({name})", f"{ours.per_second:.0f}",
            f"{bare.per_second:.0f} (bare aiohttp)", f"{ours.per_second / bare.per_second:.0%}",
        ))  # fmt: skip
        rows.append((
            f"SMS p99 ({name})", ms(ours.quantile(0.99)), ms(bare.quantile(0.99)),
            f"{ours.quantile(0.99) / max(bare.quantile(0.99), 1e-9):.1f}×",
        ))  # fmt: skip
    return rows


def broadcast_rows(folder: str, recipients: int) -> list[Row]:
    print("broadcast …", flush=True)
    sent = broadcast.run(f"sqlite+aiosqlite:///{folder}/broadcast.db", recipients)
    return [
        (
            f"broadcast msg/s, {sent['recipients']} recipients (emulator: 30/s, 1/s per chat)",
            f"{sent['rate']:.1f}", f"{sent['configured']:.0f} (configured)",
            f"{sent['rate'] / sent['configured']:.0%}",
        ),
        (
            "broadcast delivered exactly once / 429s", f"{sent['delivered_once']}",
            f"{sent['recipients']}", f"{sent['rate_limited']} × 429",
        ),
    ]  # fmt: skip


def burst_rows(folder: str, citizens: int) -> list[Row]:
    print("launch burst …", flush=True)
    hit = burst.run(f"sqlite+aiosqlite:///{folder}/burst.db", citizens)
    return [
        (
            f"first answer p99, {hit['citizens']} /start in 1 s (emulator: 30/s, 1/s per chat)",
            f"{hit['p99']:.1f} s", f"{hit['floor']:.1f} s (the floor at 30/s)",
            f"{hit['p99'] / hit['floor']:.1f}×",
        ),
        (
            f"launch burst: Bot API sends / 429s ({hit['messages']} message(s) per /start)",
            f"{hit['sends']}", "—", f"{hit['share_429']:.1%} × 429",
        ),
    ]  # fmt: skip


def memory_rows(folder: str, postgres: str | None, citizens: int, live: float) -> list[Row]:
    engines: dict[str, dict[str, str]] = {
        "SQLite": {
            "empty": f"sqlite+aiosqlite:///{folder}/memory-empty.db",
            "full": f"sqlite+aiosqlite:///{folder}/memory-full.db",
        }
    }
    rows: list[Row] = []
    if postgres:
        empty = asyncio.run(scratch_postgres(postgres, SCRATCH + "_empty"))
        full = asyncio.run(scratch_postgres(postgres, SCRATCH + "_full"))
        if empty and full:
            engines["PostgreSQL"] = {"empty": empty, "full": full}
    if "PostgreSQL" not in engines:
        rows.append(("PostgreSQL (memory)", f"not reachable at {postgres}", "—", "—"))
    try:
        for name, urls in engines.items():
            print(f"memory on {name} …", flush=True)
            rows += memory_figures(name, memory.run(urls, citizens, live))
    finally:
        if "PostgreSQL" in engines and postgres:
            for suffix in ("_empty", "_full"):
                asyncio.run(drop_postgres(postgres, SCRATCH + suffix))
    return rows


def memory_figures(engine: str, found: dict[str, Any]) -> list[Row]:
    full, empty = found["full"], found["empty"]
    who = f"{found['citizens']:,} citizens, {found['live']:,} mid-dialogue"

    def limit(value: float, bound: float, unit: str) -> str:
        return f"≤ {bound:.0f} {unit}: {'met' if value <= bound else 'MISSED'}"

    return [
        (
            f"start-up to first getUpdates, {who} ({engine})",
            f"{full['seconds']:.2f} s", f"{empty['seconds']:.2f} s (empty database)",
            f"{full['seconds'] / empty['seconds']:.2f}× · "
            + limit(full["seconds"], memory.STARTUP_LIMIT_S, "s"),
        ),
        (
            f"RSS at first getUpdates ({engine})", f"{full['rss_mb']:.0f} MB",
            f"{empty['rss_mb']:.0f} MB (empty database)",
            f"{full['rss_mb'] / empty['rss_mb']:.2f}× · "
            + limit(full["rss_mb"], memory.RSS_LIMIT_MB, "MB"),
        ),
        (
            f"peak RSS (VmHWM) 1 s after it ({engine})", f"{full['peak_mb']:.0f} MB",
            f"{empty['peak_mb']:.0f} MB (empty database)",
            f"{full['peak_mb'] / empty['peak_mb']:.2f}× · "
            + limit(full["peak_mb"], memory.RSS_LIMIT_MB, "MB"),
        ),
        (
            f"a citizen mid-dialogue answered after start-up ({engine})",
            "yes" if found["resumed"] else "NO", "—",
            f"database filled in {found['seed_seconds']:.0f} s",
        ),
    ]  # fmt: skip


def table(rows: list[Row]) -> list[str]:
    lines = ["| measure | bot | baseline | ratio |", "|---|---|---|---|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def kept_sections(text: str) -> dict[str, str]:
    """The sections of an earlier RESULTS.md (``## name`` to the next one), by name."""
    found: dict[str, str] = {}
    for part in text.split("\n## ")[1:]:
        name, _, _ = part.partition("\n")
        found[name.strip()] = "## " + part.rstrip() + "\n"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--citizens", type=int, default=30, help="concurrent connection requests")
    parser.add_argument("--sms", type=int, default=2000, help="SMS STATUS queries")
    parser.add_argument("--broadcast", type=int, default=750, help="broadcast recipients")
    parser.add_argument("--burst", type=int, default=300, help="new citizens pressing /start")
    parser.add_argument(
        "--memory", type=int, default=1_000_000, help="citizens in the memory/start-up database"
    )
    parser.add_argument(
        "--live", type=float, default=1.0, help="percent of them mid-dialogue (memory)"
    )
    parser.add_argument(
        "--only", action="append", choices=SECTIONS,
        help="run these measures only (repeatable); the other sections of RESULTS.md are kept",
    )  # fmt: skip
    parser.add_argument("--startups", type=int, default=5, help="console starts measured")
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES))
    args = parser.parse_args(argv)
    chosen = args.only or list(SECTIONS)

    sections: dict[str, list[Row]] = {}
    with tempfile.TemporaryDirectory() as folder:
        engines = {"SQLite": f"sqlite+aiosqlite:///{folder}/bench.db"}
        postgres_reachable = False
        if {"updates", "sms"} & set(chosen):
            postgres = asyncio.run(scratch_postgres(args.postgres))
            if postgres:
                engines["PostgreSQL"] = postgres
                postgres_reachable = True
        missing: list[Row] = []
        if {"updates", "sms"} & set(chosen) and not postgres_reachable:
            missing = [("PostgreSQL", "not reachable at " + args.postgres, "—", "—")]
        if "updates" in chosen:
            sections["updates"] = missing + updates_rows(engines, args.citizens)
        if "sms" in chosen:
            sections["sms"] = sms_rows(engines, args.sms)
        if "broadcast" in chosen:
            sections["broadcast"] = broadcast_rows(folder, args.broadcast)
        if "startup" in chosen:
            print("console start-up …", flush=True)
            sections["startup"] = list(startup.rows(startup.run(args.startups)[0]))
        if "burst" in chosen:
            sections["burst"] = burst_rows(folder, args.burst)
        if "memory" in chosen:
            sections["memory"] = memory_rows(folder, args.postgres, args.memory, args.live)

    rows = [row for name in SECTIONS for row in sections.get(name, [])]
    header: Row = ("measure", "bot", "baseline", "ratio")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print(
        "\n".join(" | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) for r in [header, *rows])
    )

    machine = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} CPUs · Python "
        f"{platform.python_version()} · {platform.machine()}"
    )
    command = "uv run python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    earlier = kept_sections(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    parts = ["# Benchmark results\n"]
    for name in SECTIONS:
        if name in sections:
            body = "\n".join([f"`{command.strip()}` — {machine}", "", *table(sections[name])])
            parts.append(f"## {name}\n\n{body}\n")
        elif name in earlier:
            parts.append(earlier[name])
    RESULTS.write_text("\n".join(parts), encoding="utf-8")
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
