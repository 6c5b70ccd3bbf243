"""Availability zones as OCCI Mixins: visible to tenants, chosen at creation, honoured.

The cloud of the OCCI functional tests has zone ``z1``; these tests add ``z2``
with a host of its own (and a disabled ``z3`` a tenant must not use).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from functional.occi.occiclient import (
    COMPUTE,
    NETWORK,
    OS_TPL_SCHEME,
    OcciClient,
    categories_of,
)
from helpers import dedicate_zone
from unit.engine.cloud import _add_host

from engine.compute.models import Compute
from engine.inventory.models import AllocationState, Cluster, Pod, Zone
from engine.network.models import Network
from occi.model import EntityRendering

ZONE_SCHEME = "http://schemas.concord.invalid/occi/availability_zone#"


def _add_zone(cloud, tmp_path: Path, name: str, enabled: bool = True) -> tuple[str, str]:
    """A zone with one host; ``(zone id, host id)``."""
    with cloud.database.transaction() as session:
        state = AllocationState.ENABLED if enabled else AllocationState.DISABLED
        zone = Zone(name=name, allocation_state=state)
        session.add(zone)
        session.flush()
        pod = Pod(zone_id=zone.id, name=f"{name}-pod")
        session.add(pod)
        session.flush()
        cluster = Cluster(pod_id=pod.id, name=f"{name}-cluster", hypervisor_type="test")
        session.add(cluster)
        session.flush()
        host = _add_host(session, tmp_path, cluster, f"{name}-host")
        return zone.id, host.id


@pytest.fixture
def zones(cloud, tmp_path: Path) -> dict[str, tuple[str, str]]:
    return {
        "z2": _add_zone(cloud, tmp_path, "z2"),
        "z3": _add_zone(cloud, tmp_path, "z3", enabled=False),
    }


def _zone_terms(occi: OcciClient) -> list[str]:
    found = categories_of(occi.request("GET", "/-/", status=200)).categories
    return sorted(c.term for c in found if c.scheme == ZONE_SCHEME)


def test_tenants_see_the_zones_they_may_use(occi: OcciClient, zones) -> None:
    assert _zone_terms(occi) == ["z1", "z2"]  # z3 is disabled: not for tenants
    assert _zone_terms(occi.as_user("carol")) == ["z1", "z2"]


def test_a_zone_dedicated_to_another_domain_is_no_category_of_the_tenant(
    occi: OcciClient, cloud, zones
) -> None:
    dedicate_zone(cloud.database, zones["z2"][0], cloud.ids["acme"])
    assert _zone_terms(occi) == ["z1", "z2"]  # alice, of acme
    carol = occi.as_user("carol")  # of globex
    assert _zone_terms(carol) == ["z1"]
    document = EntityRendering(kind=COMPUTE, mixins=(ZONE_SCHEME + "z2",))
    hidden = carol.request("POST", "/compute/", document=document, status=400)
    document = EntityRendering(kind=COMPUTE, mixins=(ZONE_SCHEME + "z9",))
    missing = carol.request("POST", "/compute/", document=document, status=400)
    assert hidden.text.replace("z2", "?") == missing.text.replace("z9", "?")
    assert carol.listing("/compute/") == []


def test_placement_honours_the_chosen_zone(occi: OcciClient, cloud, zones) -> None:
    zone_id, host_id = zones["z2"]
    placed = occi.create(COMPUTE, mixins=[ZONE_SCHEME + "z2", OS_TPL_SCHEME + "firmware"])
    anywhere = occi.create(COMPUTE)
    cloud.run_jobs()
    with cloud.database.transaction() as session:
        row = session.get(Compute, placed.rsplit("/", 1)[1])
        assert (row.zone_id, row.host_id) == (zone_id, host_id)
        other = session.get(Compute, anywhere.rsplit("/", 1)[1])
        assert other.zone_id == cloud.ids["zone"] and other.host_id != host_id
    entity = occi.read(placed)
    assert entity.attributes["occi.compute.state"] == "active"
    assert ZONE_SCHEME + "z2" in entity.mixins
    assert ZONE_SCHEME + "z1" in occi.read(anywhere).mixins
    assert occi.listing("/mixin/availability_zone/z2/") == [placed]
    # Networks choose their zone the same way.
    network = occi.create(NETWORK, mixins=[ZONE_SCHEME + "z2"])
    with cloud.database.transaction() as session:
        assert session.get(Network, network.rsplit("/", 1)[1]).zone_id == zone_id
    assert ZONE_SCHEME + "z2" in occi.read(network).mixins


@pytest.mark.parametrize(
    ("mixins", "status"),
    [
        ([ZONE_SCHEME + "z3"], 400),  # disabled: no category of the tenant's
        ([ZONE_SCHEME + "nowhere"], 400),
        ([ZONE_SCHEME + "z1", ZONE_SCHEME + "z2"], 400),  # one zone at most
    ],
)
def test_a_zone_the_tenant_cannot_use_is_refused(
    occi: OcciClient, cloud, zones, mixins: list[str], status: int
) -> None:
    document = EntityRendering(kind=COMPUTE, mixins=tuple(mixins))
    occi.request("POST", "/compute/", document=document, status=status)
    assert occi.listing("/compute/") == []


def test_a_zone_is_chosen_at_creation(occi: OcciClient, cloud, zones) -> None:
    compute = occi.create(COMPUTE, mixins=[ZONE_SCHEME + "z2"])
    cloud.run_jobs()
    # Sending back the zone it has is fine; naming another one is a conflict.
    occi.request(
        "POST", compute, document=EntityRendering(mixins=(ZONE_SCHEME + "z2",)), status=200
    )
    moved = EntityRendering(mixins=(ZONE_SCHEME + "z1",))
    occi.request("POST", compute, document=moved, status=409)
    with cloud.database.transaction() as session:
        zone = session.scalar(sa.select(Compute.zone_id).where(Compute.id == compute[9:]))
    assert zone == zones["z2"][0]
