"""Placement groups as user Mixins (see :mod:`occi.categories.placement`).

A user Mixin that depends directly on ``placement#affinity`` or
``placement#anti-affinity`` *is* a group of the caller's account, named by
its term: defining it makes (or finds) the engine's group, creating a
compute with it puts the compute in the group, and removing it removes the
group (409 while the group has guests). Membership is decided at creation:
any later association or dissociation is a 409. A compute that joined the
group otherwise (through CIMI's ``placementGroup``) is rendered with the
Mixin all the same (:func:`with_group_mixins`). A group of the caller's that
no user Mixin names is shown through a Mixin in Concord's scheme instead
(:mod:`occi.mapping.group_mixins`), which behaves the same.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from engine.errors import Conflict, InvalidInput
from engine.resources.tag_models import Tag
from occi.categories.placement import POLICIES
from occi.mapping.context import OcciContext
from occi.mapping.validate import Checked


def policy_of(extends: Any) -> str | None:
    """The policy of a Mixin depending on these type identifiers (None: not a group).

    :raises InvalidInput: it depends on both placement Mixins.
    """
    policies = {POLICIES[type_id] for type_id in extends if type_id in POLICIES}
    if len(policies) > 1:
        raise InvalidInput("a placement group is either affinity or anti-affinity, not both")
    return next(iter(policies), None)


def group_of(tag: Tag | None) -> tuple[str, str] | None:
    """``(group name, policy)`` of a user Mixin's tag, if it is a placement group."""
    if tag is None:
        return None
    policy = policy_of(tag.extends)
    return None if policy is None else (tag.name, policy)


def with_group_mixins(
    ctx: OcciContext, compute_ids: Collection[str], tags: dict[str, list[Tag]]
) -> dict[str, list[Tag]]:
    """``tags`` (by resource id) with each grouped compute's group Mixin added.

    A compute that joined its group through CIMI (``placementGroup``), or
    before the tenant defined the group's Mixin, carries no assignment of
    it; it is a member all the same, listed in the Mixin's collection, so
    it is rendered with the Mixin (one query for the memberships).
    """
    groups = ctx.engine.placement_groups.groups_of(compute_ids)
    if not groups:
        return tags
    mixins: dict[tuple[str, str, str], Tag] = {}
    for tag in ctx.listed_tags:
        group = group_of(tag)
        if group is not None:
            # A group is named within its project, else its account (owner_key).
            mixins.setdefault((tag.project_id or tag.account_id, *group), tag)
    shown = dict(tags)
    unnamed: dict[str, Tag] | None = None
    for compute_id, placement_group in groups.items():
        key = (placement_group.owner_key, placement_group.name, placement_group.policy.value)
        mixin = mixins.get(key)
        if mixin is None:
            # A group of the caller's that no user Mixin names has Concord's
            # (occi.mapping.group_mixins); another tenant's has none here.
            if unnamed is None:
                unnamed = {g.group.id: g.tag for g in ctx.groups.values()}
            mixin = unnamed.get(placement_group.id)
        carried = shown.get(compute_id, [])
        if mixin is not None and all(t.id != mixin.id for t in carried):
            shown[compute_id] = [*carried, mixin]
    return shown


def creation_arguments(ctx: OcciContext, checked: Checked) -> dict[str, str]:
    """The engine's ``placement_group``/``placement_policy`` of a new compute's Mixins.

    :raises InvalidInput: a provider placement Mixin named directly, or two groups.
    """
    groups = []
    for mixin in checked.mixins:
        if mixin.type_id in POLICIES:
            raise InvalidInput(
                f"{mixin.type_id} is not a group: define a Mixin of your own that depends on "
                "it (POST /-/), and create computes with that Mixin",
                category=mixin.type_id,
            )
        made = ctx.group(mixin.type_id)  # a group's Mixin in Concord's scheme: its real name
        group = (made.name, made.policy.value) if made else group_of(ctx.tag(mixin.type_id))
        if group is not None:
            groups.append(group)
    if len(groups) > 1:
        raise InvalidInput("a compute joins at most one placement group")
    if not groups:
        return {}
    return {"placement_group": groups[0][0], "placement_policy": groups[0][1]}


def refuse_membership_change(tag: Tag | None, type_id: str) -> None:
    """A group's members are chosen at creation only (they would have to move).

    :raises Conflict: ``tag`` is a placement group's.
    """
    if group_of(tag) is not None:
        raise Conflict(
            f"{type_id} is a placement group: a compute joins it when it is created, "
            "and stays in it until it is deleted",
            category=type_id,
        )


__all__ = [
    "creation_arguments",
    "group_of",
    "policy_of",
    "refuse_membership_change",
    "with_group_mixins",
]
