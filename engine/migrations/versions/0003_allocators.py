"""allocation policy: allocators per zone and offering, cluster thresholds, dedication

A zone names the allocator that ranks its hosts and a compute offering may
override it; a cluster may set the allocated CPU and memory shares above
which it takes no new guests, and the share of a pool above which the
pool takes no new volumes; zones, pods, clusters and hosts may be
dedicated to a domain or an account. Every new column is nullable and the
dedications table starts empty: ``NULL`` means the default (first fit for a
zone, the zone's for an offering, no threshold), so existing clouds place
guests exactly as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (not a batch copy of the table): SQLite adds a nullable
    # column in place, whereas a copy would drop a table that other tables'
    # foreign keys reference.
    op.add_column("zones", sa.Column("allocator", sa.String(64), nullable=True))
    op.add_column("compute_offerings", sa.Column("allocator", sa.String(64), nullable=True))
    op.add_column("clusters", sa.Column("cpu_disable_threshold", sa.Float(), nullable=True))
    op.add_column("clusters", sa.Column("memory_disable_threshold", sa.Float(), nullable=True))
    op.add_column("clusters", sa.Column("storage_disable_threshold", sa.Float(), nullable=True))
    op.create_table(
        "dedications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "zone",
                "pod",
                "cluster",
                "host",
                name="dedicatedlevel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=True),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(domain_id IS NULL) <> (account_id IS NULL)",
            name=op.f("ck_dedications_one_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_dedications_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domains.id"],
            name=op.f("fk_dedications_domain_id_domains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dedications")),
        sa.UniqueConstraint("level", "target_id", name="uq_dedications_target"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    with op.batch_alter_table("dedications") as batch:
        batch.create_index(batch.f("ix_dedications_account_id"), ["account_id"], unique=False)
        batch.create_index(batch.f("ix_dedications_domain_id"), ["domain_id"], unique=False)


def downgrade() -> None:
    op.drop_table("dedications")
    # Plain DROP COLUMN (SQLite 3.35 and later, MariaDB): a batch copy would
    # drop tables that other tables' foreign keys reference.
    op.drop_column("clusters", "storage_disable_threshold")
    op.drop_column("clusters", "memory_disable_threshold")
    op.drop_column("clusters", "cpu_disable_threshold")
    op.drop_column("compute_offerings", "allocator")
    op.drop_column("zones", "allocator")
