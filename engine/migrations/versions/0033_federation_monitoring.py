"""federation monitoring: members' probe credentials, the results of each probe

The monitoring plane of federation: the identity a registry probes each
member's OCCI and CIMI endpoints as (the secret encrypted under the server
keys), and one row per probe of an endpoint with the counts of MUST
requirements the read-only conformance run judged and the health derived.

Revision ID: 0033
Revises: 0031
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0033"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("federation_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("monitor_auth", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("monitor_user", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("sealed_monitor_secret", sa.String(length=1024), nullable=True)
        )
    op.create_table(
        "federation_endpoint_checks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("interface", sa.String(length=128), nullable=False),
        sa.Column("protocol", sa.String(length=8), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("checked", engine.db.UTCDateTime(), nullable=False),
        sa.Column("must_passed", sa.Integer(), nullable=False),
        sa.Column("must_failed", sa.Integer(), nullable=False),
        sa.Column("must_skipped", sa.Integer(), nullable=False),
        sa.Column("should_failed", sa.Integer(), nullable=False),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["federation_members.id"],
            name=op.f("fk_federation_endpoint_checks_member_id_federation_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_endpoint_checks")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    with op.batch_alter_table("federation_endpoint_checks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_federation_endpoint_checks_member",
            ["member_id", "interface", "checked"],
            unique=False,
        )


def downgrade() -> None:
    # The index goes with its table (MariaDB: the foreign key may still need it).
    op.drop_table("federation_endpoint_checks")
    with op.batch_alter_table("federation_members", schema=None) as batch_op:
        batch_op.drop_column("sealed_monitor_secret")
        batch_op.drop_column("monitor_user")
        batch_op.drop_column("monitor_auth")
