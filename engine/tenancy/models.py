"""Tenancy: domains, accounts, users, projects, API keys and resource limits.

The shape follows Apache CloudStack's (reference/engine.md §1.1): a tree of
domains under ``ROOT`` stored with a materialised path, typed accounts that
belong to exactly one domain, users that belong to one account, and projects
whose members are users. Limits can be set on a domain, an account or a
project; ``-1`` means unlimited.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, new_id, string_enum, utcnow

ROOT_DOMAIN_NAME = "ROOT"
UNLIMITED = -1


class AccountType(enum.StrEnum):
    """What an account may administer."""

    ADMIN = "admin"  #: root administrators: everything
    DOMAIN_ADMIN = "domain-admin"  #: administrators of one domain subtree
    USER = "user"  #: ordinary tenants: their account and their projects


class TenantState(enum.StrEnum):
    """Whether a domain, account or user may act."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    LOCKED = "locked"


class ProjectRole(enum.StrEnum):
    """A user's role inside a project."""

    ADMIN = "admin"
    MEMBER = "member"


class LimitOwner(enum.StrEnum):
    """What a resource limit applies to."""

    DOMAIN = "domain"
    ACCOUNT = "account"
    PROJECT = "project"


class ResourceType(enum.StrEnum):
    """Countable resources that limits apply to (units in the comments)."""

    INSTANCES = "instances"  # guests
    CPU = "cpu"  # virtual cores
    MEMORY = "memory"  # MiB
    VOLUMES = "volumes"  # count
    PRIMARY_STORAGE = "primary_storage"  # GiB
    NETWORKS = "networks"  # count
    SNAPSHOTS = "snapshots"  # count
    TEMPLATES = "templates"  # count
    PROJECTS = "projects"  # count


class Domain(Base):
    """A node of the domain tree; ``ROOT`` has no parent.

    ``path`` is the chain of ids from ROOT, ``/<root>/<child>/.../<self>/``,
    so that "everything under this domain" is one prefix query.
    """

    __tablename__ = "domains"
    __table_args__ = (sa.UniqueConstraint("parent_id", "name", name="uq_domains_parent_name"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255))
    parent_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("domains.id", ondelete="RESTRICT"), index=True
    )
    path: Mapped[str] = mapped_column(sa.String(1024), index=True)
    state: Mapped[TenantState] = mapped_column(
        string_enum(TenantState), default=TenantState.ENABLED
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[Domain | None] = relationship(remote_side=[id])

    @property
    def is_root(self) -> bool:
        """True for the ROOT domain."""
        return self.parent_id is None


class Account(Base):
    """An account: the owner of resources, inside one domain."""

    __tablename__ = "accounts"
    __table_args__ = (sa.UniqueConstraint("domain_id", "name", name="uq_accounts_domain_name"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255))
    domain_id: Mapped[str] = mapped_column(
        sa.ForeignKey("domains.id", ondelete="RESTRICT"), index=True
    )
    type: Mapped[AccountType] = mapped_column(string_enum(AccountType))
    state: Mapped[TenantState] = mapped_column(
        string_enum(TenantState), default=TenantState.ENABLED
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    domain: Mapped[Domain] = relationship()


class User(Base):
    """A person or program that signs in; belongs to one account.

    ``username`` is unique across the whole cloud so that HTTP Basic needs no
    domain qualifier.
    """

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(sa.String(255), unique=True)
    account_id: Mapped[str] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    email: Mapped[str | None] = mapped_column(sa.String(255))
    state: Mapped[TenantState] = mapped_column(
        string_enum(TenantState), default=TenantState.ENABLED
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship()


class ApiKey(Base):
    """An API key pair for HMAC-signed requests.

    The secret must be kept in a form the server can use as an HMAC key, so
    unlike a password it cannot be stored as a one-way hash: it is stored
    encrypted under the server key (:mod:`engine.tenancy.server_keys`), which
    lives outside the database.
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    access_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The secret, encrypted under the server key (a Fernet token).
    sealed_secret: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    description: Mapped[str | None] = mapped_column(sa.String(255))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class SeenNonce(Base):
    """A signed-request nonce already used, kept for the replay window.

    Kept in the database rather than in memory so that a request replayed to
    another API process behind the balancer is refused too.
    """

    __tablename__ = "seen_nonces"

    access_key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    expires: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class Project(Base):
    """A project: resources shared by its members, inside one domain."""

    __tablename__ = "projects"
    __table_args__ = (sa.UniqueConstraint("domain_id", "name", name="uq_projects_domain_name"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.String(1024))
    domain_id: Mapped[str] = mapped_column(
        sa.ForeignKey("domains.id", ondelete="RESTRICT"), index=True
    )
    owner_account_id: Mapped[str] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    state: Mapped[TenantState] = mapped_column(
        string_enum(TenantState), default=TenantState.ENABLED
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProjectMember(Base):
    """Membership of a user in a project, with a role."""

    __tablename__ = "project_members"

    project_id: Mapped[str] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[ProjectRole] = mapped_column(string_enum(ProjectRole), default=ProjectRole.MEMBER)


class ResourceLimit(Base):
    """The maximum amount of one resource type for a domain, account or project."""

    __tablename__ = "resource_limits"
    __table_args__ = (
        sa.UniqueConstraint(
            "owner_kind", "owner_id", "resource_type", name="uq_resource_limits_owner_type"
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    owner_kind: Mapped[LimitOwner] = mapped_column(string_enum(LimitOwner))
    owner_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    resource_type: Mapped[ResourceType] = mapped_column(string_enum(ResourceType))
    maximum: Mapped[int] = mapped_column(sa.BigInteger)
