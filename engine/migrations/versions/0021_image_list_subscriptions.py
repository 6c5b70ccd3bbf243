"""image list subscriptions: the signed HEPiX image lists a site subscribes to

The image plane of federation: each list this site subscribes to (where it
is published, the endorser and CA that must have signed it, the token to
read it with, the tenant its images are registered for) and the verdict of
the last synchronisation. Templates registered from a list carry the list's
name and the image's global id in their properties, so the images table is
unchanged.

Revision ID: 0021
Revises: 0014
Create Date: 2026-12-07 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0021"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_list_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("endorser_dn", sa.String(length=512), nullable=False),
        sa.Column("ca_pem", sa.Text(), nullable=False),
        sa.Column("sealed_token", sa.String(length=1024), nullable=True),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("list_identifier", sa.String(length=255), nullable=True),
        sa.Column("list_version", sa.String(length=255), nullable=True),
        sa.Column("expires", engine.db.UTCDateTime(), nullable=True),
        sa.Column("synced", engine.db.UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(length=1024), nullable=True),
        sa.Column("created", engine.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_image_list_subscriptions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_list_subscriptions")),
        sa.UniqueConstraint("name", name=op.f("uq_image_list_subscriptions_name")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    with op.batch_alter_table("image_list_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_image_list_subscriptions_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    # The indexes go with their table (MariaDB: a foreign key still needs them).
    op.drop_table("image_list_subscriptions")
