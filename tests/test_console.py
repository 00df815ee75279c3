"""The console: the README's demo command, scripted through standard input."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console import run_console
from tests.harness import ROOT, settings_for


async def test_start_shows_the_greeting_and_numbered_buttons(engine: AsyncEngine) -> None:
    script = io.StringIO("/start\n1\n7\n:location 40.4 49.8\n:location nowhere\n")
    out = io.StringIO()
    settings = settings_for(engine.url.render_as_string(hide_password=False))
    await run_console(
        settings, user_id=42, first_name="Aysel", language_code="az", stdin=script, out=out
    )
    transcript = out.getvalue()
    assert "you> /start" in transcript
    assert "bot> Xoş gəlmisiniz!" in transcript
    assert "menu: [1] Azərbaycanca  [2] Русский  [3] English" in transcript
    assert "[4] Qoşulma müraciəti  [5] Haqqı hesabla" in transcript
    assert "bot> Azərbaycanca ✓" in transcript  # 1 = Azərbaycanca
    assert "menu: [1] Qoşulma müraciəti  [2] Haqqı hesabla" in transcript  # the row is gone
    assert "bot> Bu botda nələr edə bilərsiniz:" in transcript  # 7 = Kömək
    assert "usage: :location LAT LON" in transcript


def test_the_readme_command_runs_the_console(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/demo.db")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console"],
        input="/start\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "bot> Xoş gəlmisiniz!" in result.stdout
    assert "Qoşulma müraciəti" in result.stdout
    assert "Traceback" not in result.stderr
