"""telegram_budget: the overall Telegram send budget that the bot's processes share

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:00:00+00:00

One row per bot (a token bucket and a flood-wait pause); used on PostgreSQL only, where serve
and workers send side by side. Created on SQLite too, so both schemas stay the same.
Frozen: it must not import application code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_budget",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("stamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", name=op.f("pk_telegram_budget")),
    )


def downgrade() -> None:
    op.drop_table("telegram_budget")
