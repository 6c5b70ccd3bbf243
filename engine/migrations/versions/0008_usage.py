"""usage accounting: intervals, periods, records and tariffs

Four new tables, nothing changed in the existing ones (docs/usage.rst):
``usage_intervals`` (what each resource held, and from when to when),
``usage_periods`` (one row per aggregated period, its claim and checkpoint),
``usage_records`` (per resource, usage type and offering per period) and
``usage_tariffs`` (prices). Existing events are aggregated from the first
period that holds one.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 08:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_intervals",
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("usage_type", sa.String(length=32), nullable=False),
        sa.Column("offering_id", sa.String(length=36), nullable=False),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_name", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("domain_id", sa.String(length=36), nullable=True),
        sa.Column("zone_id", sa.String(length=36), nullable=True),
        sa.Column("rate", sa.BigInteger(), nullable=False),
        sa.Column("end", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint(
            "resource_id", "usage_type", "offering_id", "start", name=op.f("pk_usage_intervals")
        ),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_index("ix_usage_intervals_end", "usage_intervals", ["end"], unique=False)
    op.create_index(
        "ix_usage_intervals_resource_end", "usage_intervals", ["resource_id", "end"], unique=False
    )
    op.create_table(
        "usage_periods",
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("end", UTCDateTime(), nullable=False),
        sa.Column("granularity", sa.String(length=8), nullable=False),
        sa.Column("max_seq", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("late_events", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("aggregated", UTCDateTime(), nullable=False),
        sa.Column("aggregator", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("start", name=op.f("pk_usage_periods")),
        sa.UniqueConstraint("end", name=op.f("uq_usage_periods_end")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_table(
        "usage_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("usage_type", sa.String(length=32), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("resource_name", sa.String(length=255), nullable=False),
        sa.Column("offering_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("domain_id", sa.String(length=36), nullable=True),
        sa.Column("zone_id", sa.String(length=36), nullable=True),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_index(
        "ix_usage_records_account_start",
        "usage_records",
        ["account_id", "period_start"],
        unique=False,
    )
    op.create_index(
        "ix_usage_records_domain_start",
        "usage_records",
        ["domain_id", "period_start"],
        unique=False,
    )
    op.create_index("ix_usage_records_start", "usage_records", ["period_start"], unique=False)
    op.create_table(
        "usage_tariffs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("usage_type", sa.String(length=32), nullable=False),
        sa.Column("offering_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price", sa.String(length=40), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_to", UTCDateTime(), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_tariffs")),
        sa.UniqueConstraint("usage_type", "offering_id", "valid_from", name="uq_usage_tariffs"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )


def downgrade() -> None:
    # Indexes go with their tables (MariaDB refuses to drop one that a
    # foreign key still needs).
    op.drop_table("usage_tariffs")
    op.drop_table("usage_records")
    op.drop_table("usage_periods")
    op.drop_table("usage_intervals")
