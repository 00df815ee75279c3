"""Run uv, installing it first if this machine has none: ``python3 tools/uvw.py run …``.

The README's commands must work on a machine with only Python and pip. Plain ``pip install uv``
is refused where the system Python is externally managed (PEP 668: Debian 12, Ubuntu 23.04 and
later), and so is ``pip install --user``; ``python3 -m venv`` is not always installed either.
So, like Gradle's ``gradlew``, this wrapper uses the uv it finds (on PATH, or as a module of this
Python), else installs a pinned uv with pip into ``tools/.uv`` inside the project (``--target``:
no system change, no sudo) and runs it from there. uv then builds ``.venv`` by itself (no
``venv`` or ``ensurepip`` needed), with the Python that ran this script.

Nothing here imports the project; the arguments go to uv unchanged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: The uv installed when none is found (the one the lock file and CI are tested with).
UV_VERSION = "0.13.9"
PROJECT = Path(__file__).resolve().parent.parent
LOCAL = PROJECT / "tools" / ".uv"
EXE = ".exe" if os.name == "nt" else ""


def say(message: str) -> None:
    print(f"tools/uvw.py: {message}", file=sys.stderr, flush=True)


def local_uv() -> Path:
    return LOCAL / "bin" / f"uv{EXE}"


def found_uv() -> str | None:
    """uv on PATH, uv installed as a module of this Python, or the one installed here before."""
    on_path = shutil.which("uv")
    if on_path:
        return on_path
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    return str(local_uv()) if local_uv().is_file() else None


def install_uv() -> str:
    """``pip install --target tools/.uv uv==…``: the PEP 668 check does not apply to a target
    folder, and uv's own launcher looks for its binary in ``<target>/bin``."""
    say(f"no uv found; installing uv {UV_VERSION} into {LOCAL.relative_to(PROJECT)} with pip")
    LOCAL.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".uv-", dir=LOCAL.parent))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-warn-script-location", "--target", str(staging), f"uv=={UV_VERSION}",
    ]  # fmt: skip
    env = {**os.environ, "PIP_ROOT_USER_ACTION": "ignore", "PIP_REQUIRE_VIRTUALENV": "0"}
    try:
        result = subprocess.run(command, env=env, check=False)
        if result.returncode != 0:
            say(
                f"pip could not install uv (exit {result.returncode}). Install uv yourself "
                "(https://docs.astral.sh/uv/getting-started/installation/) and run this again."
            )
            raise SystemExit(result.returncode or 1)
        if not local_uv().is_file():  # else another run of this script was quicker
            shutil.rmtree(LOCAL, ignore_errors=True)  # a half-finished earlier attempt
            try:
                staging.rename(LOCAL)  # whole or not at all
            except OSError:
                if not local_uv().is_file():
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(local_uv())


def uv_environment() -> dict[str, str]:
    """uv's settings that depend on this machine, unless the caller chose them."""
    env = dict(os.environ)
    fresh = not (PROJECT / ".venv").exists()
    if "UV_PYTHON" not in env and fresh and sys.version_info >= (3, 11):
        # A new .venv gets the Python that ran this script; an older one is left to uv, which
        # finds (or downloads) a Python the project accepts.
        env["UV_PYTHON"] = sys.executable
    if "UV_NATIVE_TLS" not in env:
        # Trust what the system trusts, as pip does (a corporate proxy's root, for one).
        env.setdefault("UV_SYSTEM_CERTS", "1")
    home = Path(env.get("HOME") or "~").expanduser()
    if not os.access(home, os.W_OK):  # no writable HOME: keep uv's cache inside the project
        env.setdefault("UV_CACHE_DIR", str(LOCAL.parent / ".uv-cache"))
        env.setdefault("UV_PYTHON_INSTALL_DIR", str(LOCAL.parent / ".uv-python"))
    return env


def main(argv: list[str]) -> int:
    uv = found_uv() or install_uv()
    env = uv_environment()
    if os.name == "nt":  # no exec on Windows
        return subprocess.run([uv, *argv], env=env, check=False).returncode
    os.execve(uv, [uv, *argv], env)  # uv takes over: its exit code, signals and terminal
    return 0  # pragma: no cover - not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
