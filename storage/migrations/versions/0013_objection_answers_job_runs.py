"""act_objections' answers and the staff reminder; job_runs for daily jobs caught up once

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03 15:00:00+00:00

An objection is answered once (outcome, text, when, by whom); ``staff_reminded_at`` makes the
reminder before its answer date go out once. ``job_runs`` holds one row per daily job and Baku
day it ran for, so a day missed while no process ran is caught up on the next run, and only once.
Frozen: it must not import application code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("act_objections") as batch:
        batch.add_column(sa.Column("outcome", sa.String(16), nullable=True))
        batch.add_column(sa.Column("answer", sa.Text(), nullable=True))
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("answered_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("staff_reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint(
            op.f("ck_act_objections_outcome"), "outcome IN ('upheld', 'partly_upheld', 'rejected')"
        )
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "ran_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("job", "day", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    with op.batch_alter_table("act_objections") as batch:
        batch.drop_constraint(op.f("ck_act_objections_outcome"), type_="check")
        for column in ("staff_reminded_at", "answered_by", "answered_at", "answer", "outcome"):
            batch.drop_column(column)
