"""Placement groups: affinity and anti-affinity between an account's guests.

A group belongs to an account (and the project it was made in) and has a
policy (CloudStack's host affinity groups, OpenStack's server groups,
shared/reference/engine.md §1.3 and §2.1):

``affinity``
    every member on one host: a new member goes only to the host the live
    members are on (any host while the group has none);
``anti-affinity``
    never two members on one host: a new member goes only to a host with
    no live member. Strict, as OpenStack's policy of that name: when no
    host qualifies the guest is refused with ``CapacityUnavailable``.

A guest joins a group when it is created, and leaves it when it is deleted
(a deleted compute is no live member). A group's name is unique in the
project it was made in (OpenStack's server groups are a project's), or in
its account when made outside any project; groups are found by name there
only, so a tenant cannot name, join or learn of another's, and two projects
of one account may each have a ``web``.

**Races.** Two guests of one group placed at once must not both see a host
free of members. Before it reads where the members are, a placement
increments the group's ``placements`` with one ``UPDATE``: the same claim
pattern as a host's capacity, and the row lock it takes (held until the
placing transaction ends) serialises the placements of one group on
MariaDB (READ COMMITTED: the read that follows sees every member committed
before the lock was granted), while SQLite serialises all writers.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.compute.models import Compute, GroupPolicy, PlacementGroup, PlacementGroupMember
from engine.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from engine.lifecycle import Kind, State
from engine.resources import checks
from engine.scope import Owner, Scope


def owner_key(scope: Scope) -> str:
    """Where the caller's groups live: its current project, else its account.

    :raises InvalidInput: a scope with no account (a group belongs to one).
    """
    owner = Owner.for_scope(scope)
    if owner.account_id is None:
        raise InvalidInput("placement groups belong to an account; act as a user of one")
    return owner.project_id or owner.account_id


def _policy(policy: str) -> GroupPolicy:
    try:
        return GroupPolicy(policy)
    except ValueError:
        allowed = " or ".join(p.value for p in GroupPolicy)
        raise InvalidInput(
            f"a placement group's policy is {allowed}", field="placement_policy", reason="unknown"
        ) from None


class PlacementGroupService:
    """Create, find, list and delete an account's placement groups.

    :param session: the unit of work; the caller commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def _owned(self, scope: Scope) -> sa.Select[PlacementGroup]:
        return sa.select(PlacementGroup).where(PlacementGroup.owner_key == owner_key(scope))

    def find(self, scope: Scope, name: str) -> PlacementGroup:
        """The caller's group (of its project, else its account) called ``name``.

        :raises NotFound: it has none of that name (another account's is never found).
        """
        group = self.session.scalars(self._owned(scope).where(PlacementGroup.name == name)).first()
        if group is None:
            raise NotFound(
                f"no placement group {name[:255]!r}", subject="placement_group", name=name[:255]
            )
        return group

    def create(self, scope: Scope, name: str, policy: GroupPolicy | str) -> PlacementGroup:
        """Create a group in the caller's current project (else its account).

        :raises InvalidInput: a malformed name or an unknown policy.
        :raises AlreadyExists: the project (or account) has a group of that name.
        """
        checks.check_text("placement_group", name, 255, required=True)
        policy = _policy(policy)
        key = owner_key(scope)  # refuses a scope without an account
        owner = Owner.for_scope(scope)
        group = PlacementGroup(
            owner_key=key,
            account_id=owner.account_id,
            project_id=owner.project_id,
            domain_id=owner.domain_id,
            name=name,
            policy=policy,
            placements=0,
        )
        try:
            with self.session.begin_nested():
                self.session.add(group)
                self.session.flush()
        except IntegrityError:
            raise AlreadyExists(
                f"a placement group {name!r} exists already", subject="placement_group", name=name
            ) from None
        return group

    def ensure(self, scope: Scope, name: str, policy: GroupPolicy | str | None) -> PlacementGroup:
        """The caller's group ``name``, created with ``policy`` if there is none.

        :param policy: the policy it must have; ``None``: it must exist.
        :raises NotFound: no such group and no policy to create it with.
        :raises Conflict: the group exists with another policy.
        """
        checks.check_text("placement_group", name, 255, required=True)
        wanted = None if policy is None else _policy(policy)
        group = self.session.scalars(self._owned(scope).where(PlacementGroup.name == name)).first()
        if group is None:
            if wanted is None:
                raise NotFound(
                    f"no placement group {name!r}; give its policy to create it",
                    subject="placement_group",
                    name=name,
                )
            try:
                return self.create(scope, name, wanted)
            except AlreadyExists:  # made meanwhile by a concurrent request: use it
                group = self.find(scope, name)
        if wanted is not None and group.policy is not wanted:
            raise Conflict(
                f"the placement group {name!r} is an {group.policy.value} group, "
                f"not {wanted.value}",
                subject="placement_group",
                name=name,
                reason="policy",
            )
        return group

    def list(self, scope: Scope) -> builtins.list[PlacementGroup]:
        """The caller's groups (of its project, else its account), by name."""
        return builtins.list(self.session.scalars(self._owned(scope).order_by(PlacementGroup.name)))

    def delete(self, scope: Scope, name: str) -> None:
        """Delete the caller's group ``name``.

        :raises NotFound: no such group.
        :raises Conflict: it still has live members.
        """
        group = self.find(scope, name)
        if live_member_hosts(self.session, group.id, count_unplaced=True):
            raise Conflict(
                f"the placement group {name!r} still has guests",
                subject="placement_group",
                name=name,
                reason="in_use",
                other=Kind.COMPUTE.value,
            )
        self.session.delete(group)
        self.session.flush()

    def groups_of(self, compute_ids: Collection[str]) -> dict[str, PlacementGroup]:
        """The group of each of these computes that is in one, by compute id."""
        if not compute_ids:
            return {}
        rows = self.session.execute(
            sa.select(PlacementGroupMember.compute_id, PlacementGroup)
            .join(PlacementGroup, PlacementGroupMember.group_id == PlacementGroup.id)
            .where(PlacementGroupMember.compute_id.in_(compute_ids))
        )
        return {row[0]: row[1] for row in rows}


