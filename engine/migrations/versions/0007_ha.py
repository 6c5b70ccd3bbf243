"""ha: host health, fencing configuration, the HA work queue and its history

``computes.ha_priority`` orders the guests HA restarts after one host failure.
``ha_items.active_key`` holds ``host:<id>`` while a host's item is open and is
NULL after: its unique index makes two monitors that declare one host down at
once open one item.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "computes",
        sa.Column("ha_priority", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "ha_host_health",
        sa.Column("host_id", sa.String(length=36), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "up",
                "suspect",
                "down",
                name="hahealth",
                native_enum=False,
                length=32,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("last_ok", UTCDateTime(), nullable=False),
        sa.Column("last_check", UTCDateTime(), nullable=True),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("host_id"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_table(
        "ha_fence_configs",
        sa.Column("host_id", sa.String(length=36), nullable=False),
        sa.Column("fencer", sa.String(length=64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("host_id"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_table(
        "ha_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "host",
                "guest",
                name="haitemkind",
                native_enum=False,
                length=32,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("host_id", sa.String(length=36), nullable=False),
        sa.Column("zone_id", sa.String(length=36), nullable=False),
        sa.Column("compute_id", sa.String(length=36), nullable=True),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column(
            "step",
            sa.Enum(
                "detected",
                "fencing",
                "awaiting_operator",
                "held",
                "fenced",
                "queued",
                "restarting",
                "restarted",
                "failed",
                "done",
                name="hastep",
                native_enum=False,
                length=32,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("active_key", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("target_host_id", sa.String(length=36), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("heartbeat", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=1024), nullable=True),
        sa.Column("last_ok", UTCDateTime(), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.Column("finished", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_key"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_index("ix_ha_items_step", "ha_items", ["step"])
    op.create_index("ix_ha_items_host_id", "ha_items", ["host_id"])
    op.create_index("ix_ha_items_zone_id", "ha_items", ["zone_id"])
    op.create_index("ix_ha_items_compute_id", "ha_items", ["compute_id"])
    op.create_index("ix_ha_items_parent_id", "ha_items", ["parent_id"])
    op.create_table(
        "ha_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("detail", sa.String(length=1024), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["ha_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_index("ix_ha_history_item_id", "ha_history", ["item_id"])


def downgrade() -> None:
    # Indexes go with their tables (MariaDB refuses to drop one that a
    # foreign key still needs).
    op.drop_table("ha_history")
    op.drop_table("ha_items")
    op.drop_table("ha_fence_configs")
    op.drop_table("ha_host_health")
    op.drop_column("computes", "ha_priority")
