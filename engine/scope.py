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
from typing import Any, Protocol

import sqlalchemy as sa

from engine.errors import PermissionDenied

#: The columns of tenancy's ``domains`` table that visibility needs. Named as a
#: lightweight table, not through tenancy's model: every capability uses the
#: scope, so the scope must depend on none of them.
_DOMAINS = sa.table("domains", sa.column("id", sa.String), sa.column("path", sa.String))


class DomainLike(Protocol):
    """What :meth:`Scope.system` reads of a domain (tenancy's ``Domain`` row)."""

    @property
    def id(self) -> str: ...

    @property
    def path(self) -> str: ...


def domain_chain(domain_path: str) -> list[str]:
    """The ids of a domain and of every domain above it, ROOT first.

    :param domain_path: the domain's materialised path, ``/<root>/.../<self>/``.
    """
    return [part for part in domain_path.split("/") if part]


def subtree(domain_path: str | sa.BindParameter[str]) -> sa.Select[tuple[str]]:
    """The ids of the domain at ``domain_path`` and of every domain below it."""
    return sa.select(_DOMAINS.c.id).where(_DOMAINS.c.path.startswith(domain_path))


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
    def system(cls, root: DomainLike) -> Scope:
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

    def require_root_admin(self, refusal: str) -> None:
        """Refuse with ``refusal`` (:class:`~engine.errors.PermissionDenied`) unless
        the caller is a root administrator: what infrastructure and federation
        services demand of whoever changes them."""
        if not self.is_root_admin:
            raise PermissionDenied(refusal)

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
        return owner_condition(
            self.visibility_shape,
            (account_column, project_column, domain_column),
            (self.account_id, sorted(self.project_ids), self.domain_path),
        )

    @property
    def visibility_shape(self) -> VisibilityShape:
        """What decides the *form* of :meth:`owner_filter`: the role, and any projects.

        Two scopes with the same shape differ only in the values of
        :meth:`visibility_parameters`, so a statement prepared for one shape
        (:func:`prepared_owner_filter`) serves every caller with that shape.
        """
        return (self.role, bool(self.project_ids))

    def visibility_parameters(self) -> dict[str, Any]:
        """The bound values of :func:`prepared_owner_filter` for this caller."""
        return {
            _ACCOUNT: self.account_id,
            _PROJECTS: sorted(self.project_ids),
            _DOMAIN_PATH: self.domain_path,
        }

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


#: A scope's :attr:`Scope.visibility_shape`: its role, and whether it is in any project.
VisibilityShape = tuple[Role, bool]

# The names of the bound parameters of a prepared owner filter.
_ACCOUNT, _PROJECTS, _DOMAIN_PATH = "visible_account", "visible_projects", "visible_domain_path"


def owner_condition(
    shape: VisibilityShape, columns: tuple[Any, Any, Any], values: tuple[Any, Any, Any]
) -> sa.ColumnElement[bool]:
    """The visibility rule as SQL, for given values or for bound parameters.

    :param shape: the caller's role, and whether it is a member of any project.
    :param columns: the owning account, project and domain columns.
    :param values: the caller's account id, project ids and domain path, as
        plain values or as bound parameters (see :func:`prepared_owner_filter`).
    """
    role, in_projects = shape
    account_column, project_column, domain_column = columns
    account, projects, domain_path = values
    if role is Role.ROOT_ADMIN:
        return sa.true()
    # What a user sees: its account's own resources and its projects'. A
    # domain administrator sees that too (it may be a member of a project
    # outside its subtree), plus everything in its subtree; this must agree
    # with Scope.can_see_owner.
    own: sa.ColumnElement[bool] = sa.and_(account_column == account, project_column.is_(None))
    if in_projects:
        own = sa.or_(own, project_column.in_(projects))
    if role is Role.DOMAIN_ADMIN:
        return sa.or_(domain_column.in_(subtree(domain_path)), own)
    return own


def prepared_owner_filter(
    shape: VisibilityShape, account_column: Any, project_column: Any, domain_column: Any
) -> sa.ColumnElement[bool]:
    """:meth:`Scope.owner_filter` with bound parameters instead of one caller's values.

    For statements built once per shape and executed with
    :meth:`Scope.visibility_parameters`: building a statement and its cache
    key costs more than running it on the hot read paths.
    """
    return owner_condition(
        shape,
        (account_column, project_column, domain_column),
        (
            sa.bindparam(_ACCOUNT),
            sa.bindparam(_PROJECTS, expanding=True),
            sa.bindparam(_DOMAIN_PATH),
        ),
    )


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
