"""Start-up: how long ``azerishiq-bot console`` takes, warm, to its banner and its first answer.

Each round starts ``python -m bot.cli console`` in a fresh process with ``/start`` already on its
standard input (as ``printf '/start\\n' | uv run azerishiq-bot console`` does), and reads the clock
at spawn, at the banner line and at the first ``bot>`` line. Warm: the database is migrated and
the bytecode compiled by a first round that is not counted. Baselines, in turns with the bot:
``python -c pass`` (the interpreter alone) for the banner, and a bare import of the libraries
any bot on this stack loads (python-telegram-bot, SQLAlchemy's asyncio, aiohttp's server) for
the first answer. Each side's best round is reported.

``--before REV`` measures that git revision too, in the same command and in turns with this
checkout (exported with ``git archive``; same interpreter and libraries): before and after.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BANNER = "Azərişıq bot console"
BARE_IMPORTS = "import telegram.ext, sqlalchemy.ext.asyncio, aiohttp.web"
TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class Startup:
    banner: float  # seconds from spawn to the banner line
    answer: float  # seconds from spawn to the first line of the bot's answer


def _env(source: Path, folder: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(
        PYTHONPATH=str(source),
        DATABASE_URL=f"sqlite+aiosqlite:///{folder}/startup.db",
        PYTHONDONTWRITEBYTECODE="",  # warm means compiled: let it write __pycache__
    )
    return env


def console_round(source: Path, folder: str) -> Startup:
    """One console start, ``/start`` typed at once; the process ends at end of input."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(source, folder),
        cwd=folder,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("/start\n")
    process.stdin.flush()
    banner = answer = None
    deadline = began + TIMEOUT
    try:
        for line in process.stdout:
            moment = time.perf_counter() - began
            if banner is None and line.startswith(BANNER):
                banner = moment
            if line.startswith("bot> "):
                answer = moment
                break
            if time.perf_counter() > deadline:
                break
    finally:
        process.stdin.close()
        process.stdout.close()
        process.wait(timeout=TIMEOUT)
    if banner is None or answer is None:
        raise RuntimeError(f"the console at {source} printed no banner or no answer")
    return Startup(banner, answer)


def python_round(code: str) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": ""})
    return time.perf_counter() - began


@dataclass(frozen=True, slots=True)
class Measured:
    banner: float
    answer: float
    interpreter: float  # python -c pass
    bare: float  # the bare library imports


def run(rounds: int = 5, sources: Sequence[Path] = (ROOT,)) -> list[Measured]:
    """Each source's best round; the sources and the baselines take turns in every round."""
    with tempfile.TemporaryDirectory() as folder:
        folders = [Path(folder) / str(index) for index, _ in enumerate(sources)]
        for source, place in zip(sources, folders, strict=True):
            place.mkdir()
            console_round(source, str(place))  # warm: migrations, bytecode, the file cache
        python_round(BARE_IMPORTS)
        consoles: list[list[Startup]] = [[] for _ in sources]
        interpreters, bares = [], []
        for _ in range(rounds):
            for index, (source, place) in enumerate(zip(sources, folders, strict=True)):
                consoles[index].append(console_round(source, str(place)))
            interpreters.append(python_round("pass"))
            bares.append(python_round(BARE_IMPORTS))
    return [
        Measured(
            banner=min(c.banner for c in found),
            answer=min(c.answer for c in found),
            interpreter=min(interpreters),
            bare=min(bares),
        )
        for found in consoles
    ]


def export(revision: str, folder: Path) -> Path:
    """The tree of ``revision`` of this repository, written under ``folder``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def rows(found: Measured, label: str = "") -> list[tuple[str, str, str, str]]:
    """Rows for the bench table: what, ours, baseline, ratio."""
    suffix = f" ({label})" if label else ""
    return [
        (
            f"console start → banner, warm{suffix}",
            f"{found.banner:.2f} s",
            f"{found.interpreter:.2f} s (python -c pass)",
            f"{found.banner / found.interpreter:.1f}×",
        ),
        (
            f"console start → first answer to /start, warm{suffix}",
            f"{found.answer:.2f} s",
            f"{found.bare:.2f} s (import PTB + SQLAlchemy + aiohttp)",
            f"{found.answer / found.bare:.1f}×",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", metavar="REV", help="git revision to measure as well")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        sources, labels = [ROOT], ["this checkout"]
        if args.before:
            sources.insert(0, export(args.before, Path(folder)))
            labels.insert(0, args.before)
        for label, found in zip(labels, run(args.rounds, sources), strict=True):
            for row in rows(found, label=label):
                print(" | ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
