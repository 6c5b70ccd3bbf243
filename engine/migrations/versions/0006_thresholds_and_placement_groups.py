"""capacity notification thresholds; placement groups

A root administrator may set, on any zone, pod, cluster, host or storage
pool, the share of its allocated or used CPU, memory or storage above which
an alert is raised (``capacity_thresholds``). The table starts empty: no
threshold, no alert, as before.

An account's guests may join an affinity or anti-affinity group when they
are created (``placement_groups``, ``placement_group_members``); both start
empty, so every existing guest is in no group.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "capacity_thresholds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "level",
            _enum("thresholdlevel", "zone", "pod", "cluster", "host", "pool"),
            nullable=False,
        ),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.Column(
            "resource", _enum("thresholdresource", "cpu", "memory", "storage"), nullable=False
        ),
        sa.Column("measure", _enum("thresholdmeasure", "allocated", "used"), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_thresholds")),
        sa.UniqueConstraint(
            "level", "target_id", "resource", "measure", name="uq_capacity_thresholds_target"
        ),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )

    op.create_table(
        "placement_groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("policy", _enum("grouppolicy", "affinity", "anti-affinity"), nullable=False),
        sa.Column("placements", sa.Integer(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_placement_groups_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domains.id"],
            name=op.f("fk_placement_groups_domain_id_domains"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_placement_groups_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement_groups")),
        sa.UniqueConstraint("account_id", "name", name="uq_placement_groups_account_name"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    for column in ("account_id", "domain_id", "project_id"):
        op.create_index(
            op.f(f"ix_placement_groups_{column}"), "placement_groups", [column], unique=False
        )
    op.create_table(
        "placement_group_members",
        sa.Column("compute_id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["compute_id"],
            ["computes.id"],
            name=op.f("fk_placement_group_members_compute_id_computes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["placement_groups.id"],
            name=op.f("fk_placement_group_members_group_id_placement_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("compute_id", name=op.f("pk_placement_group_members")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_index(
        op.f("ix_placement_group_members_group_id"),
        "placement_group_members",
        ["group_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("placement_group_members")
    op.drop_table("placement_groups")
    op.drop_table("capacity_thresholds")
