"""allocators: a zone names the allocator that ranks its hosts, an offering may override it

Both columns are nullable: ``NULL`` means the default (first fit for a zone,
the zone's for an offering), so existing zones and offerings place guests
exactly as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("zones") as batch:
        batch.add_column(sa.Column("allocator", sa.String(64), nullable=True))
    with op.batch_alter_table("compute_offerings") as batch:
        batch.add_column(sa.Column("allocator", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("compute_offerings") as batch:
        batch.drop_column("allocator")
    with op.batch_alter_table("zones") as batch:
        batch.drop_column("allocator")
