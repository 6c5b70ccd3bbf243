"""Placement groups: affinity and anti-affinity on real (simulated libvirt) hosts.

The cloud of :mod:`unit.engine.cloud` has two hosts of 4 cores and 8 GiB in
one cluster (over-provisioning 1.0 unless the defaults say otherwise), and
tenants alice and bob (two accounts of one domain) and carol (another domain).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from unit.engine.cloud import Cloud, build_cloud, create, perform

from engine.compute.groups import PlacementGroupService
from engine.compute.models import Compute, PlacementGroup, PlacementGroupMember
from engine.compute.service import ComputeService
from engine.db import Database
from engine.errors import CapacityUnavailable, Conflict, InvalidInput, NotFound
from engine.lifecycle import Action, State
from engine.tenancy.passwords import PasswordHasher


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def host_of(cloud: Cloud, compute_id: str) -> str | None:
    return cloud.compute(compute_id).host_id


def members(cloud: Cloud, name: str) -> list[str]:
    with cloud.database.transaction() as session:
        return sorted(
            session.scalars(
                sa.select(PlacementGroupMember.compute_id)
                .join(PlacementGroup, PlacementGroup.id == PlacementGroupMember.group_id)
                .where(PlacementGroup.name == name)
            )
        )


def test_anti_affinity_spreads_and_refuses_when_no_host_is_free(cloud: Cloud) -> None:
    first, _ = create(cloud, placement_group="web", placement_policy="anti-affinity")
    second, _ = create(cloud, placement_group="web")  # the group exists: the name suffices
    assert {host_of(cloud, first), host_of(cloud, second)} == {
        cloud.ids["host-1"],
        cloud.ids["host-2"],
    }
    with pytest.raises(CapacityUnavailable, match="apart from the other guests"):
        create(cloud, placement_group="web")
    assert members(cloud, "web") == sorted([first, second])
    # A guest in no group still goes where there is room.
    create(cloud)


def test_affinity_keeps_guests_together_even_when_another_host_has_room(cloud: Cloud) -> None:
    first, _ = create(cloud, placement_group="db", placement_policy="affinity")
    target = host_of(cloud, first)
    for _ in range(3):
        other, _ = create(cloud, placement_group="db")
        assert host_of(cloud, other) == target
    # 4 cores: the fifth single-vCPU guest (over-provisioning aside) cannot join.
    with cloud.database.transaction() as session:
        host = session.get(type(cloud.host()), target)
        assert host is not None
        host.allocated_vcpus = 10_000  # full, whatever the over-provisioning factor
    with pytest.raises(CapacityUnavailable, match="beside the other guests"):
        create(cloud, placement_group="db")
    create(cloud)  # the other host has room for a guest in no group


def test_deleted_members_no_longer_count(cloud: Cloud) -> None:
    first, _ = create(cloud, placement_group="web", placement_policy="anti-affinity")
    create(cloud, placement_group="web")
    cloud.run_jobs()
    with cloud.database.transaction() as session:
        ComputeService(session).delete(cloud.scopes["alice"], first)
    cloud.run_jobs()
    assert cloud.compute(first).state == State.DELETED
    third, _ = create(cloud, placement_group="web")
    assert host_of(cloud, third) is not None


def test_groups_belong_to_their_account(cloud: Cloud) -> None:
    create(cloud, placement_group="web", placement_policy="anti-affinity")
    # bob cannot name alice's group: it does not exist for him...
    with pytest.raises(NotFound, match="no placement group 'web'"):
        create(cloud, "bob", placement_group="web")
    # ...and makes his own of that name, with its own rule.
    mine, _ = create(cloud, "bob", placement_group="web", placement_policy="affinity")
    theirs, _ = create(cloud, "bob", placement_group="web")
    assert host_of(cloud, mine) == host_of(cloud, theirs)
    with cloud.database.transaction() as session:
        groups = PlacementGroupService(session)
        assert [(g.name, g.policy.value) for g in groups.list(cloud.scopes["alice"])] == [
            ("web", "anti-affinity")
        ]
        assert [(g.name, g.policy.value) for g in groups.list(cloud.scopes["bob"])] == [
            ("web", "affinity")
        ]
        assert groups.list(cloud.scopes["carol"]) == []
        with pytest.raises(NotFound):
            groups.delete(cloud.scopes["carol"], "web")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"placement_group": "web", "placement_policy": "affinity"}, Conflict),
        ({"placement_policy": "affinity"}, InvalidInput),
        ({"placement_group": "new", "placement_policy": "soft"}, InvalidInput),
        ({"placement_group": "", "placement_policy": "affinity"}, InvalidInput),
        ({"placement_group": "x" * 256, "placement_policy": "affinity"}, InvalidInput),
        ({"placement_group": "new"}, NotFound),
    ],
)
def test_bad_group_requests_are_refused_and_change_nothing(
    cloud: Cloud, kwargs: dict[str, str], error: type[Exception]
) -> None:
    create(cloud, placement_group="web", placement_policy="anti-affinity")
    with cloud.database.transaction() as session:
        before = session.scalar(sa.select(sa.func.count()).select_from(Compute))
    with pytest.raises(error):
        create(cloud, **kwargs)
    with cloud.database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Compute)) == before
        assert [g.name for g in PlacementGroupService(session).list(cloud.scopes["alice"])] == [
            "web"
        ]


def test_a_group_with_live_members_is_not_deleted(cloud: Cloud) -> None:
    compute_id, _ = create(cloud, placement_group="web", placement_policy="affinity")
    cloud.run_jobs()
    with cloud.database.transaction() as session, pytest.raises(Conflict, match="still has"):
        PlacementGroupService(session).delete(cloud.scopes["alice"], "web")
    job = perform(cloud, compute_id, Action.STOP)
    assert job is not None
    with cloud.database.transaction() as session:
        ComputeService(session).delete(cloud.scopes["alice"], compute_id)
    cloud.run_jobs()
    with cloud.database.transaction() as session:
        PlacementGroupService(session).delete(cloud.scopes["alice"], "web")
        assert PlacementGroupService(session).list(cloud.scopes["alice"]) == []


def test_concurrent_anti_affinity_placements_never_share_a_host(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        PlacementGroupService(session).create(cloud.scopes["alice"], "web", "anti-affinity")
    outcomes: list[object] = []
    barrier = threading.Barrier(4)

    def place() -> None:
        barrier.wait()
        try:
            outcomes.append(create(cloud, placement_group="web")[0])
        except CapacityUnavailable as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=place) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    placed = [o for o in outcomes if isinstance(o, str)]
    hosts = [host_of(cloud, compute_id) for compute_id in placed]
    # Two hosts: exactly two guests placed, one on each; the others refused.
    assert len(outcomes) == 4 and sorted(hosts) == sorted(
        cloud.ids[h] for h in ("host-1", "host-2")
    )
    assert members(cloud, "web") == sorted(placed)


def test_group_names_are_unique_per_project_and_shared_by_its_members(cloud: Cloud) -> None:
    from engine.errors import AlreadyExists
    from engine.tenancy.service import TenancyService

    alice, bob = cloud.scopes["alice"], cloud.scopes["bob"]
    with cloud.database.transaction() as session:
        tenancy = TenancyService(session)
        first = tenancy.create_project(alice, "one").id
        second = tenancy.create_project(alice, "two").id
    with cloud.database.transaction() as session:
        groups = PlacementGroupService(session)
        groups.create(alice.with_project(first), "web", "affinity")
        # Another project of the same account, and the account outside projects,
        # may each have their own "web".
        groups.create(alice.with_project(second), "web", "anti-affinity")
        groups.create(alice, "web", "anti-affinity")
        # A member of the first project (of another account) finds its group...
        assert groups.find(bob.with_project(first), "web").policy.value == "affinity"
        # ...and cannot make a second one of that name there.
        with pytest.raises(AlreadyExists):
            groups.create(bob.with_project(first), "web", "anti-affinity")
        # Outside the project, bob has no "web".
        with pytest.raises(NotFound):
            groups.find(bob, "web")
        assert [g.policy.value for g in groups.list(alice.with_project(second))] == [
            "anti-affinity"
        ]
