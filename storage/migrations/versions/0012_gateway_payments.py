"""gateway_payments: payments reported by the payment gateway's callback

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:00:00+00:00

One row per payment id of the gateway (unique), so that a replayed callback records nothing
twice. Frozen: it must not import application code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "gateway_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_payments")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_gateway_payments_payment_id")),
    )


def downgrade() -> None:
    op.drop_table("gateway_payments")
