"""computes get a guest id of their own: the name of their guest on its host

A compute's libvirt domain was ``concord-<compute id>``, its UUID the compute
id and its root disk ``concord-root-<compute id>``; since a client may choose
a compute's id, it could name a domain or volume already on a host and the
engine would take it over. From this revision the host-side names come from
``computes.guest_id``, a UUID the server draws at random for each new
compute. Existing computes keep the names their guests already have: their
guest id is their id when it is a UUID (every compute that ever had a guest;
domains are named after UUIDs only), and a fresh random one otherwise.

The column stays nullable (SQLite adds a NOT NULL column only by copying the
table, which 0003 found drops tables others reference); every row is filled
here and the model fills it on insert.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 08:30:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The table as this revision knows it (never the model, which moves on).
computes = sa.table("computes", sa.column("id", sa.String), sa.column("guest_id", sa.String))


def guest_id_for(compute_id: str) -> str:
    """The guest id of an existing compute: its id in canonical UUID form, or a new one."""
    try:
        return str(uuid.UUID(compute_id))
    except ValueError:
        return str(uuid.uuid4())


def upgrade() -> None:
    op.add_column("computes", sa.Column("guest_id", sa.String(length=36), nullable=True))
    connection = op.get_bind()
    rows, taken = [], set()
    for compute_id in connection.scalars(sa.select(computes.c.id).order_by(computes.c.id)):
        guest_id = guest_id_for(compute_id)
        if guest_id in taken:  # two ids spelling one UUID differently: only one had a guest
            guest_id = str(uuid.uuid4())
        taken.add(guest_id)
        rows.append({"b_id": compute_id, "guest_id": guest_id})
    if rows:
        connection.execute(sa.update(computes).where(computes.c.id == sa.bindparam("b_id")), rows)
    op.create_index(op.f("ix_computes_guest_id"), "computes", ["guest_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_computes_guest_id"), table_name="computes")
    op.drop_column("computes", "guest_id")
