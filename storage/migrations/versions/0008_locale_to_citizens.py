"""The chosen language moves from python-telegram-bot's user_data to citizens.locale

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 09:00:00+00:00

Data only, no schema change. The bot loads every ``ptb_user_data`` row at start-up and keeps
it in memory, so that table must hold live dialogue state only. Each row's ``"locale"`` is
written to its citizen (created if missing, as choosing a language always did), then removed
from the row; rows left empty are deleted. Downgrade puts every Telegram citizen's language
back into ``user_data``.
Frozen: it must not import application code.
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCALE_KEY = "locale"
LOCALES = ("az", "ru", "en")
CHUNK = 5000

user_data = sa.table(
    "ptb_user_data",
    sa.column("user_id", sa.BigInteger()),
    sa.column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
)
citizens = sa.table(
    "citizens",
    sa.column("id", sa.Integer()),
    sa.column("telegram_user_id", sa.BigInteger()),
    sa.column("telegram_chat_id", sa.BigInteger()),
    sa.column("locale", sa.String(2)),
)


def _normalised(code: object) -> str | None:
    if not isinstance(code, str) or not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LOCALES else None


def _chunks(connection: sa.Connection, query: Any, key: Any) -> Iterator[Sequence[Any]]:
    """Rows of ``query`` in ``key`` order, CHUNK at a time (keyset, not OFFSET)."""
    last: int | None = None
    while True:
        page = query if last is None else query.where(key > last)
        rows = connection.execute(page.order_by(key).limit(CHUNK)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def upgrade() -> None:
    connection = op.get_bind()
    query = sa.select(user_data.c.user_id, user_data.c.data)
    for rows in _chunks(connection, query, user_data.c.user_id):
        chosen: dict[int, str] = {}
        stripped: list[dict[str, Any]] = []
        emptied: list[dict[str, Any]] = []
        for user_id, data in rows:
            if not isinstance(data, dict):
                continue
            if LOCALE_KEY in data:
                locale = _normalised(data[LOCALE_KEY])
                if locale is not None:
                    chosen[user_id] = locale
                data = {key: value for key, value in data.items() if key != LOCALE_KEY}
                (stripped if data else emptied).append({"uid": user_id, "new_data": data})
            elif not data:
                emptied.append({"uid": user_id})
        _save_locales(connection, chosen)
        if stripped:
            connection.execute(
                user_data.update()
                .where(user_data.c.user_id == sa.bindparam("uid"))
                .values(data=sa.bindparam("new_data", type_=user_data.c.data.type)),
                stripped,
            )
        if emptied:
            connection.execute(
                user_data.delete().where(user_data.c.user_id == sa.bindparam("uid")),
                [{"uid": row["uid"]} for row in emptied],
            )


def _save_locales(connection: sa.Connection, chosen: dict[int, str]) -> None:
    if not chosen:
        return
    known = set(
        connection.execute(
            sa.select(citizens.c.telegram_user_id).where(
                citizens.c.telegram_user_id.in_(list(chosen))
            )
        ).scalars()
    )
    updates = [{"uid": uid, "new_locale": loc} for uid, loc in chosen.items() if uid in known]
    if updates:
        connection.execute(
            citizens.update()
            .where(citizens.c.telegram_user_id == sa.bindparam("uid"))
            .values(locale=sa.bindparam("new_locale")),
            updates,
        )
    # In a private chat the chat id is the user id; the bot refreshes it on their next write.
    missing = [
        {"telegram_user_id": uid, "telegram_chat_id": uid, "locale": loc}
        for uid, loc in chosen.items()
        if uid not in known
    ]
    if missing:
        connection.execute(citizens.insert(), missing)


def downgrade() -> None:
    connection = op.get_bind()
    query = sa.select(citizens.c.id, citizens.c.telegram_user_id, citizens.c.locale).where(
        citizens.c.telegram_user_id.is_not(None)
    )
    for rows in _chunks(connection, query, citizens.c.id):
        locales = {user_id: locale for _, user_id, locale in rows}
        stored = dict(
            connection.execute(
                sa.select(user_data.c.user_id, user_data.c.data).where(
                    user_data.c.user_id.in_(list(locales))
                )
            ).all()
        )
        merged = [
            {"uid": uid, "new_data": {**stored[uid], LOCALE_KEY: loc}}
            for uid, loc in locales.items()
            if isinstance(stored.get(uid), dict)
        ]
        if merged:
            connection.execute(
                user_data.update()
                .where(user_data.c.user_id == sa.bindparam("uid"))
                .values(data=sa.bindparam("new_data", type_=user_data.c.data.type)),
                merged,
            )
        added = [
            {"user_id": uid, "data": {LOCALE_KEY: loc}}
            for uid, loc in locales.items()
            if uid not in stored
        ]
        if added:
            connection.execute(user_data.insert(), added)
