"""Start-up does only what the first answer needs (the figures are in bench/startup.py).

- the console's banner comes before the bot's libraries are imported;
- a database already at head is recognised without importing Alembic (and Mako, Pygments);
  anything else still goes through Alembic.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from storage.db import create_engine
from storage.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    shipped_heads,
    upgrade_to_head,
)
from tests.harness import ROOT

HEAVY = ("telegram", "sqlalchemy", "aiohttp", "alembic", "babel")


def imported_after(code: str) -> list[str]:
    """Which of the heavy libraries a fresh interpreter has loaded after running ``code``."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=True,
    )
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_command_line_and_the_console_load_no_bot_library_before_the_banner() -> None:
    assert imported_after("import bot.cli, bot.console") == []


def test_the_heads_read_from_the_revision_files_are_alembics() -> None:
    assert shipped_heads() == frozenset({head_revision()})


def test_a_revision_file_that_is_not_plain_literals_sends_us_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (tmp_path / "0002_b.py").write_text('revision: str = "0002"\ndown_revision = "0001"\n')
    assert shipped_heads(tmp_path) == frozenset({"0002"})
    (tmp_path / "0003_c.py").write_text('revision = make_id()\ndown_revision = "0002"\n')
    assert shipped_heads(tmp_path) is None


def test_a_database_at_head_is_checked_without_importing_alembic(database_url: str) -> None:
    code = (
        "import asyncio\nfrom storage.migrate import upgrade_to_head\n"
        f"asyncio.run(upgrade_to_head({database_url!r}))"
    )
    assert "alembic" not in imported_after(code)


def _one_step_down(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "-1")


async def test_a_database_one_revision_behind_is_brought_to_head(fresh_database_url: str) -> None:
    await upgrade_to_head(fresh_database_url)
    engine = create_engine(fresh_database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_one_step_down)
    finally:
        await engine.dispose()
    assert await current_revision(fresh_database_url) != head_revision()
    await upgrade_to_head(fresh_database_url)
    assert await current_revision(fresh_database_url) == head_revision()
