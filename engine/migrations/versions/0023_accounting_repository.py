"""accounting repository: trusted sites, their APEL cloud records, image-list sync turns

The accounting plane of federation: the sites whose APEL Cloud Usage
Records this repository accepts (each with the hash of the token it pushes
with), the latest cumulative record of each guest per site and month of
measurement, and the worker schedule's state: when each subscribed image
list is next synchronised, and when the site's own usage is next pushed.

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-07 14:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounting_sites",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created", engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounting_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_accounting_sites_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_accounting_sites_token_hash")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_table(
        "accounting_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("vmuuid", sa.String(length=255), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("measured", engine.db.UTCDateTime(), nullable=False),
        sa.Column("vo", sa.String(length=255), nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("image_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start_time", engine.db.UTCDateTime(), nullable=False),
        sa.Column("wall_duration", sa.BigInteger(), nullable=False),
        sa.Column("cpu_duration", sa.BigInteger(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("received", engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounting_records")),
        sa.UniqueConstraint("site", "vmuuid", "month", name="uq_accounting_records_guest_month"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    with op.batch_alter_table("accounting_records", schema=None) as batch_op:
        batch_op.create_index("ix_accounting_records_month_site", ["month", "site"], unique=False)
    op.create_table(
        "scheduled_tasks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("due", engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_tasks")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    with op.batch_alter_table("image_list_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sync_due", engine.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("image_list_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("sync_due")
    # The indexes go with their tables (MariaDB: a foreign key may still need them).
    op.drop_table("scheduled_tasks")
    op.drop_table("accounting_records")
    op.drop_table("accounting_sites")
