"""Resource limits of domains, accounts and projects, and their enforcement.

A limit is looked up on the owner itself, then (for domains) inherited from
the nearest ancestor that sets one; accounts and projects fall back to the
defaults below, which are CloudStack's (reference/engine.md §1.1). ROOT is
never limited. ``-1`` means unlimited.

Consumption is checked and counted with one conditional ``UPDATE ... SET
used = used + n WHERE used + n <= limit`` over every counter of the owner
chain at once (inside a savepoint: when fewer counters moved than asked,
it is undone and retried counter by counter to name the limit; the chain's
counters are locked first, so that the retry takes no lock it does not
already hold): atomic on
SQLite and MariaDB alike, so concurrent requests cannot overshoot a limit,
and the counters move in the caller's transaction together with the state
change.

Lock order: a transaction that touches both takes the quota counters
before the capacity rows (hosts, pools), when it charges and when it gives
back. Two transactions taking them in opposite orders (a creation charging
then claiming, a deletion releasing the pool then the quota) would
deadlock on MariaDB, and one of them would fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound, PermissionDenied, QuotaExceeded
from engine.scope import Owner, Scope, domain_chain
from engine.tenancy.models import (
    UNLIMITED,
    Account,
    Domain,
    LimitOwner,
    Project,
    ResourceLimit,
    ResourceType,
)
from engine.tenancy.quota_counters import increment_all, lock_all, release_all
from engine.tenancy.quota_models import ResourceCount

R = ResourceType
DEFAULT_ACCOUNT_LIMITS: Mapping[ResourceType, int] = {
    R.INSTANCES: 20,
    R.CPU: 40,
    R.MEMORY: 40960,
    R.VOLUMES: 20,
    R.PRIMARY_STORAGE: 200,
    R.NETWORKS: 20,
    R.SNAPSHOTS: 20,
    R.TEMPLATES: 20,
    R.PROJECTS: 20,
}
DEFAULT_PROJECT_LIMITS: Mapping[ResourceType, int] = {
    **DEFAULT_ACCOUNT_LIMITS,
    R.PROJECTS: 0,
}


@dataclass(frozen=True)
class LimitUsage:
    """A limit and the amount in use, for reports."""

    resource_type: ResourceType
    maximum: int
    used: int


class QuotaService:
    """Set limits and charge or release resource amounts against them.

    :param session: the unit of work shared with the state change being charged.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- administration ----------------------------------------------------------

    def set_limit(
        self,
        scope: Scope,
        owner_kind: LimitOwner,
        owner_id: str,
        resource_type: ResourceType,
        maximum: int,
    ) -> ResourceLimit:
        """Set the limit of one resource type for a domain, account or project.

        A domain's limit is set by administrators of its *parent* (a domain
        administrator cannot raise its own ceiling); an account's or a
        project's by administrators of its domain.
        """
        if maximum < UNLIMITED:
            raise InvalidInput("a limit is -1 (unlimited) or a count >= 0", field="maximum")
        # An owner the caller cannot see is NotFound, never PermissionDenied.
        self._visible_owner(scope, owner_kind, owner_id)
        domain = self._governing_domain(owner_kind, owner_id)
        if not scope.administers_domain(domain.path):
            raise PermissionDenied("only administrators of the owner's parent domain set limits")
        limit = self.session.scalar(
            sa.select(ResourceLimit).where(
                ResourceLimit.owner_kind == owner_kind,
                ResourceLimit.owner_id == owner_id,
                ResourceLimit.resource_type == resource_type,
            )
        )
        if limit is None:
            limit = ResourceLimit(
                owner_kind=owner_kind,
                owner_id=owner_id,
                resource_type=resource_type,
                maximum=maximum,
            )
            self.session.add(limit)
        else:
            limit.maximum = maximum
        self.session.flush()
        return limit

    def usage(self, scope: Scope, owner_kind: LimitOwner, owner_id: str) -> list[LimitUsage]:
        """Every resource type's effective limit and current use for one owner."""
        self._visible_owner(scope, owner_kind, owner_id)
        limits = self._owner_limits(owner_kind, owner_id, list(ResourceType))
        return [
            LimitUsage(rt, limits[rt], self._used(owner_kind, owner_id, rt)) for rt in ResourceType
        ]

    def effective_limit(
        self, owner_kind: LimitOwner, owner_id: str, resource_type: ResourceType
    ) -> int:
        """The limit that applies: explicit, inherited (domains) or default."""
        return self._owner_limits(owner_kind, owner_id, [resource_type])[resource_type]

    def _owner_limits(
        self, owner_kind: LimitOwner, owner_id: str, resource_types: list[ResourceType]
    ) -> dict[ResourceType, int]:
        """:meth:`effective_limit` of several resource types, with one chain and one query."""
        chain: list[tuple[LimitOwner, str]] = (
            self._domain_chain(owner_id)
            if owner_kind is LimitOwner.DOMAIN
            else [(owner_kind, owner_id)]
        )
        if not chain:  # ROOT, or no such domain
            return dict.fromkeys(resource_types, UNLIMITED)
        limits = self._effective_limits(chain, resource_types)
        return {rt: limits[(owner_kind, owner_id, rt)] for rt in resource_types}

    # -- enforcement -------------------------------------------------------------

    def charge(
        self, owner: Owner, amounts: Mapping[ResourceType, int], *, domain_path: str | None = None
    ) -> None:
        """Count ``amounts`` against the owner and every domain above it, or refuse.

        The project (when set) takes the place of the account, as in
        CloudStack where a project is charged instead of its members.

        :param domain_path: the materialised path of the owner's domain, when
            the caller knows it (a scope's own domain): saves reading it.
        :raises QuotaExceeded: one limit would be passed; nothing is counted.
        """
        wanted = {rt: amount for rt, amount in amounts.items() if amount > 0}
        if not wanted:
            return
        chain = self._chain(owner, domain_path)
        limits = self._effective_limits(chain, list(wanted))
        lock_all(self.session, chain, wanted)
        attempt = self.session.begin_nested()
        try:
            counted = increment_all(self.session, chain, wanted, limits)
        except BaseException:
            attempt.rollback()
            raise
        if counted:
            attempt.commit()
            return
        # A limit would be passed, or a counter is missing: undo, then go
        # counter by counter to create what is missing and name the limit.
        attempt.rollback()
        with self.session.begin_nested():
            for rt, amount in wanted.items():
                for kind, owner_id in chain:
                    limit = limits[(kind, owner_id, rt)]
                    if not self._increment(kind, owner_id, rt, amount, limit):
                        used = self._used(kind, owner_id, rt)
                        raise QuotaExceeded(
                            f"the {kind.value} limit for {rt.value} is {limit}: {used} in use, "
                            f"{amount} more requested",
                            owner_kind=kind.value,
                            resource_type=rt.value,
                            limit=limit,
                            used=used,
                            requested=amount,
                        )

    def release(self, owner: Owner, amounts: Mapping[ResourceType, int]) -> None:
        """Give back amounts charged earlier (never below zero), in one statement."""
        given = {rt: amount for rt, amount in amounts.items() if amount > 0}
        if not given:
            return
        release_all(self.session, self._chain(owner), given)

    # -- internals ---------------------------------------------------------------

    def _chain(self, owner: Owner, domain_path: str | None = None) -> list[tuple[LimitOwner, str]]:
        """Who is charged: the project or account, then its domain and the domains above."""
        chain: list[tuple[LimitOwner, str]] = []
        if owner.project_id:
            chain.append((LimitOwner.PROJECT, owner.project_id))
        elif owner.account_id:
            chain.append((LimitOwner.ACCOUNT, owner.account_id))
        if not owner.domain_id:
            return chain
        return chain + self._domain_chain(owner.domain_id, domain_path)

    def _domain_chain(
        self, domain_id: str, path: str | None = None
    ) -> list[tuple[LimitOwner, str]]:
        """A domain and its ancestors, nearest first, without ROOT (never limited).

        Its materialised path (``/<root>/.../<self>/``, read once unless
        given) names them all.
        """
        if path is None or not path.rstrip("/").endswith("/" + domain_id):
            path = self.session.scalar(sa.select(Domain.path).where(Domain.id == domain_id))
        if path is None:
            return []
        ancestors = domain_chain(path)[1:]  # ROOT is never limited
        return [(LimitOwner.DOMAIN, found) for found in reversed(ancestors)]

    def _effective_limits(
        self, chain: list[tuple[LimitOwner, str]], resource_types: list[ResourceType]
    ) -> dict[tuple[LimitOwner, str, ResourceType], int]:
        """The limit of every owner of ``chain`` for each resource type, in one query.

        An owner's explicit limit, else: an account's or a project's default;
        a domain's nearest ancestor's explicit limit, else unlimited. Every
        domain's ancestors (ROOT aside) must follow it in ``chain``, as
        :meth:`_chain` and :meth:`_domain_chain` list them.
        """
        explicit = {
            (kind, owner_id, rt): maximum
            for kind, owner_id, rt, maximum in self.session.execute(
                sa.select(
                    ResourceLimit.owner_kind,
                    ResourceLimit.owner_id,
                    ResourceLimit.resource_type,
                    ResourceLimit.maximum,
                ).where(
                    ResourceLimit.owner_id.in_([owner_id for _, owner_id in chain]),
                    ResourceLimit.resource_type.in_(resource_types),
                )
            )
        }
        limits: dict[tuple[LimitOwner, str, ResourceType], int] = {}
        for rt in resource_types:
            inherited = UNLIMITED
            # From the top down, so that each domain knows what it inherits.
            for kind, owner_id in reversed(chain):
                value = explicit.get((kind, owner_id, rt))
                if kind is LimitOwner.DOMAIN:
                    inherited = value if value is not None else inherited
                    limits[(kind, owner_id, rt)] = inherited
                elif value is not None:
                    limits[(kind, owner_id, rt)] = value
                elif kind is LimitOwner.ACCOUNT:
                    limits[(kind, owner_id, rt)] = DEFAULT_ACCOUNT_LIMITS[rt]
                else:
                    limits[(kind, owner_id, rt)] = DEFAULT_PROJECT_LIMITS[rt]
        return limits

    def _increment(
        self, kind: LimitOwner, owner_id: str, rt: ResourceType, amount: int, limit: int
    ) -> bool:
        statement = sa.update(ResourceCount).where(*self._count_key(kind, owner_id, rt))
        if limit != UNLIMITED:
            statement = statement.where(ResourceCount.used + amount <= limit)
        statement = statement.values(used=ResourceCount.used + amount)
        if self.session.execute(statement).rowcount:  # type: ignore[attr-defined]
            return True
        # Nothing counted: the limit, or no counter yet (see _ensure_counter).
        if self.session.get(ResourceCount, (kind, owner_id, rt)) is not None:
            return False
        self._ensure_counter(kind, owner_id, rt)
        return bool(self.session.execute(statement).rowcount)  # type: ignore[attr-defined]

    def open_counters(self, kind: LimitOwner, owner_id: str) -> None:
        """Create the zeroed counters of a new domain, account or project.

        Called in the transaction that creates the owner, when no other
        transaction can know the owner yet. Counters created later, under
        concurrency, would make InnoDB take gap locks on the new keys inside
        savepoints, which deadlock when one of the charges is refused.
        """
        self.session.add_all(
            ResourceCount(owner_kind=kind, owner_id=owner_id, resource_type=rt, used=0)
            for rt in ResourceType
        )
        self.session.flush()

    def close_counters(self, kind: LimitOwner, owner_id: str) -> None:
        """Delete the counters and limits of a domain, account or project that is deleted.

        Called in the transaction that deletes the owner, once nothing is
        charged to it any more (a deleted domain has no accounts, projects
        or sub-domains).
        """
        for model in (ResourceCount, ResourceLimit):
            self.session.execute(
                sa.delete(model).where(model.owner_kind == kind, model.owner_id == owner_id)
            )

    def _ensure_counter(self, kind: LimitOwner, owner_id: str, rt: ResourceType) -> None:
        # Owners get their counters at creation (open_counters); this covers
        # resource types added after an owner was created.
        if self.session.get(ResourceCount, (kind, owner_id, rt)) is not None:
            return
        try:
            with self.session.begin_nested():
                self.session.add(
                    ResourceCount(owner_kind=kind, owner_id=owner_id, resource_type=rt, used=0)
                )
        except IntegrityError:
            pass  # another transaction created it first: fine, we only need it to exist

    def _used(self, kind: LimitOwner, owner_id: str, rt: ResourceType) -> int:
        used = self.session.scalar(
            sa.select(ResourceCount.used).where(*self._count_key(kind, owner_id, rt))
        )
        return int(used or 0)

    def _explicit(self, kind: LimitOwner, owner_id: str, rt: ResourceType) -> int | None:
        return self.session.scalar(
            sa.select(ResourceLimit.maximum).where(
                ResourceLimit.owner_kind == kind,
                ResourceLimit.owner_id == owner_id,
                ResourceLimit.resource_type == rt,
            )
        )

    @staticmethod
    def _count_key(
        kind: LimitOwner, owner_id: str, rt: ResourceType
    ) -> tuple[sa.ColumnElement[bool], ...]:
        return (
            ResourceCount.owner_kind == kind,
            ResourceCount.owner_id == owner_id,
            ResourceCount.resource_type == rt,
        )

    def _governing_domain(self, owner_kind: LimitOwner, owner_id: str) -> Domain:
        """The domain whose administrators may set this owner's limits."""
        if owner_kind is LimitOwner.DOMAIN:
            domain = self.session.get(Domain, owner_id)
            if domain is None:
                raise NotFound(f"no domain {owner_id!r}", subject="domain", id=owner_id)
            if domain.parent is None:
                raise InvalidInput("the ROOT domain is never limited")
            return domain.parent
        owner: Account | Project | None = (
            self.session.get(Account, owner_id)
            if owner_kind is LimitOwner.ACCOUNT
            else self.session.get(Project, owner_id)
        )
        if owner is None:
            raise NotFound(
                f"no {owner_kind.value} {owner_id!r}", subject=owner_kind.value, id=owner_id
            )
        governing = self.session.get(Domain, owner.domain_id)
        if governing is None:  # only if the row vanished under us
            raise NotFound(f"no domain for {owner_kind.value} {owner_id!r}", subject="domain")
        return governing

    def _visible_owner(self, scope: Scope, owner_kind: LimitOwner, owner_id: str) -> None:
        if owner_kind is LimitOwner.ACCOUNT and owner_id == scope.account_id:
            return
        if owner_kind is LimitOwner.PROJECT and owner_id in scope.project_ids:
            return
        if owner_kind is LimitOwner.DOMAIN and owner_id == scope.domain_id:
            return
        try:
            governing: Domain | None = self._governing_domain(owner_kind, owner_id)
        except InvalidInput:
            governing = self.session.get(Domain, owner_id)  # ROOT: its own governing domain
        if governing is None or not scope.administers_domain(governing.path):
            raise NotFound(
                f"no {owner_kind.value} {owner_id!r}", subject=owner_kind.value, id=owner_id
            )
