"""Volumes, their templates and configurations, and MachineVolumes (DSP0263 5.15, 5.14)."""

from __future__ import annotations

from functional.cimi.conftest import Cloud
from functional.cimi.flows import config, create_machine, create_volume, settle
from functional.cimi.support import Cimi, operation, rels
from webtest import TestApp

GIB_IN_KIB = 1024 * 1024


def test_volume_lifecycle_and_attachment(alice: Cimi, cloud: Cloud) -> None:
    assert config(alice, "1GiB")["capacity"] == GIB_IN_KIB
    assert "capacity" not in config(alice, "custom")  # custom-sized offering
    # A VolumeTemplate (201), then Volumes by reference and by value.
    response = alice.add(alice.collection("volumeTemplates"), "VolumeTemplate",
                         {"name": "one-gib", "volumeConfig": {"href": config(alice, "1GiB")["id"]}},
                         status=201)  # fmt: skip
    by_reference = create_volume(alice, cloud, {"href": response.headers["Location"]})
    by_value = create_volume(
        alice,
        cloud,
        {"volumeConfig": {"href": config(alice, "custom")["id"], "capacity": 3 * GIB_IN_KIB,
                          "format": "ext3", "type": "http://schemas.dmtf.org/cimi/1/mapped"}},
        name="scratch",
    )  # fmt: skip
    volume = alice.get(by_reference)
    assert (volume["state"], volume["capacity"], volume["bootable"]) == (
        "AVAILABLE",
        GIB_IN_KIB,
        False,
    )
    assert rels(volume) == {"edit", "delete"}
    # Whole GiB only: 3 GiB - 5 KiB is a 400, never rounded (test_cimi_http_validation).
    assert alice.get(by_value)["capacity"] == 3 * GIB_IN_KIB

    # Attach to a Machine through its volumes Collection (MachineVolume).
    machine = alice.get(create_machine(alice, cloud))
    attachments = machine["volumes"]["href"]
    add = operation(alice.get(attachments), "add")
    assert add == attachments
    response = alice.add(add, "MachineVolume",
                         {"initialLocation": "/dev/vdc", "volume": {"href": by_reference}},
                         status=202)  # fmt: skip
    link = response.headers["Location"]
    settle(alice, cloud, response)
    listed = alice.get(attachments)
    assert listed["count"] == 1
    entry = listed["machineVolumes"][0]
    assert entry["id"] == link
    assert entry["initialLocation"] == "/dev/vdc"
    assert entry["volume"]["href"] == by_reference
    assert rels(alice.get(link)) == {"delete"}
    # An attached Volume offers no delete, and refuses one (409), changing nothing.
    assert "delete" not in rels(alice.get(by_reference))
    alice.delete(by_reference, status=409)
    expanded = alice.get(attachments, **{"$expand": "volume"})
    assert expanded["machineVolumes"][0]["volume"]["capacity"] == GIB_IN_KIB

    # Detach (DELETE the MachineVolume), then delete the Volume.
    settle(alice, cloud, alice.delete(link, status=202))
    alice.request("GET", link, status=404)
    assert alice.get(attachments)["count"] == 0
    settle(alice, cloud, alice.delete(by_reference, status=202))
    alice.request("GET", by_reference, status=404)

    # Edits.
    alice.put(by_value, "Volume", {"name": "renamed", "properties": {"k": "v"}})
    assert alice.get(by_value)["properties"] == {"k": "v"}
    alice.put(by_value, "Volume", {"capacity": 1}, status=400)  # read-only, different


def test_a_machine_created_with_new_volumes(alice: Cimi, cloud: Cloud) -> None:
    one = config(alice, "1GiB")["id"]
    new = {"initialLocation": "/dev/vdb", "volumeTemplate": {"volumeConfig": {"href": one}}}
    url = create_machine(alice, cloud, volumeTemplates=[new])
    machine = alice.get(url)
    assert machine["state"] == "STARTED"
    attached = alice.entries(machine["volumes"]["href"])
    assert [a["initialLocation"] for a in attached] == ["/dev/vdb"]
    volume = alice.get(attached[0]["volume"]["href"])
    assert volume["state"] == "AVAILABLE"
    assert volume["name"] == "web-disk1"
    assert "capture" in rels(machine) or machine["state"] != "STOPPED"


def test_configurations_are_the_administrators(alice: Cimi, admin: Cimi, cloud: Cloud) -> None:
    configs = alice.collection("volumeConfigs")
    assert operation(alice.get(configs), "add") is None
    assert rels(config(alice, "1GiB")) == set()
    alice.add(configs, "VolumeConfiguration", {"name": "mine", "capacity": GIB_IN_KIB}, status=403)
    assert operation(admin.get(configs), "add") == configs
    five = {"name": "5GiB", "capacity": 5 * GIB_IN_KIB}
    response = admin.add(configs, "VolumeConfiguration", five, status=201)
    created = admin.get(response.headers["Location"])
    assert created["capacity"] == 5 * GIB_IN_KIB and rels(created) == {"edit", "delete"}
    admin.put(created["id"], "VolumeConfiguration", {"description": "five"}, select="description")
    assert alice.get(created["id"])["description"] == "five"
    admin.delete(created["id"], status=200)
    alice.request("GET", created["id"], status=404)
    machine_configs = admin.collection("machineConfigs")
    response = admin.add(machine_configs, "MachineConfiguration",
                         {"name": "tiny", "cpu": 1, "memory": 128 * 1024}, status=201)  # fmt: skip
    assert admin.get(response.headers["Location"])["memory"] == 128 * 1024
    network_configs = admin.collection("networkConfigs")
    admin.add(
        network_configs,
        "NetworkConfiguration",
        {"name": "pub", "networkType": "PUBLIC"},
        status=400,
    )
    admin.add(network_configs, "NetworkConfiguration", {"name": "priv"}, status=201)


def test_volume_errors(alice: Cimi, carol: Cimi, cloud: Cloud, app: TestApp) -> None:
    volumes = alice.collection("volumes")
    for template, status in (
        ({"volumeConfig": {"capacity": 0}}, 400),
        ({"volumeConfig": {"href": alice.collection("machineConfigs") + "/x"}}, 400),
        ({"volumeConfig": {"capacity": 1}}, 400),  # 1 KiB: not a whole number of GiB
        ({"volumeImage": {"name": "by value"}, "volumeConfig": {"capacity": GIB_IN_KIB}}, 400),
        ({"volumeConfig": {"href": alice.collection("volumeConfigs") + "/missing"}}, 400),
    ):
        alice.add(volumes, "VolumeCreate", {"volumeTemplate": template}, status=status)
    assert alice.get(volumes)["count"] == 0
    url = create_volume(alice, cloud, {"volumeConfig": {"capacity": GIB_IN_KIB}})
    carol.request("GET", url, status=404)
    carol.delete(url, status=404)
    machine = create_machine(alice, cloud)
    alice.add(
        machine + "/volumes",
        "MachineVolume",
        {"volume": {"href": url}, "initialLocation": "/dev/sda1"},
        status=400,
    )
    carol.add(machine + "/volumes", "MachineVolume", {"volume": {"href": url}}, status=404)
    assert alice.get(machine + "/volumes")["count"] == 0
