"""The README's first command, as written, on a fresh copy with the system Python.

Run the way a newcomer runs it: the interpreter ``python3`` finds on ``PATH=/usr/bin:/bin``
(on Debian 12 that Python is externally managed, so a plain ``pip install uv`` is refused), an
empty HOME, no uv anywhere, no ``.venv``. Needs PyPI (uv and the locked dependencies are
downloaded into the empty HOME's cache).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import ROOT

SYSTEM_PATH = "/usr/bin:/bin"
#: What a fresh checkout has not: the environment, local data and settings, caches, a uv.
AT_THE_TOP = frozenset({".git", ".venv", ".env", "data"})
ANYWHERE = shutil.ignore_patterns(
    "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".uv", ".uv-*"
)
#: The caller's settings that would point uv, Python or the bot elsewhere.
FOREIGN = ("UV_", "VIRTUAL_ENV", "PYTHON", "XDG_", "TELEGRAM_", "DATABASE_", "CONDA")


def readme_commands() -> list[str]:
    """The command lines of the README's "The two commands" block."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## The two commands.*?```sh\n(.*?)```", readme, re.DOTALL)
    assert block, "README: no command block under 'The two commands'"
    lines = [line.strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def not_in_a_checkout(folder: str, names: list[str]) -> set[str]:
    top = AT_THE_TOP.intersection(names) if Path(folder) == ROOT else set()
    return set(top) | set(ANYWHERE(folder, names))


def system_python() -> str:
    python = shutil.which("python3", path=SYSTEM_PATH)
    if python is None:
        pytest.skip(f"no python3 on {SYSTEM_PATH}")
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info >= (3, 11))"],
        capture_output=True,
        text=True,
        check=True,
    )
    if version.stdout.strip() != "True":
        pytest.skip(f"{python} is older than 3.11")
    return python


def test_the_readme_has_two_one_line_commands_and_ci_runs_the_second() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[1] == "bash .ci/run"
    assert "uv" not in commands[1]  # the gate bootstraps uv the same way as the first command
    assert "tools/uvw.py" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.timeout(900)
def test_the_first_command_runs_the_console_with_the_system_python(tmp_path: Path) -> None:
    python = system_python()
    externally_managed = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    project, home = tmp_path / "azerishiq-bot", tmp_path / "home"
    shutil.copytree(ROOT, project, ignore=not_in_a_checkout)
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    env.update(HOME=str(home), PATH=SYSTEM_PATH)
    assert shutil.which("uv", path=SYSTEM_PATH) is None, "this test needs a PATH without uv"

    result = subprocess.run(
        ["sh", "-c", readme_commands()[0]],
        input="/start\n",
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )

    report = f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == 0, report
    assert "Xoş gəlmisiniz" in result.stdout, report
    assert "externally-managed-environment" not in result.stderr, report
    assert (project / "tools" / ".uv" / "bin" / "uv").is_file(), "uv was not installed locally"
    venv_python = (project / ".venv" / "pyvenv.cfg").read_text(encoding="utf-8")
    assert f"home = {Path(python).parent}" in venv_python, venv_python
    if (Path(externally_managed) / "EXTERNALLY-MANAGED").exists():
        print(f"{python} is externally managed (PEP 668); the command still worked")
