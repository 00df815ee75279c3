"""removed_phones: numbers a citizen removed from their confirmed numbers (issue 18)

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-03 16:00:00+00:00

A number the citizen removed in «Nömrələrim» is not offered again (for a subscriber code)
until they prove it anew; proving it deletes the row.
Frozen: it must not import application code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "removed_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column(
            "removed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_removed_phones_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_removed_phones")),
        sa.UniqueConstraint(
            "citizen_id", "phone_e164", name=op.f("uq_removed_phones_citizen_id_phone_e164")
        ),
    )


def downgrade() -> None:
    op.drop_table("removed_phones")
