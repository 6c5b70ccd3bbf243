"""Placement groups over CIMI: the ``placementGroup``/``placementPolicy`` extension.

In JSON and in XML. The functional cloud has one host, so an anti-affinity
group holds one running Machine and an affinity group any number.
"""

from __future__ import annotations

from typing import Any

from functional.cimi.conftest import Cloud, client
from functional.cimi.flows import create_machine, template
from functional.cimi.support import Cimi, check_error
from functional.occi.occiclient import COMPUTE, OCCI_JSON, OcciClient
from webtest import TestApp

from engine.compute.models import Compute


def occi_group(occi: OcciClient, term: str, policy: str) -> str:
    """The same account's group defined through OCCI: a Mixin depending on a placement Mixin."""
    placement = f"http://schemas.concord.invalid/occi/placement#{policy}"
    return occi.define_tag(term, f"/{term}/", media=OCCI_JSON, depends=(placement,))


def machine_create(cimi: Cimi, status: Any = 202, **extension: str) -> Any:
    body = {"name": "web", "machineTemplate": template(cimi), **extension}
    return cimi.add(cimi.collection("machines"), "MachineCreate", body, status=status)


def test_anti_affinity_refuses_a_second_machine_on_the_only_host(alice: Cimi, cloud: Cloud) -> None:
    url = create_machine(alice, cloud)  # a Machine in no group
    machine = alice.get(url)
    assert "placementGroup" not in machine and "placementPolicy" not in machine
    response = machine_create(alice, placementGroup="web", placementPolicy="anti-affinity")
    cloud.run()
    machine = alice.get(response.headers["Location"])
    assert (machine["placementGroup"], machine["placementPolicy"]) == ("web", "anti-affinity")
    response = machine_create(alice, status=409, placementGroup="web")
    assert "anti-affinity group" in check_error(response)["message"]
    # Listed Machines carry it too.
    listed = {m["id"]: m for m in alice.entries("machines")}
    assert listed[machine["id"]]["placementGroup"] == "web"


def test_affinity_groups_any_number_on_one_host(alice: Cimi, cloud: Cloud) -> None:
    for _ in range(3):
        machine_create(alice, placementGroup="db", placementPolicy="affinity")
    cloud.run()
    groups = [m.get("placementGroup") for m in alice.entries("machines")]
    assert groups == ["db", "db", "db"]


def test_bad_placement_requests_are_refused_and_change_nothing(alice: Cimi, cloud: Cloud) -> None:
    machine_create(alice, placementGroup="web", placementPolicy="anti-affinity")
    cloud.run()
    for extension, status in (
        ({"placementGroup": "nope"}, 400),  # no such group, no policy to make it
        ({"placementGroup": "web", "placementPolicy": "affinity"}, 409),
        ({"placementPolicy": "affinity"}, 400),
        ({"placementGroup": "x" * 256, "placementPolicy": "affinity"}, 400),
    ):
        check_error(machine_create(alice, status=status, **extension))
    # A policy that is not one of the two (the client's encoder would refuse it).
    body = {"name": "web", "machineTemplate": template(alice), "placementGroup": "new"}
    encoded = alice.encode("MachineCreate", {**body, "placementPolicy": "affinity"})
    soft = encoded.replace(b"affinity", b"soft")
    check_error(alice.request("POST", alice.collection("machines"), soft, status=400))
    with cloud.database.transaction() as session:
        assert session.query(Compute).count() == 1


def test_groups_are_the_tenants_own(app: TestApp, alice: Cimi, cloud: Cloud) -> None:
    machine_create(alice, placementGroup="web", placementPolicy="anti-affinity")
    cloud.run()
    carol = client(app, "carol", alice.fmt)
    # carol does not find alice's group, and her own "web" is another.
    check_error(machine_create(carol, status=400, placementGroup="web"))
    machine_create(carol, placementGroup="web", placementPolicy="affinity")
    machine_create(carol, placementGroup="web")
    cloud.run()
    assert [m["placementPolicy"] for m in carol.entries("machines")] == ["affinity"] * 2
    assert [m["placementPolicy"] for m in alice.entries("machines")] == ["anti-affinity"]


