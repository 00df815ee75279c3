"""The database names code above ``storage`` may use: sessions, engines and errors.

Layer rule (pyproject.toml, ``lint-imports``): no package but ``storage`` imports SQLAlchemy.
Sessions and engines still travel through the layers, in type hints and as the unit of a
transaction, so ``storage`` lends out their names here; queries stay in ``storage``'s functions.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

__all__ = [
    "AsyncConnection",
    "AsyncEngine",
    "AsyncSession",
    "IntegrityError",
    "SQLAlchemyError",
    "async_sessionmaker",
]
