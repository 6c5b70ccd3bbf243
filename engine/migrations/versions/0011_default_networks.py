"""default networks and chosen ids per account

A compute created with no network joins its owner's default network of its
zone (engine.network.defaults), as CloudStack and OpenStack attach one. The
table starts empty: no account has a default, and computes are created
exactly as before until one is set.

A client's chosen id is kept as ``chosen_id``, unique per account and table
(engine.resources.ids), so that tenants' choices never collide and never tell
one tenant what another chose. Existing rows whose id was chosen keep it as
their row id; their ``chosen_id`` stays NULL (their public id is their id).

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-07 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


#: The tables of owned resources, whose ids a client may choose.
CHOSEN_ID_TABLES = ("computes", "volumes", "networks", "network_interfaces", "storage_attachments")


def upgrade() -> None:
    # Plain ADD COLUMN (not a batch copy, which would drop tables that other
    # tables' foreign keys reference), then a unique index per table: SQLite
    # cannot add a constraint in place, and a unique index is what the
    # constraint would be (NULLs never clash).
    for table in CHOSEN_ID_TABLES:
        op.add_column(table, sa.Column("chosen_id", sa.String(length=64), nullable=True))
        op.create_index(f"uq_{table}_chosen_id", table, ["account_id", "chosen_id"], unique=True)
    op.create_table(
        "default_networks",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("zone_id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_default_networks_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zones.id"],
            name=op.f("fk_default_networks_zone_id_zones"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_default_networks_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "zone_id", name=op.f("pk_default_networks")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_index(
        op.f("ix_default_networks_network_id"), "default_networks", ["network_id"], unique=False
    )


def downgrade() -> None:
    for table in CHOSEN_ID_TABLES:
        op.drop_index(f"uq_{table}_chosen_id", table_name=table)
        op.drop_column(table, "chosen_id")
    # The index goes with its table: MariaDB refuses to drop it first while
    # the table's foreign key still needs it.
    op.drop_table("default_networks")
