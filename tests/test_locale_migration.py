"""Migration 0008: the chosen language moves from ptb_user_data to citizens (both engines)."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.migrate import alembic_config
from storage.models import Citizen, PtbUserData

DRAFT = {"state": 5, "first_name": "Aysel"}
#: More than one chunk of the migration (5,000 rows), half of them without a citizen row.
MANY = 5_003
FIRST_OF_MANY = 1_000


def _to(revision: str, *, down: bool = False) -> Any:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    return run


async def _seed(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO citizens (telegram_user_id, telegram_chat_id, locale) "
                "VALUES (1, 1, 'az'), (6, 6, 'ru'), (4, 4, 'az')"
            )
        )
        rows: list[dict[str, Any]] = [
            {"user_id": 1, "data": {"locale": "ru"}},
            {"user_id": 2, "data": {"locale": "en-GB", "connection_draft": DRAFT}},
            {"user_id": 3, "data": {}},
            {"user_id": 4, "data": {"fee_calculator": {"phase": 1}}},
            {"user_id": 5, "data": {"locale": "xx"}},
        ]
        rows += [{"user_id": FIRST_OF_MANY + n, "data": {"locale": "en"}} for n in range(MANY)]
        await connection.execute(insert(PtbUserData), rows)
        await connection.execute(
            text(
                "INSERT INTO citizens (telegram_user_id, telegram_chat_id) VALUES (:uid, :uid)"
            ).bindparams(bindparam("uid")),
            [{"uid": FIRST_OF_MANY + n} for n in range(0, MANY, 2)],
        )


async def test_locales_move_to_citizens_and_user_data_keeps_dialogues_only(
    fresh_database_url: str,
) -> None:
    engine = create_engine(fresh_database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to("0006"))
        await _seed(engine)
        async with engine.begin() as connection:
            await connection.run_sync(_to("0008"))

        async with engine.connect() as connection:
            locales = dict(
                (await connection.execute(select(Citizen.telegram_user_id, Citizen.locale))).all()
            )
            chats = dict(
                (
                    await connection.execute(
                        select(Citizen.telegram_user_id, Citizen.telegram_chat_id)
                    )
                ).all()
            )
            left: dict[int, Any] = dict(
                (await connection.execute(select(PtbUserData.user_id, PtbUserData.data))).all()
            )
        assert {uid: locales[uid] for uid in (1, 2, 4, 6)} == {
            1: "ru",
            2: "en",
            4: "az",
            6: "ru",
        }
        assert chats[2] == 2  # created: the private chat's id is the user's
        assert 3 not in locales and 5 not in locales
        assert [locales[FIRST_OF_MANY + n] for n in range(MANY)] == ["en"] * MANY
        assert left == {2: {"connection_draft": DRAFT}, 4: {"fee_calculator": {"phase": 1}}}

        async with engine.begin() as connection:
            await connection.run_sync(_to("0006", down=True))
        async with engine.connect() as connection:
            restored: dict[int, Any] = dict(
                (await connection.execute(select(PtbUserData.user_id, PtbUserData.data))).all()
            )
        assert restored[1] == {"locale": "ru"}
        assert restored[2] == {"locale": "en", "connection_draft": DRAFT}
        assert restored[4] == {"locale": "az", "fee_calculator": {"phase": 1}}
        assert len(restored) == 4 + MANY
    finally:
        await engine.dispose()
