"""The Mixin of a placement group no user Mixin names (docs/occi.rst, "Placement groups").

A group is an engine row (:mod:`engine.compute.groups`); OCCI shows it as a
user Mixin the tenant defined (:mod:`occi.mapping.placement`). A group made
otherwise (through CIMI's ``placementGroup``, or before the tenant defined a
Mixin for it) still belongs in the caller's query interface (GFD.221 §3.6:
Mixins are how OCCI adds capabilities to entities), so each of the caller's
groups that no user Mixin names is rendered as a Mixin in Concord's scheme::

    http://schemas.concord.invalid/occi/placement_group#<term>
    location /mixin/placement_group/<term>/

Its term is made from the group's name (readable, unique among the caller's
groups: :func:`concord.terms.readable_terms`); it depends on the placement
Mixin of the group's policy and applies to computes. It behaves as a group's
user Mixin: computes created with it join the group, its collection lists the
members, membership changes are 409, and removing it removes the group. Once
the tenant defines a Mixin of its own for the group, that one replaces it: a
group is never shown twice.

These Mixins are built per request as unsaved :class:`~engine.resources.tag_models.Tag`
objects (never added to the session), so every path that renders or checks
a user Mixin treats them alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.compute.models import PlacementGroup
from engine.resources.tag_models import Tag
from occi.categories.placement import POLICIES
from occi.categories.templates import provider_scheme
from occi.mapping.templates import PROVIDER, readable_terms

GROUP_SCHEME = provider_scheme(PROVIDER, "placement_group")
#: Where a group's Mixin collection is: ``/mixin/placement_group/<term>/``.
GROUP_LOCATION = "/mixin/placement_group/"
#: The placement Mixin (its type identifier) of each engine policy.
POLICY_MIXINS = {policy: type_id for type_id, policy in POLICIES.items()}


@dataclass(frozen=True)
class GroupMixin:
    """A group shown through a Mixin of Concord's scheme: the unsaved tag, and the group."""

    tag: Tag
    group: PlacementGroup


def owner_of(tag: Tag) -> str:
    """Where a tag's group is found: its project, else its account (``owner_key``)."""
    return tag.project_id or tag.account_id


def group_key(group: PlacementGroup) -> tuple[str, str, str]:
    """``(owner key, name, policy)``: what a group's user Mixin must match."""
    return (group.owner_key, group.name, group.policy.value)


def tag_key(tag: Tag, policy: str) -> tuple[str, str, str]:
    """The :func:`group_key` a group user Mixin (its ``tag`` and policy) names."""
    return (owner_of(tag), tag.name, policy)


def group_mixins(
    groups: Iterable[PlacementGroup], named: Iterable[tuple[str, str, str]]
) -> dict[str, GroupMixin]:
    """``{type identifier: GroupMixin}`` for the caller's ``groups`` no user Mixin names.

    :param groups: the caller's groups (:meth:`PlacementGroupService.list`).
    :param named: the :func:`group_key` of every group a user Mixin names.
    """
    listed = list(groups)
    covered = set(named)
    terms = readable_terms(listed)  # over all of them: a term never changes meaning
    found: dict[str, GroupMixin] = {}
    for group in listed:
        if group_key(group) in covered:
            continue
        term = terms[group.id]
        tag = Tag(
            id=f"group:{group.id}",
            namespace=GROUP_SCHEME,
            name=term,
            title=f"placement group {group.name} ({group.policy.value})",
            path=f"{GROUP_LOCATION}{term}/",
            extends=[POLICY_MIXINS[group.policy.value]],
            kinds=["compute"],
            account_id=group.account_id,
            project_id=group.project_id,
            domain_id=group.domain_id,
        )
        found[GROUP_SCHEME + term] = GroupMixin(tag, group)
    return found


def is_group_mixin(tag: Tag) -> bool:
    """Whether ``tag`` is one of these Mixins (unsaved), not a tenant's tag."""
    return tag.id is not None and tag.id.startswith("group:") and tag.namespace == GROUP_SCHEME


__all__ = [
    "GROUP_LOCATION",
    "GROUP_SCHEME",
    "GroupMixin",
    "group_key",
    "group_mixins",
    "is_group_mixin",
    "owner_of",
    "tag_key",
]
