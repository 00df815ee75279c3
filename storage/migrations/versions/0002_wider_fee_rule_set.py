"""wider fee_rule_set: a quote may name a base rule set and a discount overlay

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:00:00+00:00

"tariff-council-4-2024+liberated-territories-2026" does not fit in 32 characters.
Frozen: it must not import application code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.alter_column(
            "fee_rule_set",
            existing_type=sa.String(length=32),
            type_=sa.String(length=128),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.alter_column(
            "fee_rule_set",
            existing_type=sa.String(length=128),
            type_=sa.String(length=32),
            existing_nullable=False,
        )
