"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:30:00+00:00

Hand-checked against storage/models.py (tests/test_storage.py compares the upgraded database with
the models on SQLite and PostgreSQL, including CHECK constraints and the partial unique index).
Frozen: it must not import application code.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    """``json`` on SQLite, ``jsonb`` on PostgreSQL."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _bigint_pk() -> sa.types.TypeEngine[int]:
    """BIGINT on PostgreSQL; INTEGER on SQLite (the rowid alias that autoincrements)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = False, default_now: bool = False) -> sa.Column[Any]:
    """A UTC timestamp column, optionally ``DEFAULT CURRENT_TIMESTAMP``."""
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("CURRENT_TIMESTAMP") if default_now else None,
        nullable=nullable,
    )


def _flag(name: str, default: bool) -> sa.Column[Any]:
    return sa.Column(
        name, sa.Boolean(), server_default=sa.text("true" if default else "false"), nullable=False
    )


def upgrade() -> None:
    # ------------------------------------------------------------------ citizens
    op.create_table(
        "citizens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("locale", sa.String(length=2), server_default="az", nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=True),
        _flag("phone_verified", False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("district", sa.String(length=100), nullable=True),
        _flag("notify_telegram", True),
        _flag("notify_sms", True),
        _flag("notify_email", True),
        _flag("broadcasts_enabled", True),
        _flag("sms_opted_out", False),
        _flag("blocked", False),
        _ts("blocked_at", nullable=True),
        _ts("created_at", default_now=True),
        _ts("updated_at", default_now=True),
        sa.CheckConstraint("locale IN ('az', 'ru', 'en')", name=op.f("ck_citizens_locale")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizens")),
        sa.UniqueConstraint("telegram_user_id", name=op.f("uq_citizens_telegram_user_id")),
    )
    op.create_index(
        "uq_citizens_verified_phone",
        "citizens",
        ["phone_e164"],
        unique=True,
        sqlite_where=sa.text("phone_verified"),
        postgresql_where=sa.text("phone_verified"),
    )

    op.create_table(
        "subscriber_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_code", sa.String(length=15), nullable=False),
        _ts("linked_at", default_now=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_subscriber_links_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriber_links")),
        sa.UniqueConstraint(
            "citizen_id",
            "subscriber_code",
            name=op.f("uq_subscriber_links_citizen_id_subscriber_code"),
        ),
    )
    op.create_index("ix_subscriber_links_subscriber_code", "subscriber_links", ["subscriber_code"])

    op.create_table(
        "phone_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        _ts("expires_at"),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _ts("resend_after"),
        _ts("verified_at", nullable=True),
        _ts("created_at", default_now=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_verifications")),
    )
    op.create_index(
        "ix_phone_verifications_telegram_user_id", "phone_verifications", ["telegram_user_id"]
    )
    op.create_index("ix_phone_verifications_phone_e164", "phone_verifications", ["phone_e164"])

    # ------------------------------------------------------------------ applications
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("patronymic", sa.String(length=100), nullable=True),
        sa.Column("fin", sa.String(length=7), nullable=False),
        sa.Column("id_card", sa.String(length=20), nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("execution_period", sa.String(length=32), nullable=True),
        sa.Column("phase", sa.SmallInteger(), nullable=False),
        sa.Column("requested_power_kw", sa.Numeric(precision=8, scale=1), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("has_general_conditions", sa.Boolean(), nullable=True),
        sa.Column("district", sa.String(length=100), nullable=False),
        sa.Column("regional_unit", sa.String(length=100), nullable=True),
        sa.Column("registry_number", sa.String(length=64), nullable=True),
        sa.Column("registration_number", sa.String(length=64), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Integer(), nullable=True),
        sa.Column("power_centre", sa.String(length=100), nullable=True),
        sa.Column("fee_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("fee_rule_set", sa.String(length=32), nullable=False),
        sa.Column("quote", _json(), nullable=False),
        sa.Column("submit_key", sa.String(length=64), nullable=False),
        _ts("created_at", default_now=True),
        _ts("updated_at", default_now=True),
        _ts("status_changed_at", default_now=True),
        sa.CheckConstraint(
            "object_type IN ('house', 'apartment')", name=op.f("ck_applications_object_type")
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_applications_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("number", name=op.f("uq_applications_number")),
        sa.UniqueConstraint("submit_key", name=op.f("uq_applications_submit_key")),
    )
    op.create_index("ix_applications_status", "applications", ["status"])
    op.create_index("ix_applications_district", "applications", ["district"])
    op.create_index("ix_applications_citizen_id", "applications", ["citizen_id"])

    op.create_table(
        "application_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _ts("changed_at", default_now=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_status_changes_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_status_changes")),
    )
    op.create_index(
        "ix_application_status_changes_application_id",
        "application_status_changes",
        ["application_id"],
    )

    # ------------------------------------------------------------------ violation acts
    op.create_table(
        "violation_acts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("subscriber_code", sa.String(length=15), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("district", sa.String(length=100), nullable=False),
        sa.Column("consumer_phone_e164", sa.String(length=16), nullable=True),
        sa.Column("detected_on", sa.Date(), nullable=False),
        sa.Column("last_inspection_on", sa.Date(), nullable=True),
        sa.Column("account_opened_on", sa.Date(), nullable=True),
        sa.Column("violation_type", sa.String(length=32), nullable=False),
        sa.Column("loads", _json(), nullable=False),
        sa.Column("signed", sa.Boolean(), nullable=False),
        sa.Column("inspectors", _json(), nullable=False),
        sa.Column("rule_set", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("calculation", _json(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("paid_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        _ts("paid_at", nullable=True),
        _ts("created_at", default_now=True),
        _ts("updated_at", default_now=True),
        sa.CheckConstraint(
            "status IN ('open', 'paid', 'disconnected', 'court', 'cancelled')",
            name=op.f("ck_violation_acts_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violation_acts")),
        sa.UniqueConstraint("number", name=op.f("uq_violation_acts_number")),
    )
    op.create_index("ix_violation_acts_subscriber_code", "violation_acts", ["subscriber_code"])
    op.create_index("ix_violation_acts_status", "violation_acts", ["status"])
    op.create_index("ix_violation_acts_due_on", "violation_acts", ["due_on"])

    op.create_table(
        "act_objections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("act_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("receipt_number", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo_file_ids", _json(), nullable=False),
        _ts("created_at", default_now=True),
        sa.ForeignKeyConstraint(
            ["act_id"], ["violation_acts.id"], name=op.f("fk_act_objections_act_id_violation_acts")
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_act_objections_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_act_objections")),
        sa.UniqueConstraint("receipt_number", name=op.f("uq_act_objections_receipt_number")),
    )
    op.create_index("ix_act_objections_act_id", "act_objections", ["act_id"])
    op.create_index("ix_act_objections_citizen_id", "act_objections", ["citizen_id"])

    # ------------------------------------------------------------------ delivery
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("staff_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("audience", _json(), nullable=False),
        sa.Column("channels", _json(), nullable=False),
        sa.Column("texts", _json(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        _ts("scheduled_at", nullable=True),
        sa.Column("total", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _ts("created_at", default_now=True),
        _ts("finished_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')",
            name=op.f("ck_broadcasts_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index("ix_broadcasts_status_scheduled_at", "broadcasts", ["status", "scheduled_at"])

    op.create_table(
        "outbox",
        sa.Column("id", _bigint_pk(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.SmallInteger(), server_default=sa.text("10"), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _ts("next_attempt_at", default_now=True),
        _ts("claimed_until", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        _ts("created_at", default_now=True),
        _ts("sent_at", nullable=True),
        sa.CheckConstraint(
            "channel IN ('telegram', 'sms', 'email')", name=op.f("ck_outbox_channel")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')",
            name=op.f("ck_outbox_status"),
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_outbox_citizen_id_citizens"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_outbox_broadcast_id_broadcasts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index("ix_outbox_claim", "outbox", ["status", "priority", "next_attempt_at"])
    op.create_index("ix_outbox_broadcast_id_status", "outbox", ["broadcast_id", "status"])

    op.create_table(
        "broadcast_recipients",
        sa.Column("id", _bigint_pk(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_recipients_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_broadcast_recipients_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_broadcast_recipients_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_recipients")),
        sa.UniqueConstraint(
            "broadcast_id",
            "citizen_id",
            "channel",
            name=op.f("uq_broadcast_recipients_broadcast_id_citizen_id_channel"),
        ),
    )

    op.create_table(
        "sms_inbound",
        sa.Column("id", _bigint_pk(), nullable=False),
        sa.Column("provider_message_id", sa.String(length=128), nullable=False),
        sa.Column("from_phone", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _ts("received_at", default_now=True),
        _ts("handled_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_inbound")),
        sa.UniqueConstraint("provider_message_id", name=op.f("uq_sms_inbound_provider_message_id")),
    )

    # ------------------------------------------------------------------ python-telegram-bot
    op.create_table(
        "ptb_user_data",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", _json(), nullable=False),
        _ts("updated_at", default_now=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_ptb_user_data")),
    )
    op.create_table(
        "ptb_chat_data",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", _json(), nullable=False),
        _ts("updated_at", default_now=True),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_ptb_chat_data")),
    )
    op.create_table(
        "ptb_bot_data",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", _json(), nullable=False),
        _ts("updated_at", default_now=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_ptb_bot_data_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ptb_bot_data")),
    )
    op.create_table(
        "ptb_callback_data",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", _json(), nullable=False),
        _ts("updated_at", default_now=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_ptb_callback_data_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ptb_callback_data")),
    )
    op.create_table(
        "ptb_conversations",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("state", _json(), nullable=False),
        _ts("updated_at", default_now=True),
        sa.PrimaryKeyConstraint("name", "key", name=op.f("pk_ptb_conversations")),
    )


def downgrade() -> None:
    # Reverse dependency order; indexes go with their tables.
    for table in (
        "ptb_conversations",
        "ptb_callback_data",
        "ptb_bot_data",
        "ptb_chat_data",
        "ptb_user_data",
        "sms_inbound",
        "broadcast_recipients",
        "outbox",
        "broadcasts",
        "act_objections",
        "violation_acts",
        "application_status_changes",
        "applications",
        "phone_verifications",
        "subscriber_links",
        "citizens",
    ):
        op.drop_table(table)
