"""The ``zone`` extension of VolumeCreate/Volume and NetworkCreate/Network (docs/cimi.rst).

In JSON and XML. The functional cloud has zone ``z1``; these tests add ``z2``
with a host and a storage pool of its own, and a disabled ``z3`` that no
tenant may use. A resource's zone is the same engine row OCCI renders as an
``availability_zone#<name>`` Mixin, so each test also reads it through OCCI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from functional.cimi.conftest import Cloud, client
from functional.cimi.flows import config, settle
from functional.cimi.support import Cimi, check_error
from functional.occi.occiclient import OcciClient
from helpers import dedicate_zone
from unit.engine.cloud import _add_host
from webtest import TestApp

from engine.inventory.models import AllocationState, Cluster, Pod, Zone
from engine.network.models import Network
from engine.storage.models import Volume

ZONE_SCHEME = "http://schemas.concord.invalid/occi/availability_zone#"


def _add_zone(cloud: Cloud, tmp_path: Path, name: str, enabled: bool = True) -> str:
    """A zone with one host and its storage pool; its id."""
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
        _add_host(session, tmp_path, cluster, f"{name}-host")
        return zone.id


@pytest.fixture
def zones(cloud: Cloud, tmp_path: Path) -> dict[str, str]:
    return {"z2": _add_zone(cloud, tmp_path, "z2"), "z3": _add_zone(cloud, tmp_path, "z3", False)}


def _volume_body(cimi: Cimi, **extension: str) -> dict[str, Any]:
    template = {"volumeConfig": {"href": config(cimi, "1GiB")["id"]}}
    return {"name": "data", "volumeTemplate": template, **extension}


def _network_body(cimi: Cimi, **extension: str) -> dict[str, Any]:
    template = {"networkConfig": {"href": cimi.entries("networkConfigs")[0]["id"]}}
    return {"name": "backend", "networkTemplate": template, **extension}


BODIES = {"volumes": ("VolumeCreate", _volume_body), "networks": ("NetworkCreate", _network_body)}
MODELS = {"volumes": Volume, "networks": Network}
OCCI_KINDS = {"volumes": "storage", "networks": "network"}


def _create(cimi: Cimi, key: str, status: int = 202, **extension: str) -> Any:
    type_name, body = BODIES[key]
    return cimi.add(cimi.collection(key), type_name, body(cimi, **extension), status=status)


def _rows(cloud: Cloud, key: str) -> int:
    with cloud.database.transaction() as session:
        return int(session.query(MODELS[key]).count())


@pytest.mark.parametrize("key", ["volumes", "networks"])
def test_a_create_chooses_its_zone(
    app: TestApp, alice: Cimi, cloud: Cloud, zones: dict[str, str], key: str
) -> None:
    placed = _create(alice, key, zone="z2")
    anywhere = _create(alice, key)  # without the extension: the default zone, as before
    settle(alice, cloud, placed)
    settle(alice, cloud, anywhere)
    resource = alice.get(placed.headers["Location"])
    assert resource["zone"] == "z2" and resource["state"] in ("AVAILABLE", "STARTED")
    assert alice.get(anywhere.headers["Location"])["zone"] == "z1"
    with cloud.database.transaction() as session:
        row = session.get(MODELS[key], resource["id"].rsplit("/", 1)[-1])
        assert row is not None and row.zone_id == zones["z2"]
    # Filtered and selected like a Machine's zone.
    found = alice.entries(key, **{"$filter": 'zone="z2"', "$select": "zone"})
    assert [e["zone"] for e in found] == ["z2"]
    assert len(alice.entries(key, **{"$filter": 'zone="z1"'})) == 1
    # OCCI sees the same zone: the resource carries that zone's Mixin.
    path = f"/{OCCI_KINDS[key]}/" + resource["id"].rsplit("/", 1)[-1]
    mixins = OcciClient(app).read(path).mixins
    assert ZONE_SCHEME + "z2" in mixins and ZONE_SCHEME + "z1" not in mixins


@pytest.mark.parametrize("key", ["volumes", "networks"])
def test_a_zone_the_tenant_cannot_use_is_refused_and_creates_nothing(
    app: TestApp, alice: Cimi, cloud: Cloud, zones: dict[str, str], key: str
) -> None:
    before = _rows(cloud, key)
    messages = {}
    for zone in ("z3", "nowhere"):  # disabled, and no such zone
        error = check_error(_create(alice, key, status=400, zone=zone))
        messages[zone] = error["message"]
    assert _rows(cloud, key) == before
    assert alice.entries(key) == []
    # Another tenant cannot tell a zone it may not use from one that does not
    # exist: both answers are worded alike, naming only what it sent.
    carol = client(app, "carol", alice.fmt)
    for zone in ("z3", "nowhere"):
        error = check_error(_create(carol, key, status=400, zone=zone))
        assert error["message"].replace(zone, "?") == messages[zone].replace(zone, "?")
    assert messages["z3"].replace("z3", "?") == messages["nowhere"].replace("nowhere", "?")
    assert _rows(cloud, key) == before


@pytest.mark.parametrize("type_name", ["Volume", "Network"])
def test_the_zone_extension_is_declared(alice: Cimi, cloud: Cloud, type_name: str) -> None:
    metadata = alice.get(alice.collection("resourceMetadata") + "/" + type_name)
    declared = {a["name"]: a for a in metadata.get("attributes", [])}
    assert declared["zone"]["type"] == "string" and declared["zone"]["required"] is False


@pytest.mark.parametrize("key", ["volumes", "networks"])
def test_a_zone_dedicated_to_another_domain_is_one_that_does_not_exist(
    app: TestApp, alice: Cimi, cloud: Cloud, zones: dict[str, str], key: str
) -> None:
    dedicate_zone(cloud.database, zones["z2"], cloud.ids["acme"])
    placed = _create(alice, key, zone="z2")  # alice's domain: hers to use
    assert alice.get(placed.headers["Location"])["zone"] == "z2"
    carol = client(app, "carol", alice.fmt)
    before = _rows(cloud, key)
    hidden = check_error(_create(carol, key, status=400, zone="z2"))["message"]
    missing = check_error(_create(carol, key, status=400, zone="nowhere"))["message"]
    assert hidden.replace("z2", "?") == missing.replace("nowhere", "?")
    assert _rows(cloud, key) == before
