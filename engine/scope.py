"""The caller's scope: who is asking, and what they may see.

Every engine service method takes a :class:`Scope` explicitly; nothing reads
a thread-local or a request. The HTTP edge builds one from the credentials
of each request, the CLI builds the system scope.

Visibility rules (issue "Foundation", DESIGN.md):

* a root administrator sees everything;
* a domain administrator sees its domain and every domain below it;
* a user sees its own account's resources and those of the projects it is
  a member of.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.models.tenancy import Domain


class Role(enum.StrEnum):
    """The three roles that decide visibility."""

    ROOT_ADMIN = "root-admin"
    DOMAIN_ADMIN = "domain-admin"
    USER = "user"


@dataclass(frozen=True)
class Scope:
    """An authenticated caller.

    :param user_id: the user's id (``None`` for the system scope).
    :param username: the user's sign-in name, for logs and audit.
    :param account_id: the account the user belongs to.
    :param domain_id: the account's domain.
    :param domain_path: the materialised path of that domain.
    :param role: what the caller may administer.
    :param project_ids: the projects the user is a member of.
    :param project_id: the project the request acts in, if any; resources
        created in this scope belong to the project.
    """

    user_id: str | None
    username: str
    account_id: str | None
    domain_id: str
    domain_path: str
    role: Role
    project_ids: frozenset[str] = field(default_factory=frozenset)
    project_id: str | None = None

    @classmethod
    def system(cls, root: Domain) -> Scope:
        """The scope of Concord itself (CLI administration, workers, reconciliation)."""
        return cls(
            user_id=None,
            username="system",
            account_id=None,
            domain_id=root.id,
            domain_path=root.path,
            role=Role.ROOT_ADMIN,
        )

    @property
    def is_root_admin(self) -> bool:
        """True when the caller sees and administers everything."""
        return self.role is Role.ROOT_ADMIN

    @property
    def is_admin(self) -> bool:
        """True for root and domain administrators."""
        return self.role in (Role.ROOT_ADMIN, Role.DOMAIN_ADMIN)

    def administers_domain(self, domain_path: str) -> bool:
        """True when the caller is an administrator of the domain at ``domain_path``."""
        if self.role is Role.ROOT_ADMIN:
            return True
        if self.role is Role.DOMAIN_ADMIN:
            return domain_path.startswith(self.domain_path)
        return False

    def can_see_owner(
        self, account_id: str | None, project_id: str | None, domain_path: str
    ) -> bool:
        """True when a resource with this owner is visible to the caller.

        :param account_id: the owning account.
        :param project_id: the owning project, if the resource belongs to one.
        :param domain_path: the path of the owner's domain.
        """
        if self.administers_domain(domain_path):
            return True
        if project_id is not None:
            return project_id in self.project_ids
        return account_id is not None and account_id == self.account_id

    def owner_filter(
        self,
        account_column: Any,
        project_column: Any,
        domain_column: Any,
    ) -> sa.ColumnElement[bool]:
        """A SQL condition selecting the rows visible to the caller.

        :param account_column: the resource table's owning-account column.
        :param project_column: its owning-project column (nullable).
        :param domain_column: its owning-domain column.
        """
        if self.role is Role.ROOT_ADMIN:
            return sa.true()
        # What a user sees: its account's own resources and its projects'.
        # A domain administrator sees that too (it may be a member of a
        # project outside its subtree), plus everything in its subtree; this
        # must agree with can_see_owner.
        own: sa.ColumnElement[bool] = sa.and_(
            account_column == self.account_id, project_column.is_(None)
        )
        if self.project_ids:
            own = sa.or_(own, project_column.in_(sorted(self.project_ids)))
        if self.role is Role.DOMAIN_ADMIN:
            subtree = sa.select(Domain.id).where(Domain.path.startswith(self.domain_path))
            return sa.or_(domain_column.in_(subtree), own)
        return own

    def with_project(self, project_id: str | None) -> Scope:
        """The same caller acting inside ``project_id`` (membership is checked by the caller)."""
        return Scope(
            user_id=self.user_id,
            username=self.username,
            account_id=self.account_id,
            domain_id=self.domain_id,
            domain_path=self.domain_path,
            role=self.role,
            project_ids=self.project_ids,
            project_id=project_id,
        )


@dataclass(frozen=True)
class Owner:
    """Who a resource belongs to: an account, optionally a project, in a domain.

    Quotas are charged to it, events record it and jobs inherit it.
    """

    account_id: str | None
    project_id: str | None
    domain_id: str | None

    @classmethod
    def of(cls, resource: Any) -> Owner:
        """The owner of any row with ``account_id``, ``project_id`` and ``domain_id``."""
        return cls(resource.account_id, resource.project_id, resource.domain_id)

    @classmethod
    def for_scope(cls, scope: Scope) -> Owner:
        """The owner of what ``scope`` creates: its account, or its current project."""
        return cls(scope.account_id, scope.project_id, scope.domain_id)


def role_for(account_type: str) -> Role:
    """Map an account type to the role its users act with."""
    return {
        "admin": Role.ROOT_ADMIN,
        "domain-admin": Role.DOMAIN_ADMIN,
        "user": Role.USER,
    }[account_type]


def frozen_ids(ids: Iterable[str]) -> frozenset[str]:
    """A frozenset of ids, for :attr:`Scope.project_ids`."""
    return frozenset(ids)
