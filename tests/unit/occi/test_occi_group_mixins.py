"""The Mixins Concord lists for placement groups no user Mixin names (occi.mapping.group_mixins)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from concord.terms import TERM
from engine.compute.models import GroupPolicy, PlacementGroup
from occi.categories.placement import AFFINITY, ANTI_AFFINITY
from occi.mapping.group_mixins import (
    GROUP_LOCATION,
    GROUP_SCHEME,
    group_key,
    group_mixins,
    is_group_mixin,
)
from occi.mapping.templates import tag_as_mixin

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _group(index: int, name: str, policy: GroupPolicy) -> PlacementGroup:
    return PlacementGroup(
        id=f"{index:08d}-0000-4000-8000-000000000000",
        account_id="acct",
        project_id=None,
        domain_id="dom",
        owner_key="acct",
        name=name,
        policy=policy,
        placements=0,
        created=EPOCH + dt.timedelta(seconds=index),
    )


GROUPS = st.lists(
    st.tuples(st.text(min_size=1, max_size=20), st.sampled_from(list(GroupPolicy))),
    max_size=8,
    unique_by=lambda pair: pair[0],  # a name is unique per project (engine.compute.groups)
).map(lambda pairs: [_group(i, name, policy) for i, (name, policy) in enumerate(pairs)])


@given(groups=GROUPS, data=st.data())
def test_every_unnamed_group_gets_one_valid_mixin(
    groups: list[PlacementGroup], data: st.DataObject
) -> None:
    keys = [group_key(g) for g in groups]
    named = data.draw(st.sets(st.sampled_from(keys)) if keys else st.just(set()), label="named")
    found = group_mixins(groups, named)
    # Exactly the groups no user Mixin names, each once.
    assert sorted(m.group.id for m in found.values()) == sorted(
        g.id for g in groups if group_key(g) not in named
    )
    locations = set()
    for type_id, shown in found.items():
        mixin = tag_as_mixin(shown.tag)  # what the registry holds
        assert mixin.type_id == type_id and mixin.scheme == GROUP_SCHEME
        assert TERM.fullmatch(mixin.term), mixin.term
        assert mixin.location == f"{GROUP_LOCATION}{mixin.term}/"
        policy = AFFINITY if shown.group.policy is GroupPolicy.AFFINITY else ANTI_AFFINITY
        assert mixin.depends == (policy.type_id,)
        assert is_group_mixin(shown.tag)
        locations.add(mixin.location)
    assert len(locations) == len(found)  # unique terms, hence unique collections


@given(groups=GROUPS)
def test_a_groups_term_does_not_change_when_others_are_named(groups: list[PlacementGroup]) -> None:
    everything = {m.group.id: t for t, m in group_mixins(groups, ()).items()}
    for group in groups:
        others = [group_key(g) for g in groups if g is not group]
        alone = group_mixins(groups, others)
        assert list(alone) == [everything[group.id]]
