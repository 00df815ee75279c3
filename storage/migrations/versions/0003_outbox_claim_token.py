"""outbox claim token: a dispatcher marks a row only while it still holds the claim

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 12:00:00+00:00

A claim whose lease ran out can be taken over by another dispatcher; the token makes the first
one's late "sent" update miss instead of overwriting the new claimer's state.
Frozen: it must not import application code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claim_token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): no table copy, so rows that
    # reference the outbox keep their links.
    op.drop_column("outbox", "claim_token")
