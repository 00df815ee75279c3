"""Run the Alembic migrations from code (``azerishiq-bot migrate`` and every start-up).

The Alembic :class:`~alembic.config.Config` is built here, without ``alembic.ini``, with
``script_location`` resolved from this file, so it works from any working directory and from an
installed wheel. Logging is left exactly as the application configured it.

Every start-up calls :func:`upgrade_to_head`, and nearly always the database is already there.
Importing Alembic (with Mako and Pygments behind it) is then a tenth of a second spent for
nothing, so the heads are first read from the revision files themselves (their ``revision`` and
``down_revision`` lines, with :mod:`ast`, never executed) and compared with the database's
``alembic_version``; Alembic is imported only when they differ or the files cannot be read.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.db import create_engine

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "shipped_heads",
    "upgrade_to_head",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"


def alembic_config() -> Config:
    """An Alembic config pointing at ``storage/migrations`` (no ini file, no logging setup)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str | None:
    """The newest revision shipped with the code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _assignments(tree: ast.Module) -> dict[str, ast.expr]:
    """Top-level ``name = value`` and ``name: type = value`` of a module."""
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        targets: list[ast.expr]
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                found[target.id] = value
    return found


def _declared(path: Path) -> tuple[str, set[str]]:
    """A revision file's ``revision`` and its ``down_revision`` ids, read without running it."""
    values = _assignments(ast.parse(path.read_text(encoding="utf-8")))
    revision = ast.literal_eval(values["revision"]) if "revision" in values else None
    down = ast.literal_eval(values["down_revision"]) if "down_revision" in values else None
    if not isinstance(revision, str):
        raise ValueError(f"{path.name}: no literal revision id")
    if down is None:
        return revision, set()
    if isinstance(down, str):
        return revision, {down}
    if isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        return revision, set(down)
    raise ValueError(f"{path.name}: down_revision is not a literal id")


def shipped_heads(folder: Path = VERSIONS_DIR) -> frozenset[str] | None:
    """The revisions no other revision file revises; None if a file cannot be read so."""
    revisions: set[str] = set()
    revised: set[str] = set()
    try:
        for path in folder.glob("*.py"):
            revision, parents = _declared(path)
            revisions.add(revision)
            revised |= parents
    except (OSError, SyntaxError, ValueError):
        return None
    return frozenset(revisions - revised) or None


def _stored_revisions(connection: Connection) -> frozenset[str]:
    if not connection.dialect.has_table(connection, "alembic_version"):
        return frozenset()  # never migrated
    rows = connection.execute(text("SELECT version_num FROM alembic_version"))
    return frozenset(str(row[0]) for row in rows)


def _upgrade(connection: Connection, heads: frozenset[str] | None) -> None:
    if heads is not None and _stored_revisions(connection) == heads:
        return  # already at head: Alembic would do nothing, so it is not even imported
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_to_head(url: str) -> None:
    """Bring the database at ``url`` to the newest revision; a no-op when already there."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, shipped_heads())
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at (``None`` when never migrated)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current)
    finally:
        await engine.dispose()
