"""federation: trusted issuers, mapping rules, federated identities, registry members

The identity plane of federation: the OpenID Connect issuers whose tokens
this site accepts (with the audience their tokens must name), the mapping
rules that place federated users into local tenants (an ordered list,
replaced as a whole), and which local user each issuer's subject became on
its first sign-in. All three start empty: no federated sign-in is possible
until an operator trusts an issuer and writes rules. And the registry role
of site discovery: the member sites whose GLUE documents it reads, with the
last document read from each.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 08:39:11.537048
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_mapping_rules",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_federation_mapping_rules")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_table(
        "federation_members",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("glue_url", sa.String(length=512), nullable=False),
        sa.Column("sealed_token", sa.String(length=1024), nullable=True),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("fetched", engine.db.UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(length=1024), nullable=True),
        sa.Column("created", engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_members")),
        sa.UniqueConstraint("name", name=op.f("uq_federation_members_name")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_table(
        "trusted_issuers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("audience", sa.String(length=255), nullable=False),
        sa.Column("jwks_uri", sa.String(length=512), nullable=True),
        sa.Column("created", engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_issuers")),
        sa.UniqueConstraint("name", name=op.f("uq_trusted_issuers_name")),
        sa.UniqueConstraint("url", name=op.f("uq_trusted_issuers_url")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    op.create_table(
        "federated_identities",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.String(length=36), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created", engine.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen", engine.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["trusted_issuers.id"],
            name=op.f("fk_federated_identities_issuer_id_trusted_issuers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_federated_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federated_identities")),
        sa.UniqueConstraint("issuer_id", "subject", name="uq_federated_identities_subject"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
    )
    with op.batch_alter_table("federated_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_federated_identities_issuer_id"), ["issuer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_federated_identities_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    # The indexes go with their table: MariaDB refuses to drop one first while
    # a foreign key of the table still needs it.
    op.drop_table("federated_identities")
    op.drop_table("trusted_issuers")
    op.drop_table("federation_members")
    op.drop_table("federation_mapping_rules")
