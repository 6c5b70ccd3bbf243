"""Infrastructure (GFD.224): every Kind's attributes, links, templates and the 1.2 Mixins.

Compute, storage, network, networkinterface and storagelink with their
attributes and states; ipnetwork and ipnetworkinterface; os_tpl and
resource_tpl from the engine's catalog; ssh_key and user_data; links created
inline and on their own, in every request rendering.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from functional.occi.occiclient import (
    BASE,
    COMPUTE,
    INFRA,
    IPNETWORK,
    IPNETWORKINTERFACE,
    NETWORK,
    NETWORKINTERFACE,
    OS_TPL_SCHEME,
    REQUEST_MEDIA,
    RESOURCE_TPL_SCHEME,
    RESPONSE_MEDIA,
    SSH_KEY,
    STORAGE,
    STORAGELINK,
    TEXT_PLAIN,
    USER_DATA,
    OcciClient,
    categories_of,
)

from engine.catalog.models import Image
from engine.compute.models import Compute
from engine.inventory.models import AllocationState, Host, StoragePool
from occi.model import EntityRendering, LinkRendering

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMlq5cP1F5rKzJ5c0YfC1n2Yw0HqO3fZ5d2oK0ZxVj9a me@host"


@pytest.fixture
def targets(occi: OcciClient, cloud) -> dict[str, str]:
    network = occi.create(NETWORK, {"occi.core.title": "lan"}, mixins=[IPNETWORK])
    volume = occi.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    return {"network": network, "volume": volume}


@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_inline_links_are_created_with_the_compute(
    occi: OcciClient, cloud, targets, media: str
) -> None:
    links = [
        LinkRendering(
            target=targets["volume"],
            kind=STORAGELINK,
            attributes={
                "occi.storagelink.deviceid": "/dev/vdc",
                "occi.storagelink.mountpoint": "/data",
            },
        ),
        LinkRendering(
            target=targets["network"],
            kind=NETWORKINTERFACE,
            mixins=(IPNETWORKINTERFACE,),
            attributes={"occi.networkinterface.address": "10.1.0.50"},
        ),
    ]
    compute = occi.create(COMPUTE, {"occi.core.title": "web"}, links=links, media=media)
    cloud.run_jobs()
    for accept in RESPONSE_MEDIA:
        entity = occi.read(compute, accept)
        by_kind = {link.kind: link for link in entity.links}
        storagelink, nic = by_kind[STORAGELINK], by_kind[NETWORKINTERFACE]
        assert storagelink.target == targets["volume"] and storagelink.source == compute
        assert storagelink.target_kind == STORAGE
        assert storagelink.attributes["occi.storagelink.deviceid"] == "/dev/vdc"
        assert storagelink.attributes["occi.storagelink.mountpoint"] == "/data"
        assert storagelink.attributes["occi.storagelink.state"] == "active"
        assert nic.target == targets["network"] and IPNETWORKINTERFACE in nic.mixins
        assert nic.attributes["occi.networkinterface.address"] == "10.1.0.50"
        assert nic.attributes["occi.networkinterface.gateway"] == "10.1.0.1"
        assert nic.attributes["occi.networkinterface.allocation"] == "static"
        assert nic.attributes["occi.networkinterface.interface"] == "eth0"
        assert nic.attributes["occi.networkinterface.state"] == "active"
        assert len(str(nic.attributes["occi.networkinterface.mac"])) == 17
    # The links are entities of their own, at their own locations.
    for link in occi.read(compute).links:
        assert occi.read(link.location or "").kind == link.kind


def _enable(cloud, host: str, *, host_enabled: bool, pool_enabled: bool) -> None:
    state = {True: AllocationState.ENABLED, False: AllocationState.DISABLED}
    with cloud.database.transaction() as session:
        session.execute(
            sa.update(Host)
            .where(Host.id == cloud.ids[host])
            .values(allocation_state=state[host_enabled])
        )
        session.execute(
            sa.update(StoragePool)
            .where(StoragePool.host_id == cloud.ids[host])
            .values(allocation_state=state[pool_enabled])
        )


def test_a_compute_goes_where_the_storage_it_links_is(occi: OcciClient, cloud) -> None:
    # Both hosts up, their pools local to each: the storage is made in
    # host-2's pool, and first fit would put a compute on host-1.
    _enable(cloud, "host-2", host_enabled=True, pool_enabled=True)
    _enable(cloud, "host-1", host_enabled=True, pool_enabled=False)
    volume = occi.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    _enable(cloud, "host-1", host_enabled=True, pool_enabled=True)
    link = LinkRendering(target=volume, kind=STORAGELINK)
    compute = occi.create(COMPUTE, {"occi.core.title": "near"}, links=[link])
    cloud.run_jobs()
    entity = occi.read(compute)
    assert entity.attributes["occi.compute.state"] == "active"
    (attached,) = entity.links
    assert attached.attributes["occi.storagelink.state"] == "active"
    assert cloud.compute(compute.rsplit("/", 1)[1]).host_id == cloud.ids["host-2"]
    # Without the link, first fit as before.
    alone = occi.create(COMPUTE, {"occi.core.title": "alone"})
    assert cloud.compute(alone.rsplit("/", 1)[1]).host_id == cloud.ids["host-1"]


def test_an_inline_link_in_the_spec_s_text_form(occi: OcciClient, cloud, targets) -> None:
    body = (
        f'Category: compute; scheme="{INFRA}"; class="kind"\r\n'
        f'Link: <{BASE}{targets["network"]}>; rel="{NETWORK}"; '
        f'category="{NETWORKINTERFACE}"; occi.networkinterface.interface="eth1"\r\n'
    )
    response = occi.request(
        "POST", "/compute/", headers={"Content-Type": TEXT_PLAIN}, body=body, status=201
    )
    cloud.run_jobs()
    (nic,) = occi.read(response.headers["Location"].removeprefix(BASE)).links
    assert nic.attributes["occi.networkinterface.interface"] == "eth1"


@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_links_created_on_their_own(occi: OcciClient, cloud, targets, media: str) -> None:
    compute = occi.create(COMPUTE)
    cloud.run_jobs()
    link = occi.create(
        STORAGELINK,
        {
            "occi.core.source": compute,
            "occi.core.target": targets["volume"],
            "occi.core.title": "data disk",
        },
        media=media,
    )
    nic = occi.create(
        NETWORKINTERFACE,
        {"occi.core.source": compute, "occi.core.target": targets["network"]},
        mixins=[IPNETWORKINTERFACE],
        media=media,
    )
    cloud.run_jobs()
    read = occi.read(link)
    assert (read.source, read.target, read.kind) == (compute, targets["volume"], STORAGELINK)
    assert read.attributes["occi.core.title"] == "data disk"
    assert read.attributes["occi.storagelink.deviceid"] == "/dev/vdb"
    assert {lk.location for lk in occi.read(compute).links} == {link, nic}
    # Deleting a link takes it off its compute (GFD.221 §3.4.1).
    occi.request("DELETE", link, status=204)
    occi.request("GET", link, status=404)
    assert {lk.location for lk in occi.read(compute).links} == {nic}


@pytest.mark.parametrize(
    ("kind", "attributes", "status"),
    [
        (STORAGELINK, {"occi.core.source": "/storage/x", "occi.core.target": "/storage/y"}, 400),
        (STORAGELINK, {"occi.core.source": "/compute/x", "occi.core.target": "/network/y"}, 400),
        (STORAGELINK, {"occi.core.source": "/compute/nope", "occi.core.target": "/storage/y"}, 404),
        (NETWORKINTERFACE, {"occi.core.target": "/network/y"}, 400),
        (
            NETWORKINTERFACE,
            {
                "occi.core.source": "http://elsewhere.example/compute/1",
                "occi.core.target": "/network/y",
            },
            400,
        ),
    ],
)
def test_refused_links(occi: OcciClient, cloud, kind, attributes, status) -> None:
    attributes = dict(attributes)
    target = attributes.pop("occi.core.target")
    document = LinkRendering(target=target, kind=kind, source=attributes.get("occi.core.source"))
    occi.request("POST", f"/{kind.rsplit('#', 1)[1]}/", document=document, status=status)


def test_a_link_rendering_cannot_carry_links_and_a_link_cannot_move(
    occi: OcciClient, cloud, targets
) -> None:
    compute = occi.create(COMPUTE)
    cloud.run_jobs()
    link = occi.create(
        NETWORKINTERFACE, {"occi.core.source": compute, "occi.core.target": targets["network"]}
    )
    cloud.run_jobs()
    other = occi.create(NETWORK)
    document = LinkRendering(target=other)
    occi.request("POST", link, document=document, status=409)
    document = EntityRendering(attributes={"occi.networkinterface.mac": "52:54:00:00:00:01"})
    occi.request("POST", link, document=document, status=409)


def test_ipnetwork_attributes(occi: OcciClient, cloud) -> None:
    attributes = {
        "occi.network.address": "192.168.7.0/24",
        "occi.network.gateway": "192.168.7.1",
        "occi.network.allocation": "static",
        "occi.network.vlan": 7,
    }
    network = occi.create(NETWORK, attributes, mixins=[IPNETWORK])
    cloud.run_jobs()
    entity = occi.read(network)
    assert IPNETWORK in entity.mixins
    for name, value in attributes.items():
        assert entity.attributes[name] == value
    assert entity.attributes["occi.network.state"] == "active"
    # Fixed once the network exists.
    document = EntityRendering(attributes={"occi.network.address": "10.9.0.0/24"})
    occi.request("POST", network, document=document, status=409)
    document = EntityRendering(kind=NETWORK, attributes={"occi.network.address": "not-a-range"})
    occi.request("POST", "/network/", document=document, status=400)


def test_templates_from_the_catalog(occi: OcciClient, cloud) -> None:
    large = RESOURCE_TPL_SCHEME + "large"
    firmware = OS_TPL_SCHEME + "firmware"
    compute = occi.create(COMPUTE, {"occi.compute.cores": 1}, mixins=[large, firmware])
    cloud.run_jobs()
    entity = occi.read(compute)
    assert {large, firmware} <= set(entity.mixins)
    # The resource template's size wins over cores given beside it (GFD.224 §3.5.2).
    assert (entity.attributes["occi.compute.cores"], entity.attributes["occi.compute.memory"]) == (
        2,
        2.0,
    )
    with cloud.database.transaction() as session:
        row = session.get(Compute, compute.rsplit("/", 1)[1])
        assert row is not None and row.image_id == cloud.ids["firmware"]


def _mixins(client: OcciClient) -> list[Any]:
    found = categories_of(client.request("GET", "/-/", status=200)).categories
    return [c for c in found if c.cls == "mixin"]


def test_template_terms_are_readable_and_ids_remain_aliases(occi: OcciClient, cloud) -> None:
    # GFD.224 §3.5: a term a person can type, made from the catalog entry's name.
    listed = {m.type_id: m for m in _mixins(occi)}
    assert {OS_TPL_SCHEME + "firmware", RESOURCE_TPL_SCHEME + "small"} <= set(listed)
    assert RESOURCE_TPL_SCHEME + "large" in listed
    assert not any(cloud.ids[n] in t for t in listed for n in ("small", "large", "firmware"))
    # A client that kept the id form is understood, and reads the readable term back.
    compute = occi.create(
        COMPUTE,
        mixins=[RESOURCE_TPL_SCHEME + cloud.ids["large"], OS_TPL_SCHEME + cloud.ids["firmware"]],
    )
    mixins = occi.read(compute).mixins
    assert {RESOURCE_TPL_SCHEME + "large", OS_TPL_SCHEME + "firmware"} <= set(mixins)
    assert RESOURCE_TPL_SCHEME + cloud.ids["large"] not in mixins
    # The Mixin's own collection lists it, by the readable location.
    assert compute in occi.listing("/mixin/resource_tpl/large/")


def test_template_terms_are_unique_and_stable_per_caller(occi: OcciClient, cloud) -> None:
    compute = occi.create(COMPUTE, mixins=[OS_TPL_SCHEME + "firmware"])
    # Later, alice's account gets a private image of the same name as the public one.
    with cloud.database.transaction() as session:
        private = Image(
            name="firmware",
            account_id=cloud.ids["dev"],
            domain_id=cloud.ids["acme"],
            state="available",
            min_memory_mib=64,
        )
        session.add(private)
        session.flush()
        private_id = private.id
    suffixed = f"{OS_TPL_SCHEME}firmware-{private_id[:8]}"
    terms = [m.type_id for m in _mixins(occi) if m.scheme == OS_TPL_SCHEME]
    assert sorted(terms) == sorted([OS_TPL_SCHEME + "firmware", suffixed])
    # The older entry keeps its term: the compute made from it still reads it.
    assert OS_TPL_SCHEME + "firmware" in occi.read(compute).mixins
    mine = occi.create(COMPUTE, mixins=[suffixed])
    with cloud.database.transaction() as session:
        assert session.get(Compute, mine.rsplit("/", 1)[1]).image_id == private_id
    assert suffixed in occi.read(mine).mixins
    # Another account does not see alice's image: its public one is just "firmware".
    carol = occi.as_user("carol")
    theirs = [m.type_id for m in _mixins(carol) if m.scheme == OS_TPL_SCHEME]
    assert theirs == [OS_TPL_SCHEME + "firmware"]


def test_without_a_template_the_smallest_offering_is_the_default(occi: OcciClient, cloud) -> None:
    compute = occi.create(COMPUTE)
    assert RESOURCE_TPL_SCHEME + "small" in occi.read(compute).mixins
    sized = occi.create(COMPUTE, {"occi.compute.cores": 2})
    entity = occi.read(sized)
    assert (entity.attributes["occi.compute.cores"], entity.attributes["occi.compute.memory"]) == (
        2,
        0.5,
    )


@pytest.mark.parametrize(
    ("mixins", "attributes", "status"),
    [
        ([RESOURCE_TPL_SCHEME + "no-such-offering"], {}, 400),
        (["http://schemas.ogf.org/occi/infrastructure#os_tpl"], {}, 400),  # the parent
        ([IPNETWORK], {}, 400),  # applies to network only
        ([SSH_KEY], {}, 400),  # its key is required
        ([], {"occi.credentials.ssh.publickey": KEY}, 400),  # without the Mixin
        ([SSH_KEY], {"occi.credentials.ssh.publickey": "not a key"}, 400),
        ([], {"occi.compute.architecture": "x86"}, 400),  # cannot be honoured
        ([], {"occi.compute.share": 7}, 400),  # comes from the offering
        ([], {"occi.compute.speed": 2.0}, 201),  # 1.1's, ignored (occi.md §10 item 22)
        ([], {"occi.compute.memory": 0}, 400),
        ([], {"occi.compute.cores": 1000}, 400),
    ],
)
def test_compute_creation_checks(occi: OcciClient, cloud, mixins, attributes, status) -> None:
    document = EntityRendering(kind=COMPUTE, mixins=tuple(mixins), attributes=attributes)
    occi.request("POST", "/compute/", document=document, status=status)
    assert len(occi.listing("/compute/")) == (1 if status == 201 else 0)


@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_ssh_key_and_user_data(occi: OcciClient, cloud, media: str) -> None:
    script = "#!/bin/sh\necho hello, world\n"
    compute = occi.create(
        COMPUTE,
        {"occi.credentials.ssh.publickey": KEY, "occi.compute.userdata": script},
        mixins=[SSH_KEY, USER_DATA],
        media=media,
    )
    cloud.run_jobs()
    entity = occi.read(compute)
    assert {SSH_KEY, USER_DATA} <= set(entity.mixins)
    assert entity.attributes["occi.credentials.ssh.publickey"] == KEY
    assert entity.attributes["occi.compute.userdata"] == script
    with cloud.database.transaction() as session:
        row = session.get(Compute, compute.rsplit("/", 1)[1])
        assert row is not None and (row.ssh_public_key, row.user_data) == (KEY, script)
    # User data "cannot be updated" (GFD.224 §3.5.4).
    document = EntityRendering(attributes={"occi.compute.userdata": "other"})
    occi.request("POST", compute, document=document, status=409)


def test_ssh_key_cannot_be_added_later(occi: OcciClient, cloud) -> None:
    compute = occi.create(COMPUTE)
    document = EntityRendering(
        mixins=(SSH_KEY,), attributes={"occi.credentials.ssh.publickey": KEY}
    )
    occi.request("POST", compute, document=document, status=409)


def test_every_state_attribute_takes_a_value_of_the_spec(occi: OcciClient, cloud, targets) -> None:
    compute = occi.create(
        COMPUTE, links=[LinkRendering(target=targets["volume"], kind=STORAGELINK)]
    )
    cloud.run_jobs()
    entity = occi.read(compute)
    assert entity.attributes["occi.compute.state"] in ("active", "inactive", "suspended", "error")
    assert occi.attribute(targets["volume"], "occi.storage.state") in ("online", "offline", "error")
    assert occi.attribute(targets["network"], "occi.network.state") in (
        "active",
        "inactive",
        "error",
    )
    (link,) = entity.links
    assert link.attributes["occi.storagelink.state"] in ("active", "inactive", "error")


def test_a_link_is_inactive_while_its_compute_is_stopped(occi: OcciClient, cloud, targets) -> None:
    compute = occi.create(
        COMPUTE, links=[LinkRendering(target=targets["network"], kind=NETWORKINTERFACE)]
    )
    cloud.run_jobs()
    occi.invoke(compute, "http://schemas.ogf.org/occi/infrastructure/compute/action#stop")
    cloud.run_jobs()
    (nic,) = occi.read(compute).links
    assert nic.attributes["occi.networkinterface.state"] == "inactive"
    assert occi.attribute(nic.location or "", "occi.networkinterface.state") == "inactive"


def test_links_and_computes_created_by_put(occi: OcciClient, cloud, targets) -> None:
    compute_id = "0b1d6c4e-3f5a-4e7b-9c2d-8a1b2c3d4e5f"
    occi.request(
        "PUT", f"/compute/{compute_id}", document=EntityRendering(kind=COMPUTE), status=201
    )
    # A name will do too: the guest's UUID on the hypervisor is then the server's.
    occi.request("PUT", "/compute/web-1", document=EntityRendering(kind=COMPUTE), status=201)
    assert occi.attribute("/compute/web-1", "occi.core.id") == "urn:concord:compute:web-1"
    cloud.run_jobs()
    link = LinkRendering(
        target=targets["volume"], source=f"/compute/{compute_id}", kind=STORAGELINK
    )
    response = occi.request("PUT", "/storagelink/data-disk", document=link, status=201)
    assert response.headers["Location"] == f"{BASE}/storagelink/data-disk"
    cloud.run_jobs()
    read = occi.read("/storagelink/data-disk")
    assert read.attributes["occi.core.id"] == "urn:concord:storagelink:data-disk"
    assert read.source == f"/compute/{compute_id}"


@pytest.mark.parametrize("method", ["suspend", "hibernate"])
def test_a_suspended_compute_takes_links(occi: OcciClient, cloud, targets, method: str) -> None:
    # A common third-party sequence: create, suspend, link storage and a network
    # (libvirt attaches to a paused guest and to a saved one's definition).
    compute = occi.create(COMPUTE)
    cloud.run_jobs()
    occi.invoke(
        compute,
        "http://schemas.ogf.org/occi/infrastructure/compute/action#suspend",
        attributes={"method": method},
    )
    cloud.run_jobs()
    assert occi.attribute(compute, "occi.compute.state") == "suspended"
    link = occi.create(
        STORAGELINK, {"occi.core.source": compute, "occi.core.target": targets["volume"]}
    )
    nic = occi.create(
        NETWORKINTERFACE, {"occi.core.source": compute, "occi.core.target": targets["network"]}
    )
    cloud.run_jobs()
    assert {lk.location for lk in occi.read(compute).links} == {link, nic}
    assert occi.attribute(link, "occi.storagelink.state") == "inactive"
    guest = cloud.guest(compute.rsplit("/", 1)[1])  # what the host knows it by
    assert [d.device for d in cloud.driver().guest_disks(guest)] == ["vdb"]
    occi.invoke(compute, "http://schemas.ogf.org/occi/infrastructure/compute/action#start")
    cloud.run_jobs()
    assert occi.attribute(compute, "occi.compute.state") == "active"
    assert occi.attribute(link, "occi.storagelink.state") == "active"
    # and they are detached from a suspended compute as well
    occi.invoke(
        compute,
        "http://schemas.ogf.org/occi/infrastructure/compute/action#suspend",
        attributes={"method": method},
    )
    cloud.run_jobs()
    occi.request("DELETE", link, status=204)
    occi.request("DELETE", nic, status=204)
    cloud.run_jobs()
    assert occi.read(compute).links == ()
    assert cloud.driver().guest_disks(guest) == ()