def group_for(
    session: Session, scope: Scope, name: str | None, policy: str | None
) -> PlacementGroup | None:
    """The group a new compute joins: ``name`` made with ``policy`` if new; None for none.

    :raises InvalidInput: a policy without a name.
    :raises NotFound, Conflict: as :meth:`PlacementGroupService.ensure`.
    """
    if name is None:
        if policy is not None:
            raise InvalidInput(
                "a placement policy goes with a placement group's name", field="placement_policy"
            )
        return None
    return PlacementGroupService(session).ensure(scope, name, policy)


def live_member_hosts(
    session: Session, group_id: str, *, count_unplaced: bool = False
) -> builtins.list[str | None]:
    """The host of each live member of a group (``None`` for one not on a host)."""
    query = (
        sa.select(Compute.host_id)
        .join(PlacementGroupMember, PlacementGroupMember.compute_id == Compute.id)
        .where(PlacementGroupMember.group_id == group_id, Compute.state != State.DELETED.value)
    )
    if not count_unplaced:
        query = query.where(Compute.host_id.is_not(None))
    return builtins.list(session.scalars(query))


def claim_group(session: Session, group: PlacementGroup) -> frozenset[str]:
    """Serialise this placement with the group's others; return the members' hosts.

    Called in the placing transaction, before placement reads hosts (see the
    module's "Races").
    """
    session.execute(
        sa.update(PlacementGroup)
        .where(PlacementGroup.id == group.id)
        .values(placements=PlacementGroup.placements + 1)
        .execution_options(synchronize_session=False)
    )
    return frozenset(h for h in live_member_hosts(session, group.id) if h is not None)


def join(session: Session, group: PlacementGroup, compute: Compute) -> None:
    """Record ``compute`` as a member of ``group`` (after it was placed)."""
    session.add(PlacementGroupMember(compute_id=compute.id, group_id=group.id))
    session.flush()


__all__ = [
    "GroupPolicy",
    "PlacementGroupService",
    "claim_group",
    "group_for",
    "join",
    "live_member_hosts",
]
