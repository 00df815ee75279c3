"""Indexes for the lookups by phone that answer every SMS: applications, acts, subscribers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 17:00:00+00:00

Without them an SMS "STATUS" or "AKT" read whole tables.
Frozen: it must not import application code.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_applications_phone_e164", "applications", "phone_e164"),
    ("ix_violation_acts_consumer_phone_e164", "violation_acts", "consumer_phone_e164"),
    ("ix_subscribers_phone_e164", "subscribers", "phone_e164"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
