"""API-key secrets are stored encrypted under the server key, not in clear

``api_keys.secret`` held each secret as issued, so a dump of the database
yielded secrets anyone could sign requests with. The column becomes
``sealed_secret``, wide enough for a Fernet token, and every secret already
stored is encrypted in place under the server key (engine/tenancy/server_keys.py):
the keys issued before keep working, with the same secret.

The server keys come from whoever runs the upgrade (``concord db upgrade``
and ``concord serve`` pass them as ``config.attributes["server_keys"]``); a
database with API keys cannot be upgraded, or downgraded, without them, and
is left untouched when they are missing. Downgrading decrypts the secrets back.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NEEDS_KEYS = (
    "revision 0004 {what} the API-key secrets already stored and needs the server keys: "
    "run it with 'concord db upgrade' (or engine.schema.upgrade(..., server_keys=...))"
)


def _keys(connection: sa.Connection, column: str, what: str) -> Any:
    """The server keys, or None when no row needs them; raises before any change."""
    keys = context.config.attributes.get("server_keys")
    table = sa.table("api_keys", sa.column(column, sa.String))
    if keys is None and connection.scalar(sa.select(sa.func.count()).select_from(table)):
        raise RuntimeError(NEEDS_KEYS.format(what=what))
    return keys


def _rewrite(connection: sa.Connection, column: str, change: Any) -> None:
    """Replace every value of ``api_keys.<column>`` with ``change(value)``."""
    table = sa.table("api_keys", sa.column("id", sa.String), sa.column(column, sa.String))
    rows = connection.execute(sa.select(table.c.id, table.c[column])).all()
    if rows:
        connection.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("key_id"))
            .values({column: sa.bindparam("value")}),
            [{"key_id": key_id, "value": change(value)} for key_id, value in rows],
        )


def upgrade() -> None:
    connection = op.get_bind()
    keys = _keys(connection, "secret", "encrypts")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column(
            "secret",
            new_column_name="sealed_secret",
            existing_type=sa.String(length=128),
            type_=sa.String(length=255),
            existing_nullable=False,
        )
    if keys is not None:
        _rewrite(connection, "sealed_secret", keys.seal)


def downgrade() -> None:
    connection = op.get_bind()
    keys = _keys(connection, "sealed_secret", "decrypts")
    if keys is not None:
        _rewrite(connection, "sealed_secret", keys.unseal)
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column(
            "sealed_secret",
            new_column_name="secret",
            existing_type=sa.String(length=255),
            type_=sa.String(length=128),
            existing_nullable=False,
        )
