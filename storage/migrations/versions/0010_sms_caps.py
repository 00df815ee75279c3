"""phone_verifications: decoy rows and a created_at index, for the SMS caps

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09 12:00:00+00:00

The caps against SMS pumping are counted from phone_verifications: ``sms_sent`` tells codes
really sent (they use the day's budget) from decoys (the acts dialogue's answer for a number not
on file: counted for the account and the number, no SMS); the index serves the day's count.
Frozen: it must not import application code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("phone_verifications") as batch:
        batch.add_column(
            sa.Column("sms_sent", sa.Boolean(), server_default=sa.text("true"), nullable=False)
        )
    op.create_index("ix_phone_verifications_created_at", "phone_verifications", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_phone_verifications_created_at", table_name="phone_verifications")
    with op.batch_alter_table("phone_verifications") as batch:
        batch.drop_column("sms_sent")
