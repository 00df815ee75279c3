"""The command line: clear one-line failures, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value", "mentions"),
    [
        ("DATABASE_URL", "nonsense://", "DATABASE_URL"),
        ("HTTP_PORT", "eighty", "HTTP_PORT"),
        ("STAFF_TELEGRAM_IDS", "12,abc", "STAFF_TELEGRAM_IDS"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("TELEGRAM_API_BASE_URL", "api.telegram.org", "TELEGRAM_API_BASE_URL"),
    ],
)
def test_bad_setting_gives_one_line_and_exit_2(
    tmp_path: Path, name: str, value: str, mentions: str
) -> None:
    result = run_cli("serve", env={name: value}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert mentions in lines[0]
    assert "Traceback" not in result.stderr


def test_serve_without_token_points_to_console(tmp_path: Path) -> None:
    result = run_cli("serve", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "azerishiq-bot: TELEGRAM_BOT_TOKEN is not set. To try the bot without a token, "
        "run: azerishiq-bot console"
    ]


def test_settings_come_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=mysql://nope\n", encoding="utf-8")
    result = run_cli("migrate", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr


def test_migrate_creates_the_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/sub/bot.db"
    result = run_cli("migrate", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sub" / "bot.db").exists()
    again = run_cli("migrate", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_version_and_help(tmp_path: Path) -> None:
    version = run_cli("--version", env={}, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("azerishiq-bot ")
    helped = run_cli("--help", env={}, cwd=tmp_path)
    assert helped.returncode == 0
    for command in ("serve", "console", "migrate"):
        assert command in helped.stdout
