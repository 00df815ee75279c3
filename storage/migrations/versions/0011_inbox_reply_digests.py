"""inbox_updates.reply_digests: what the replies to an update said, for a replay

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 12:00:00+00:00

A replay held back the first ``replies_sent`` replies; a step that committed part of its work
before its last reply could take another way when it ran again, and the count then swallowed a
reply the citizen never saw. The replay now holds back only replies whose digest is here.
Rows pending across the upgrade have no digests: they run again as if nothing was sent.
Frozen: it must not import application code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_updates") as batch:
        batch.add_column(
            sa.Column("reply_digests", sa.Text(), server_default=sa.text("''"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_updates") as batch:
        batch.drop_column("reply_digests")
