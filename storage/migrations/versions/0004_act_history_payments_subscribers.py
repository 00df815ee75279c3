"""acts: status history, payments, and the subscriber directory (code → phone on file)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:00:00+00:00

New tables only, so no existing table is copied on SQLite.
Frozen: it must not import application code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def _ts(name: str, *, default_now: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=NOW if default_now else None,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "act_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("act_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _ts("changed_at", default_now=True),
        sa.ForeignKeyConstraint(
            ["act_id"],
            ["violation_acts.id"],
            name=op.f("fk_act_status_changes_act_id_violation_acts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_act_status_changes")),
    )
    op.create_index("ix_act_status_changes_act_id", "act_status_changes", ["act_id"])
    op.create_table(
        "act_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("act_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        _ts("paid_at"),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        _ts("created_at", default_now=True),
        sa.ForeignKeyConstraint(
            ["act_id"],
            ["violation_acts.id"],
            name=op.f("fk_act_payments_act_id_violation_acts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_act_payments")),
        sa.UniqueConstraint("act_id", "reference", name=op.f("uq_act_payments_act_id_reference")),
    )
    op.create_table(
        "subscribers",
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=True),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("district", sa.String(length=100), nullable=True),
        _ts("updated_at", default_now=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_subscribers")),
    )


def downgrade() -> None:
    op.drop_table("subscribers")
    op.drop_table("act_payments")
    op.drop_index("ix_act_status_changes_act_id", table_name="act_status_changes")
    op.drop_table("act_status_changes")
