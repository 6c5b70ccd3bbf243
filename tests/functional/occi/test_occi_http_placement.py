"""Placement groups over OCCI: a user Mixin depending on placement#affinity or #anti-affinity.

The functional cloud disables host-2; tests that need two hosts enable it.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from functional.occi.occiclient import (
    COMPUTE,
    OCCI_JSON,
    REQUEST_MEDIA,
    STORAGE,
    TEXT_PLAIN,
    OcciClient,
)

from engine.compute.models import Compute, PlacementGroup
from engine.inventory.models import AllocationState, Host
from occi.model import EntityRendering

PLACEMENT = "http://schemas.concord.invalid/occi/placement#"
AFFINITY = PLACEMENT + "affinity"
ANTI_AFFINITY = PLACEMENT + "anti-affinity"


def group(occi: OcciClient, term: str, policy: str, **kwargs: object) -> str:
    """Define a user Mixin depending on a placement Mixin (``depends`` needs JSON)."""
    return occi.define_tag(term, f"/{term}/", media=OCCI_JSON, depends=(policy,), **kwargs)


def host_of(cloud, path: str) -> str | None:
    with cloud.database.transaction() as session:
        return session.scalar(sa.select(Compute.host_id).where(Compute.id == path.rsplit("/")[-1]))


def enable_host_2(cloud) -> None:
    with cloud.database.transaction() as session:
        session.execute(
            sa.update(Host)
            .where(Host.id == cloud.ids["host-2"])
            .values(allocation_state=AllocationState.ENABLED)
        )


def test_the_placement_mixins_are_in_the_query_interface(occi: OcciClient, cloud) -> None:
    response = occi.request("GET", "/-/", accept=OCCI_JSON, status=200)
    mixins = {m["scheme"] + m["term"]: m for m in response.json["mixins"]}
    for type_id in (AFFINITY, ANTI_AFFINITY):
        assert mixins[type_id]["applies"] == ["http://schemas.ogf.org/occi/infrastructure#compute"]
        assert mixins[type_id]["location"].startswith("/mixin/placement/")


@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_anti_affinity_spreads_then_refuses(occi: OcciClient, cloud, media: str) -> None:
    enable_host_2(cloud)
    web = group(occi, "web", ANTI_AFFINITY)
    first = occi.create(COMPUTE, mixins=[web], media=media)
    second = occi.create(COMPUTE, mixins=[web], media=media)
    assert host_of(cloud, first) != host_of(cloud, second)
    document = EntityRendering(kind=COMPUTE, mixins=(web,))
    response = occi.request("POST", "/compute/", document=document, media=media, status=409)
    assert "anti-affinity group" in response.text
    assert sorted(occi.listing("/web/")) == sorted([first, second])
    assert sorted(occi.listing("/mixin/placement/anti-affinity/")) == sorted([first, second])
    assert web in occi.read(first).mixins
    # A compute in no group still goes where there is room.
    occi.create(COMPUTE, media=media)


def test_affinity_keeps_computes_on_one_host(occi: OcciClient, cloud) -> None:
    enable_host_2(cloud)
    db = group(occi, "db", AFFINITY)
    placed = [occi.create(COMPUTE, mixins=[db]) for _ in range(3)]
    assert len({host_of(cloud, path) for path in placed}) == 1


def test_membership_is_decided_at_creation(occi: OcciClient, cloud) -> None:
    web = group(occi, "web", ANTI_AFFINITY)
    member = occi.create(COMPUTE, mixins=[web])
    outsider = occi.create(COMPUTE)
    cloud.run_jobs()
    occi.members("/web/", [outsider], "POST", status=409)
    occi.members("/web/", [member], "PUT", status=409)
    occi.members("/web/", [member], "DELETE", status=409)
    occi.request("POST", outsider, document=EntityRendering(mixins=(web,)), status=409)
    # A full update that leaves the group's Mixin out would take the compute out.
    occi.request("PUT", member, document=EntityRendering(kind=COMPUTE), status=409)
    assert occi.listing("/web/") == [member]
    # The group's Mixin goes once it has no computes; the engine's group with it.
    body = f'Category: web; scheme="{web[: -len("web")]}"; class="mixin"\r\n'
    headers = {"Content-Type": TEXT_PLAIN}
    occi.request("DELETE", "/-/", headers=headers, body=body, status=409)
    occi.request("DELETE", member, status="2xx")
    cloud.run_jobs()
    occi.request("DELETE", "/-/", headers=headers, body=body, status=200)
    with cloud.database.transaction() as session:
        assert session.scalars(sa.select(PlacementGroup.name)).all() == []


def test_malformed_groups_are_refused(occi: OcciClient, cloud) -> None:
    # A provider placement Mixin is not a group itself.
    document = EntityRendering(kind=COMPUTE, mixins=(ANTI_AFFINITY,))
    response = occi.request("POST", "/compute/", document=document, status=400)
    assert "define a Mixin of your own" in response.text
    occi.define_tag(
        "both", "/both/", media=OCCI_JSON, depends=(AFFINITY, ANTI_AFFINITY), status=400
    )
    group(
        occi,
        "vols",
        AFFINITY,
        applies=("http://schemas.ogf.org/occi/infrastructure#storage",),
        status=400,
    )
    # Two groups for one compute.
    one, two = group(occi, "one", AFFINITY), group(occi, "two", AFFINITY)
    document = EntityRendering(kind=COMPUTE, mixins=(one, two))
    occi.request("POST", "/compute/", document=document, status=400)
    # A group Mixin on a volume.
    document = EntityRendering(kind=STORAGE, mixins=(one,), attributes={"occi.storage.size": 1})
    occi.request("POST", "/storage/", document=document, status=400)
    # The same group name with the other policy, under another scheme.
    group(occi, "one", ANTI_AFFINITY, scheme="http://example.org/alice/other#", status=409)
    with cloud.database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Compute)) == 0


def test_groups_are_the_tenants_own(occi: OcciClient, cloud) -> None:
    enable_host_2(cloud)
    web = group(occi, "web", ANTI_AFFINITY)
    alice = occi.create(COMPUTE, mixins=[web])
    bob = occi.as_user("bob")
    # Bob cannot use alice's Mixin: he does not know it.
    document = EntityRendering(kind=COMPUTE, mixins=(web,))
    bob.request("POST", "/compute/", document=document, status=400)
    # His own "web" is another group, with its own rule.
    his = group(bob, "web", AFFINITY, scheme="http://example.org/bob/tags#")
    first, second = bob.create(COMPUTE, mixins=[his]), bob.create(COMPUTE, mixins=[his])
    assert host_of(cloud, first) == host_of(cloud, second)
    assert bob.listing("/mixin/placement/anti-affinity/") == []
    assert occi.listing("/mixin/placement/anti-affinity/") == [alice]
    assert sorted(bob.listing("/web/")) == sorted([first, second])
    assert occi.listing("/web/") == [alice]
