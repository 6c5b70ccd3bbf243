"""Tenancy administration: the domain tree, accounts, users and projects.

Permission rules, checked here and nowhere else:

* a domain is created under a parent the caller administers;
* ``admin`` accounts live only in ROOT and only root administrators create
  them; domain administrators create ``domain-admin`` and ``user`` accounts
  in their subtree;
* users are created by administrators of the account's domain;
* any user may create a project (it owns it and becomes its admin); project
  admins and domain administrators manage members.

A target the caller cannot see is :class:`~engine.errors.NotFound`; one it
can see but may not change is :class:`~engine.errors.PermissionDenied`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from engine.naming import check_name
from engine.scope import Role, Scope
from engine.tenancy.models import (
    ROOT_DOMAIN_NAME,
    Account,
    AccountType,
    Domain,
    LimitOwner,
    Project,
    TenantState,
    User,
)
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.projects import ProjectAdministration
from engine.tenancy.quotas import QuotaService

MIN_PASSWORD_LENGTH = 8


class TenancyService(ProjectAdministration):
    """Create, find and administer domains, accounts, users and projects.

    :param session: the unit of work; the caller commits.
    :param hasher: the password hasher for new passwords.
    """

    def __init__(self, session: Session, hasher: PasswordHasher | None = None) -> None:
        self.session = session
        self.hasher = hasher or PasswordHasher()

    # -- domains -----------------------------------------------------------

    def ensure_root(self) -> Domain:
        """Return the ROOT domain, creating it on first use."""
        root = self.session.scalar(sa.select(Domain).where(Domain.parent_id.is_(None)))
        if root is None:
            root = Domain(name=ROOT_DOMAIN_NAME, parent_id=None, path="")
            self.session.add(root)
            self.session.flush()
            root.path = f"/{root.id}/"
            self.session.flush()
        return root

    def root(self) -> Domain:
        """Return the ROOT domain; raise NotFound if ``concord init`` never ran."""
        root = self.session.scalar(sa.select(Domain).where(Domain.parent_id.is_(None)))
        if root is None:
            raise NotFound("the cloud is not initialised: run 'concord init'")
        return root

    def create_domain(self, scope: Scope, name: str, parent_id: str | None = None) -> Domain:
        """Create a domain under ``parent_id`` (default: the caller's own domain).

        :raises PermissionDenied: the caller does not administer the parent.
        :raises AlreadyExists: the parent already has a child with that name.
        """
        check_name("domain", name)
        parent = self.get_domain(scope, parent_id or scope.domain_id)
        if not scope.administers_domain(parent.path):
            raise PermissionDenied("only administrators of the parent domain may create domains")
        if self.session.scalar(
            sa.select(Domain.id).where(Domain.parent_id == parent.id, Domain.name == name)
        ):
            raise AlreadyExists(
                f"domain {name!r} already exists under {parent.name!r}", subject="domain", name=name
            )
        domain = Domain(name=name, parent_id=parent.id, path="")
        self.session.add(domain)
        self.session.flush()
        domain.path = f"{parent.path}{domain.id}/"
        self.session.flush()
        QuotaService(self.session).open_counters(LimitOwner.DOMAIN, domain.id)
        return domain

    def get_domain(self, scope: Scope, domain_id: str) -> Domain:
        """Return a domain visible to the caller (its own, its ancestors' are not)."""
        domain = self.session.get(Domain, domain_id)
        if domain is None or not self._sees_domain(scope, domain):
            raise NotFound(f"no domain {domain_id!r}", subject="domain", id=domain_id)
        return domain

    def find_domain(self, scope: Scope, name_path: str) -> Domain:
        """Return a domain by its name path, ``ROOT/child/grandchild`` (or ``child/...``)."""
        parts = [p for p in name_path.strip("/").split("/") if p]
        if parts and parts[0] == ROOT_DOMAIN_NAME:
            parts = parts[1:]
        domain = self.root()
        for part in parts:
            child = self.session.scalar(
                sa.select(Domain).where(Domain.parent_id == domain.id, Domain.name == part)
            )
            if child is None:
                raise NotFound(f"no domain {name_path!r}", subject="domain", name=name_path)
            domain = child
        if not self._sees_domain(scope, domain):
            raise NotFound(f"no domain {name_path!r}", subject="domain", name=name_path)
        return domain

    def list_domains(self, scope: Scope) -> list[Domain]:
        """The domains the caller sees: all for root, the subtree for others."""
        query = sa.select(Domain).order_by(Domain.path)
        if not scope.is_root_admin:
            query = query.where(Domain.path.startswith(scope.domain_path))
        return list(self.session.scalars(query))

    def delete_domain(self, scope: Scope, domain_id: str) -> None:
        """Delete an empty domain (no children, accounts or projects), with its limits and counters.

        :raises Conflict: the domain is ROOT or not empty.
        """
        domain = self.get_domain(scope, domain_id)
        if domain.is_root:
            raise Conflict("the ROOT domain cannot be deleted", subject="domain", reason="root")
        if domain.parent is None or not scope.administers_domain(domain.parent.path):
            raise PermissionDenied("only administrators of the parent domain may delete it")
        dependants = (
            (Domain.parent_id, "sub-domains"),
            (Account.domain_id, "accounts"),
            (Project.domain_id, "projects"),
        )
        for column, what in dependants:
            if self.session.scalar(sa.select(sa.func.count()).where(column == domain.id)):
                raise Conflict(
                    f"domain {domain.name!r} still has {what}",
                    subject="domain",
                    name=domain.name,
                    reason="not_empty",
                )
        QuotaService(self.session).close_counters(LimitOwner.DOMAIN, domain.id)
        self.session.delete(domain)
        self.session.flush()

    def domain_name_path(self, domain: Domain) -> str:
        """The human-readable path of a domain, ``ROOT/child/grandchild``."""
        ids = [i for i in domain.path.strip("/").split("/") if i]
        names = dict(
            self.session.execute(sa.select(Domain.id, Domain.name).where(Domain.id.in_(ids))).all()
        )
        return "/".join(str(names[i]) for i in ids)

    def _sees_domain(self, scope: Scope, domain: Domain) -> bool:
        if scope.is_root_admin:
            return True
        return domain.path.startswith(scope.domain_path)

    # -- accounts ------------------------------------------------------------

    def create_account(
        self, scope: Scope, name: str, domain_id: str, account_type: AccountType
    ) -> Account:
        """Create an account of ``account_type`` in a domain the caller administers."""
        check_name("account", name)
        domain = self.get_domain(scope, domain_id)
        if not scope.administers_domain(domain.path):
            raise PermissionDenied("only domain administrators may create accounts")
        if account_type is AccountType.ADMIN:
            if not domain.is_root:
                raise InvalidInput("admin accounts can only exist in the ROOT domain")
            if not scope.is_root_admin:
                raise PermissionDenied("only root administrators may create admin accounts")
        if self.session.scalar(
            sa.select(Account.id).where(Account.domain_id == domain.id, Account.name == name)
        ):
            raise AlreadyExists(
                f"account {name!r} already exists in domain {domain.name!r}",
                subject="account",
                name=name,
            )
        account = Account(name=name, domain_id=domain.id, type=account_type)
        self.session.add(account)
        self.session.flush()
        QuotaService(self.session).open_counters(LimitOwner.ACCOUNT, account.id)
        return account

    def get_account(self, scope: Scope, account_id: str) -> Account:
        """Return an account visible to the caller."""
        account = self.session.get(Account, account_id)
        if account is None or not self._sees_account(scope, account):
            raise NotFound(f"no account {account_id!r}", subject="account", id=account_id)
        return account

    def find_account(self, scope: Scope, domain_id: str, name: str) -> Account:
        """Return the account called ``name`` in a domain."""
        account = self.session.scalar(
            sa.select(Account).where(Account.domain_id == domain_id, Account.name == name)
        )
        if account is None or not self._sees_account(scope, account):
            raise NotFound(f"no account {name!r}", subject="account", name=name)
        return account

    def list_accounts(self, scope: Scope) -> list[Account]:
        """The accounts the caller sees."""
        query = sa.select(Account).join(Domain).order_by(Domain.path, Account.name)
        if scope.role is Role.DOMAIN_ADMIN:
            query = query.where(Domain.path.startswith(scope.domain_path))
        elif scope.role is Role.USER:
            query = query.where(Account.id == scope.account_id)
        return list(self.session.scalars(query))

    def set_account_state(self, scope: Scope, account_id: str, state: TenantState) -> Account:
        """Enable, disable or lock an account; its users can no longer sign in unless enabled."""
        account = self.get_account(scope, account_id)
        if not scope.administers_domain(account.domain.path) or account.id == scope.account_id:
            raise PermissionDenied("only administrators may change another account's state")
        self._require_root_for_admin_account(scope, account)
        account.state = state
        self.session.flush()
        return account

    @staticmethod
    def _require_root_for_admin_account(scope: Scope, account: Account) -> None:
        # A domain administrator of ROOT administers the admin accounts' domain, but
        # adding a user to one, or taking over one's password, would make it root.
        if account.type is AccountType.ADMIN and not scope.is_root_admin:
            raise PermissionDenied("only root administrators manage admin accounts")

    def _sees_account(self, scope: Scope, account: Account) -> bool:
        if scope.administers_domain(account.domain.path):
            return True
        return account.id == scope.account_id

    # -- users -------------------------------------------------------------------

    def create_user(
        self,
        scope: Scope,
        account_id: str,
        username: str,
        password: str | None = None,
        email: str | None = None,
    ) -> User:
        """Create a user in an account whose domain the caller administers.

        :param password: the initial password (at least 8 characters); a user
            without one can only use API keys.
        """
        check_name("user", username)
        account = self.get_account(scope, account_id)
        if not scope.administers_domain(account.domain.path):
            raise PermissionDenied("only domain administrators may create users")
        self._require_root_for_admin_account(scope, account)
        if self.session.scalar(sa.select(User.id).where(User.username == username)):
            raise AlreadyExists(f"user {username!r} already exists", subject="user", name=username)
        user = User(username=username, account_id=account.id, email=email)
        if password is not None:
            user.password_hash = self._hash(password)
        self.session.add(user)
        self.session.flush()
        return user

    def get_user(self, scope: Scope, user_id: str) -> User:
        """Return a user visible to the caller (itself, or any user of an administered domain)."""
        user = self.session.get(User, user_id)
        if user is None or not self._sees_user(scope, user):
            raise NotFound(f"no user {user_id!r}", subject="user", id=user_id)
        return user

    def find_user(self, scope: Scope, username: str) -> User:
        """Return a visible user by name."""
        user = self.session.scalar(sa.select(User).where(User.username == username))
        if user is None or not self._sees_user(scope, user):
            raise NotFound(f"no user {username!r}", subject="user", name=username)
        return user

    def list_users(self, scope: Scope) -> list[User]:
        """The users the caller sees."""
        query = sa.select(User).join(Account).join(Domain).order_by(User.username)
        if scope.role is Role.DOMAIN_ADMIN:
            query = query.where(Domain.path.startswith(scope.domain_path))
        elif scope.role is Role.USER:
            query = query.where(User.id == scope.user_id)
        return list(self.session.scalars(query))

    def set_password(self, scope: Scope, user_id: str, password: str) -> None:
        """Set a user's password (the user itself, or an administrator of its domain)."""
        user = self.get_user(scope, user_id)
        if user.id != scope.user_id:
            self._require_root_for_admin_account(scope, user.account)
        user.password_hash = self._hash(password)
        self.session.flush()

    def _sees_user(self, scope: Scope, user: User) -> bool:
        return user.id == scope.user_id or scope.administers_domain(user.account.domain.path)

    def _hash(self, password: str) -> str:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(
                f"passwords must have at least {MIN_PASSWORD_LENGTH} characters",
                field="password",
                reason="too_short",
                minimum=MIN_PASSWORD_LENGTH,
            )
        return self.hasher.hash(password)
