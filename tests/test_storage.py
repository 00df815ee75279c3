"""Engine, types, models and migrations, on the engine selected by TEST_DATABASE_URL."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, func, inspect, select, text, update
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.acts import ActStatus
from storage.db import (
    UTCDateTime,
    create_engine,
    database_is_reachable,
    make_session_factory,
    normalize_database_url,
    utcnow,
)
from storage.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from storage.models import (
    ActObjection,
    Application,
    ApplicationStatusChange,
    Base,
    Broadcast,
    BroadcastRecipient,
    Channel,
    Citizen,
    Locale,
    OutboxMessage,
    OutboxStatus,
    Priority,
    SubscriberLink,
    ViolationAct,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
BAKU = timezone(timedelta(hours=4))


def make_citizen(**overrides: object) -> Citizen:
    values: dict[str, object] = {
        "telegram_user_id": 7_000_000_001,
        "telegram_chat_id": 7_000_000_001,
    }
    values.update(overrides)
    return Citizen(**values)


def make_application(citizen_id: int, **overrides: object) -> Application:
    values: dict[str, object] = {
        "number": "QM-2026-000123",
        "citizen_id": citizen_id,
        "status": "submitted",
        "first_name": "Əli",
        "last_name": "Məmmədov",
        "patronymic": "Hüseyn oğlu",
        "fin": "5ABCD7Z",
        "id_card": "AA1234567",
        "phone_e164": "+994501234567",
        "email": "ali@example.az",
        "execution_period": "standard",
        "phase": 3,
        "requested_power_kw": Decimal("15.5"),
        "object_type": "house",
        "has_general_conditions": None,
        "district": "Xaçmaz",
        "regional_unit": "Xaçmaz RES",
        "registry_number": "1234567890",
        "registration_number": "R-1",
        "latitude": 41.4635,
        "longitude": 48.8060,
        "distance_m": 120,
        "power_centre": "PS-35/10 Xaçmaz",
        "fee_amount": Decimal("1234.56"),
        "fee_rule_set": "tariff-2026",
        "quote": {"total": "1234.56", "lines": [{"name": "əsas", "amount": "1234.56"}]},
        "submit_key": "submit-1",
    }
    values.update(overrides)
    return Application(**values)


def make_act(**overrides: object) -> ViolationAct:
    values: dict[str, object] = {
        "number": "AKT-2026-1",
        "subscriber_code": "123456789012345",
        "address": "Bakı, Nizami küç. 1",
        "district": "Nəsimi",
        "consumer_phone_e164": "+994551112233",
        "detected_on": date(2026, 2, 10),
        "last_inspection_on": date(2025, 8, 1),
        "account_opened_on": None,
        "violation_type": "meter_bypass",
        "loads": [{"device": "kondisioner", "kw": "2.5"}],
        "signed": True,
        "inspectors": ["A. Quliyev", "R. Əliyeva"],
        "rule_set": "eeiq-5.11-2026",
        "amount": Decimal("9999999999.99"),
        "calculation": {"days": 180, "kwh": "10800"},
        "issued_on": date(2026, 2, 11),
        "due_on": date(2026, 3, 13),
    }
    values.update(overrides)
    return ViolationAct(**values)


# --------------------------------------------------------------------------- round trips


async def test_round_trip_keeps_aware_utc_datetimes_and_decimals(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    submitted = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=BAKU)
    async with session_factory.begin() as session:
        citizen = make_citizen(locale=Locale.RU, blocked_at=submitted)
        session.add(citizen)
        await session.flush()
        session.add(make_application(citizen.id, status_changed_at=submitted))

    async with session_factory() as session:
        got = await session.get(Citizen, citizen.id)
        application = await session.scalar(select(Application))
    assert got is not None and application is not None
    assert got.telegram_user_id == 7_000_000_001  # beyond 32 bits
    assert got.locale == "ru"
    assert got.blocked_at == submitted
    assert got.blocked_at is not None and got.blocked_at.tzinfo is UTC
    assert got.blocked_at.hour == 8  # 12:30 in Baku is 08:30 UTC
    assert got.created_at.tzinfo is UTC
    assert abs(got.created_at - utcnow()) < timedelta(minutes=1)
    # defaults
    assert (got.phone_verified, got.notify_telegram, got.notify_sms, got.notify_email) == (
        False,
        True,
        True,
        True,
    )
    assert (got.broadcasts_enabled, got.sms_opted_out, got.blocked) == (True, False, False)
    # application
    assert application.status_changed_at == submitted
    assert application.status_changed_at.tzinfo is UTC
    assert application.requested_power_kw == Decimal("15.5")
    assert isinstance(application.requested_power_kw, Decimal)
    assert application.fee_amount == Decimal("1234.56")
    assert isinstance(application.fee_amount, Decimal)
    assert application.quote["lines"][0]["name"] == "əsas"
    assert application.first_name == "Əli"
    assert application.has_general_conditions is None
    assert application.latitude == pytest.approx(41.4635)


async def test_round_trip_act_dates_json_and_money(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    paid_at = datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)
    async with session_factory.begin() as session:
        act = make_act(paid_amount=Decimal("0.01"), paid_at=paid_at)
        session.add(act)
    async with session_factory() as session:
        got = await session.get(ViolationAct, act.id)
    assert got is not None
    assert got.detected_on == date(2026, 2, 10)
    assert got.account_opened_on is None
    assert got.amount == Decimal("9999999999.99")
    assert got.paid_amount == Decimal("0.01")
    assert got.paid_at == paid_at
    assert got.loads == [{"device": "kondisioner", "kw": "2.5"}]
    assert got.inspectors == ["A. Quliyev", "R. Əliyeva"]
    assert got.status == ActStatus.OPEN


async def test_updated_at_moves_on_update(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    old = datetime(2020, 1, 1, tzinfo=UTC)
    async with session_factory.begin() as session:
        citizen = make_citizen(created_at=old, updated_at=old)
        session.add(citizen)
    async with session_factory.begin() as session:
        await session.execute(update(Citizen).values(district="Quba"))
    async with session_factory() as session:
        got = await session.get(Citizen, citizen.id)
    assert got is not None
    assert got.created_at == old
    assert got.updated_at > old


async def test_server_defaults_fill_rows_inserted_with_plain_sql(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO citizens (telegram_user_id) VALUES (42)"))
    factory = make_session_factory(engine)
    async with factory() as session:
        got = await session.scalar(select(Citizen).where(Citizen.telegram_user_id == 42))
    assert got is not None
    assert got.locale == Locale.AZ
    assert (got.phone_verified, got.notify_sms, got.blocked) == (False, True, False)
    assert got.created_at.tzinfo is UTC
    assert abs(got.created_at - utcnow()) < timedelta(minutes=1)


async def test_datetime_comparisons_in_sql_are_chronological(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    async with session_factory.begin() as session:
        for number, delta in enumerate((-90, -1, 1, 90)):
            session.add(
                OutboxMessage(
                    channel=Channel.TELEGRAM,
                    recipient="12345",
                    payload={"text": f"#{number}"},
                    idempotency_key=f"k{number}",
                    # mixed offsets on the way in; the database compares instants
                    next_attempt_at=(now + timedelta(seconds=delta)).astimezone(BAKU),
                )
            )
    async with session_factory() as session:
        due = (
            await session.scalars(
                select(OutboxMessage.idempotency_key)
                .where(OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at)
            )
        ).all()
    assert due == ["k0", "k1"]


async def test_outbox_and_broadcast_rows(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory.begin() as session:
        citizen = make_citizen()
        broadcast = Broadcast(
            created_by=9_000_000_000,
            staff_chat_id=9_000_000_000,
            audience={"district": "Quba"},
            channels=["telegram", "sms"],
            texts={"az": "Salam", "ru": "Привет"},
        )
        session.add_all([citizen, broadcast])
        await session.flush()
        message = OutboxMessage(
            channel=Channel.SMS,
            recipient="+994501234567",
            citizen_id=citizen.id,
            priority=Priority.BULK,
            payload={"text": "Salam"},
            idempotency_key=f"broadcast:{broadcast.id}:{citizen.id}:sms",
            broadcast_id=broadcast.id,
        )
        session.add(message)
        await session.flush()
        session.add(
            BroadcastRecipient(
                broadcast_id=broadcast.id,
                citizen_id=citizen.id,
                channel=Channel.SMS,
                outbox_id=message.id,
            )
        )
    async with session_factory() as session:
        got = await session.get(OutboxMessage, message.id)
        saved = await session.get(Broadcast, broadcast.id)
    assert got is not None and saved is not None
    assert (got.status, got.attempts, got.priority) == (OutboxStatus.PENDING, 0, 20)
    assert got.next_attempt_at.tzinfo is UTC
    assert saved.status == "draft" and saved.total == 0
    assert saved.texts["ru"] == "Привет"

    async with session_factory() as session:
        session.add(
            BroadcastRecipient(
                broadcast_id=broadcast.id, citizen_id=citizen.id, channel=Channel.SMS
            )
        )
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_naive_datetimes_are_rejected(session: AsyncSession) -> None:
    session.add(make_citizen(blocked_at=datetime(2026, 1, 1, 12, 0)))
    with pytest.raises(StatementError, match="naive datetime"):
        await session.flush()


def test_utc_datetime_type_directly() -> None:
    kind = UTCDateTime()
    sqlite, postgresql = SQLiteDialect(), PGDialect()  # type: ignore[no-untyped-call]
    aware = datetime(2026, 1, 1, 16, 0, tzinfo=BAKU)
    assert kind.process_bind_param(aware, sqlite) == datetime(2026, 1, 1, 12, 0)
    assert kind.process_bind_param(aware, postgresql) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert kind.process_result_value(datetime(2026, 1, 1, 12, 0), sqlite) == datetime(
        2026, 1, 1, 12, 0, tzinfo=UTC
    )
    assert kind.process_bind_param(None, sqlite) is None
    assert utcnow().tzinfo is UTC


# --------------------------------------------------------------------------- constraints


async def test_verified_phone_is_unique_but_unverified_may_repeat(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    phone = "+994501234567"
    async with session_factory.begin() as session:
        session.add_all(
            [
                make_citizen(telegram_user_id=1, phone_e164=phone),
                make_citizen(telegram_user_id=2, phone_e164=phone),
                make_citizen(telegram_user_id=3, phone_e164=phone, phone_verified=True),
            ]
        )
    async with session_factory() as session:
        session.add(make_citizen(telegram_user_id=4, phone_e164=phone, phone_verified=True))
        with pytest.raises(IntegrityError):
            await session.commit()
    async with session_factory() as session:
        # a different verified phone is fine
        session.add(
            make_citizen(telegram_user_id=5, phone_e164="+994551234567", phone_verified=True)
        )
        await session.commit()


async def test_telegram_user_id_is_unique(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory.begin() as session:
        session.add(make_citizen(telegram_user_id=1))
    async with session_factory() as session:
        session.add(make_citizen(telegram_user_id=1))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_submit_key_makes_submission_idempotent(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory.begin() as session:
        citizen = make_citizen()
        session.add(citizen)
        await session.flush()
        session.add(make_application(citizen.id))
    async with session_factory() as session:
        session.add(make_application(citizen.id, number="QM-2026-000124"))
        with pytest.raises(IntegrityError):
            await session.commit()


@pytest.mark.parametrize(
    ("table", "column", "bad"),
    [
        ("citizens", "locale", "de"),
        ("outbox", "channel", "pigeon"),
        ("outbox", "status", "lost"),
        ("violation_acts", "status", "forgotten"),
        ("broadcasts", "status", "maybe"),
        ("applications", "object_type", "castle"),
    ],
)
async def test_check_constraints_reject_unknown_values(
    session_factory: async_sessionmaker[AsyncSession], table: str, column: str, bad: str
) -> None:
    async with session_factory.begin() as session:
        citizen = make_citizen()
        broadcast = Broadcast(
            created_by=1, staff_chat_id=1, audience={}, channels=["telegram"], texts={}
        )
        act = make_act()
        session.add_all([citizen, broadcast, act])
        await session.flush()
        application = make_application(citizen.id)
        message = OutboxMessage(channel="telegram", recipient="1", payload={}, idempotency_key="k")
        session.add_all([application, message])
    row_ids = {
        "citizens": citizen.id,
        "outbox": message.id,
        "violation_acts": act.id,
        "broadcasts": broadcast.id,
        "applications": application.id,
    }
    async with session_factory() as session:
        with pytest.raises(IntegrityError):
            await session.execute(
                text(f"UPDATE {table} SET {column} = :bad WHERE id = :id"),
                {"bad": bad, "id": row_ids[table]},
            )
            await session.commit()


async def test_foreign_keys_are_enforced(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        session.add(make_application(citizen_id=999))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_cascades(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory.begin() as session:
        citizen = make_citizen()
        session.add(citizen)
        await session.flush()
        application = make_application(citizen.id)
        session.add_all(
            [
                application,
                SubscriberLink(citizen_id=citizen.id, subscriber_code="123456789012345"),
            ]
        )
        await session.flush()
        session.add(
            ApplicationStatusChange(
                application_id=application.id, to_status="submitted", actor="citizen"
            )
        )
    async with session_factory.begin() as session:
        await session.execute(text("DELETE FROM applications"))
        await session.execute(text("DELETE FROM citizens"))
    async with session_factory() as session:
        assert (await session.scalars(select(ApplicationStatusChange))).all() == []
        assert (await session.scalars(select(SubscriberLink))).all() == []


async def test_act_objection_round_trip(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory.begin() as session:
        citizen = make_citizen()
        act = make_act()
        session.add_all([citizen, act])
        await session.flush()
        objection = ActObjection(
            act_id=act.id, citizen_id=citizen.id, receipt_number="ETR-1", text="Razı deyiləm"
        )
        session.add(objection)
    async with session_factory() as session:
        got = await session.get(ActObjection, objection.id)
    assert got is not None
    assert got.photo_file_ids == []
    assert got.text == "Razı deyiləm"


# --------------------------------------------------------------------------- engine


@pytest.mark.parametrize("run", [1, 2])
async def test_engine_fixture_gives_empty_tables_and_ids_from_1(
    session_factory: async_sessionmaker[AsyncSession], run: int
) -> None:
    async with session_factory() as session:
        for model in Base.metadata.sorted_tables:
            assert (await session.execute(select(func.count()).select_from(model))).scalar() == 0
    async with session_factory.begin() as session:
        citizen = make_citizen()
        message = OutboxMessage(channel="sms", recipient="+1", payload={}, idempotency_key="k")
        session.add_all([citizen, message])
    assert (citizen.id, message.id) == (1, 1)


async def test_sqlite_pragmas(engine: AsyncEngine, dialect_name: str) -> None:
    if dialect_name != "sqlite":
        pytest.skip("SQLite only")
    async with engine.connect() as connection:
        values = {
            name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert values == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


async def test_create_engine_creates_the_sqlite_folder(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "bot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        assert path.parent.is_dir()
        assert await database_is_reachable(engine)
    finally:
        await engine.dispose()
    assert path.exists()


async def test_database_is_reachable(engine: AsyncEngine) -> None:
    assert await database_is_reachable(engine) is True


async def test_database_is_not_reachable_on_a_closed_port() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    try:
        assert await database_is_reachable(engine, timeout_seconds=2) is False
    finally:
        await engine.dispose()


async def test_database_is_not_reachable_when_it_times_out() -> None:
    # A non-routable address: the connection attempt hangs (or fails) and must not exceed the
    # timeout.
    engine = create_engine("postgresql+asyncpg://postgres@10.255.255.1:5432/nothing")
    try:
        started = utcnow()
        assert await database_is_reachable(engine, timeout_seconds=0.3) is False
        assert utcnow() - started < timedelta(seconds=3)
    finally:
        await engine.dispose()


def test_normalize_database_url() -> None:
    assert normalize_database_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_database_url("sqlite:///data/bot.db") == "sqlite+aiosqlite:///data/bot.db"
    assert normalize_database_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalize_database_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"


# --------------------------------------------------------------------------- migrations


def _compare(connection: Connection, metadata: MetaData) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "target_metadata": metadata}
    )
    return list(compare_metadata(context, metadata))


async def test_migration_creates_exactly_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        differences = await connection.run_sync(_compare, Base.metadata)
    assert differences == []


async def test_the_comparison_would_notice_a_difference(engine: AsyncEngine) -> None:
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["citizens"].append_column(Column("shoe_size", Integer))
    async with engine.connect() as connection:
        differences = await connection.run_sync(_compare, metadata)
    assert [d[0] for d in differences if isinstance(d, tuple)] == ["add_column"]


def _constraints_and_indexes(connection: Connection) -> dict[str, tuple[set[str], set[str]]]:
    inspector = inspect(connection)
    result = {}
    for table in Base.metadata.tables:
        checks = {c["name"] for c in inspector.get_check_constraints(table) if c["name"]}
        indexes = {
            f"{i['name']}{'!' if i['unique'] else ''}"
            for i in inspector.get_indexes(table)
            if not i.get("duplicates_constraint")
        }
        result[table] = (checks, indexes)
    return result


async def test_migration_check_constraints_and_indexes_match_the_models(
    engine: AsyncEngine,
) -> None:
    """What autogenerate does not compare: CHECK constraint names, index names/uniqueness."""
    expected = {}
    for table in Base.metadata.tables.values():
        checks = {
            str(c.name)
            for c in table.constraints
            if c.__class__.__name__ == "CheckConstraint" and c.name
        }
        indexes = {f"{i.name}{'!' if i.unique else ''}" for i in table.indexes}
        expected[table.name] = (checks, indexes)
    async with engine.connect() as connection:
        actual = await connection.run_sync(_constraints_and_indexes)
    assert actual == expected


async def test_partial_index_condition_is_in_the_database(
    engine: AsyncEngine, dialect_name: str
) -> None:
    async with engine.connect() as connection:
        if dialect_name == "sqlite":
            sql = (
                await connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'uq_citizens_verified_phone'"
                )
            ).scalar()
        else:
            sql = (
                await connection.exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_citizens_verified_phone'"
                )
            ).scalar()
    assert sql is not None
    assert "UNIQUE" in sql and sql.rstrip().endswith("WHERE phone_verified")


async def test_upgrade_twice_is_a_no_op(database_url: str, engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO citizens (telegram_user_id) VALUES (1)"))
    assert await current_revision(database_url) == head_revision()
    await upgrade_to_head(database_url)
    await upgrade_to_head(database_url)
    assert await current_revision(database_url) == head_revision()
    async with engine.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM citizens"))).scalar()
    assert count == 1


def _downgrade_to_base(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_from_empty_then_downgrade_then_upgrade(fresh_database_url: str) -> None:
    assert await current_revision(fresh_database_url) is None
    await upgrade_to_head(fresh_database_url)
    assert await current_revision(fresh_database_url) == head_revision() == "0013"
    engine = create_engine(fresh_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) == {
                *Base.metadata.tables,
                "alembic_version",
            }
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_base)
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) <= {"alembic_version"}
    finally:
        await engine.dispose()
    await upgrade_to_head(fresh_database_url)
    assert await current_revision(fresh_database_url) == head_revision()


async def test_upgrade_leaves_logging_alone(fresh_database_url: str) -> None:
    root = logging.getLogger()
    app_logger = logging.getLogger("azerishiq.test")
    handlers, level = list(root.handlers), root.level
    await upgrade_to_head(fresh_database_url)
    assert root.handlers == handlers
    assert root.level == level
    assert app_logger.disabled is False


def test_migrations_folder_is_resolved_from_the_package() -> None:
    assert MIGRATIONS_DIR == REPO_ROOT / "storage" / "migrations"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert alembic_config().get_main_option("script_location") == str(MIGRATIONS_DIR)


def test_alembic_command_line_sees_no_pending_changes(database_url: str, tmp_path: Path) -> None:
    """``alembic check`` through alembic.ini (from another folder): models == migrations."""
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(REPO_ROOT / "alembic.ini"), "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


async def test_two_people_proving_one_number_at_once_do_not_collide(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The latest proof wins, and concurrent proofs are serialised (no unique-index error)."""
    from storage import citizens

    async with session_factory.begin() as session:
        for user in (1, 2, 3):
            await citizens.register_telegram_user(
                session, telegram_user_id=user, chat_id=user, locale="az"
            )

    async def prove(user: int) -> None:
        async with session_factory.begin() as session:
            citizen = await citizens.by_telegram_user(session, user)
            assert citizen is not None
            await citizens.remember_verified_phone(session, citizen, "+994501234567")

    await asyncio.gather(*(prove(user) for user in (1, 2, 3, 1, 2, 3)))
    async with session_factory() as session:
        holders = (
            (
                await session.execute(
                    select(Citizen.telegram_user_id).where(
                        Citizen.phone_e164 == "+994501234567", Citizen.phone_verified
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(holders) == 1
