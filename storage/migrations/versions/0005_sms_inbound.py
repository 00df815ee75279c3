"""sms_inbound: the command each message asked for, the limit mark, and the per-phone index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:00:00+00:00

Plain ADD COLUMN with constant defaults: no table copy on SQLite.
Frozen: it must not import application code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sms_inbound", sa.Column("command", sa.String(length=16), nullable=True))
    op.add_column(
        "sms_inbound",
        sa.Column("limited", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index(
        "ix_sms_inbound_from_phone_received_at", "sms_inbound", ["from_phone", "received_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_sms_inbound_from_phone_received_at", table_name="sms_inbound")
    op.drop_column("sms_inbound", "limited")
    op.drop_column("sms_inbound", "command")