def test_an_occi_group_is_the_same_group_in_cimi(app: TestApp, alice: Cimi, cloud: Cloud) -> None:
    occi = OcciClient(app)
    mixin = occi_group(occi, "web", "anti-affinity")
    occi.create(COMPUTE, mixins=[mixin])
    # The group the OCCI Mixin made already has a guest on the only host.
    response = machine_create(alice, status=409, placementGroup="web")
    assert "anti-affinity group" in check_error(response)["message"]
    check_error(machine_create(alice, status=409, placementGroup="web", placementPolicy="affinity"))


def test_high_availability_is_asked_for_in_a_machine_create_and_shown(
    alice: Cimi, cloud: Cloud
) -> None:
    """The HA extension (docs/cimi.rst): ``highlyAvailable``, and the state message."""
    asked = machine_create(alice, highlyAvailable=True)
    plain = machine_create(alice)
    cloud.run()
    assert alice.get(asked.headers["Location"])["highlyAvailable"] is True
    # Without the extension the offering decides (the template's offering is not HA).
    assert alice.get(plain.headers["Location"])["highlyAvailable"] is False
    listed = {m["id"]: m for m in alice.entries("machines")}
    assert sorted(m["highlyAvailable"] for m in listed.values()) == [False, True]
    # HA (or reconciliation) explains a state in the compute's message.
    plain_id = plain.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert "stateMessage" not in alice.get(plain.headers["Location"])
    with cloud.database.transaction() as session:
        compute = session.get(Compute, plain_id)
        assert compute is not None
        compute.state_message = "its host failed; the compute is not highly available"
    shown = alice.get(plain.headers["Location"])["stateMessage"]
    assert shown == "its host failed; the compute is not highly available"


def test_a_machine_that_joined_through_cimi_shows_the_groups_occi_mixin(
    app: TestApp, alice: Cimi, cloud: Cloud
) -> None:
    occi = OcciClient(app)
    mixin = occi_group(occi, "db", "affinity")
    joined = machine_create(alice, placementGroup="db").headers["Location"]
    alone = machine_create(alice).headers["Location"]
    cloud.run()
    path = "/compute/" + joined.rstrip("/").rsplit("/", 1)[-1]
    other = "/compute/" + alone.rstrip("/").rsplit("/", 1)[-1]
    # The single entity, and the collection, in JSON.
    shown = occi.request("GET", path, accept=OCCI_JSON, status=200).json
    assert mixin in shown["mixins"]
    plain = occi.request("GET", other, accept=OCCI_JSON, status=200).json
    assert mixin not in plain.get("mixins", [])
    listed = occi.request("GET", "/compute/", accept=OCCI_JSON, status=200).json
    by_id = {e["id"]: e for e in listed["resources"]}
    assert mixin in by_id[shown["id"]]["mixins"]
    assert mixin not in by_id[plain["id"]].get("mixins", [])
    # The Mixin's collection lists it: the rendering and the membership agree.
    members = occi.request("GET", "/db/", accept="text/uri-list", status=200).text.split()
    assert [m.rsplit("/", 1)[-1] for m in members] == [path.rsplit("/", 1)[-1]]


def _zone(cloud: Cloud, name: str, enabled: bool) -> str:
    from engine.inventory.models import AllocationState, Zone

    with cloud.database.transaction() as session:
        state = AllocationState.ENABLED if enabled else AllocationState.DISABLED
        zone = Zone(name=name, allocation_state=state)
        session.add(zone)
        session.flush()
        return zone.id


def test_a_machine_create_chooses_its_zone(alice: Cimi, cloud: Cloud) -> None:
    # The zone extension (docs/cimi.rst): placed in the named zone, shown on the Machine.
    _zone(cloud, "empty", enabled=True)  # a zone with no host at all
    _zone(cloud, "closed", enabled=False)
    response = machine_create(alice, zone="z1")
    cloud.run()
    machine = alice.get(response.headers["Location"])
    assert machine["zone"] == "z1" and machine["state"] == "STARTED"
    assert [m["zone"] for m in alice.entries("machines", **{"$filter": 'zone="z1"'})] == ["z1"]
    # Placement honours the choice: no host in "empty" can take it (409), none is used.
    check_error(machine_create(alice, status=409, zone="empty"))
    for zone in ("closed", "nowhere"):  # a zone the tenant cannot use: 400
        check_error(machine_create(alice, status=400, zone=zone))
    assert len(alice.entries("machines")) == 1
