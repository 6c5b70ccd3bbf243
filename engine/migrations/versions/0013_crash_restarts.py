"""compute_crash_restarts: in-place restarts of guests that crash on a healthy host

One row per compute that crashed under a restart policy: the restarts tried
in the current series, when it began, and when the next restart is due (the
exponential back-off), so that a server restart resumes the schedule.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compute_crash_restarts",
        sa.Column("compute_id", sa.String(length=36), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("crashes", sa.Integer(), nullable=False),
        sa.Column("first_crash", UTCDateTime(), nullable=False),
        sa.Column("last_crash", UTCDateTime(), nullable=False),
        sa.Column("next_attempt", UTCDateTime(), nullable=True),
        sa.Column("gave_up", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["compute_id"], ["computes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("compute_id"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_index(
        "ix_compute_crash_restarts_next_attempt", "compute_crash_restarts", ["next_attempt"]
    )


def downgrade() -> None:
    # Indexes go with their tables (MariaDB refuses to drop one that a
    # foreign key still needs).
    op.drop_table("compute_crash_restarts")
