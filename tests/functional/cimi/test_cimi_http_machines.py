"""The Machine lifecycle from the CEP, in JSON and in XML (DSP0263 5.14, 4.2.1)."""

from __future__ import annotations

from typing import Any

import pytest
from functional.cimi.conftest import Cloud, client
from functional.cimi.flows import create_machine, settle, template
from functional.cimi.support import ACTION, Cimi, operation, rels
from webtest import TestApp

from cimi.resources import NS


def test_full_machine_lifecycle(alice: Cimi, cloud: Cloud) -> None:
    machines = alice.collection("machines")
    add = operation(alice.get(machines), "add")
    assert add == machines

    # A MachineTemplate, created directly (201), then a Machine by reference to it.
    response = alice.add(alice.collection("machineTemplates"), "MachineTemplate",
                         {"name": "web-template", "properties": {"tier": "web"}, **template(alice)},
                         status=201)  # fmt: skip
    template_url = response.headers["Location"]
    stored = alice.decode(response)
    assert stored["id"] == template_url
    assert stored["machineConfig"]["href"].startswith(alice.collection("machineConfigs"))
    body = {
        "name": "web1",
        "description": "first machine",
        "properties": {"owner": "alice"},
        "machineTemplate": {"href": template_url},
    }
    response = alice.add(machines, "MachineCreate", body, status=202)
    url = response.headers["Location"]
    creating = alice.get(url)
    assert creating["state"] == "CREATING"
    assert rels(creating) <= {"edit"}  # nothing but edit while the job runs
    job = settle(alice, cloud, response)
    assert job["action"] == "add"
    assert job["affectedResources"] == [{"href": url}]

    machine = alice.get(url)
    assert machine["state"] == "STARTED"
    assert machine["name"] == "web1"
    assert machine["description"] == "first machine"
    assert machine["properties"] == {"owner": "alice"}
    assert (machine["cpu"], machine["memory"], machine["cpuArch"]) == (1, 512 * 1024, "x86_64")
    assert rels(machine) == {"edit", "delete", "stop", "restart", "pause", "suspend"}
    for sub in ("disks", "volumes", "networkInterfaces"):
        assert alice.get(machine[sub]["href"])["count"] == 0

    # Actions: each one 202 with a Job; the operations follow the state.
    # (action, resulting state, offered then, not offered then, the Job's action)
    for action, state, offered, absent, done in (
        ("stop", "STOPPED", {"start", "restart", "delete"}, {"stop", "pause"}, "stop"),
        ("start", "STARTED", {"stop", "pause"}, {"start"}, "start"),
        ("pause", "PAUSED", {"start", "stop", "suspend"}, {"pause"}, "pause"),
        ("start", "STARTED", {"stop"}, {"start"}, "start"),
        ("suspend", "SUSPENDED", {"start", "stop"}, {"suspend", "pause"}, "suspend"),
        # restart of a SUSPENDED machine is a start (5.14.1 as Sirocco reads it)
        ("restart", "STARTED", {"stop"}, {"start"}, "start"),
        ("restart", "STARTED", {"stop"}, {"start"}, "restart"),
    ):
        response = alice.act(url, action)
        assert response.headers["Location"] == url
        job = settle(alice, cloud, response)
        assert job["action"] == ACTION + done
        machine = alice.get(url)
        assert machine["state"] == state, (action, machine["state"])
        assert offered <= rels(machine) and not absent & rels(machine), (action, rels(machine))

    # stop with force: a power-off.
    settle(alice, cloud, alice.act(url, "stop", force=True))
    assert alice.get(url)["state"] == "STOPPED"
    # restart of a STOPPED machine starts it (5.14.1, Sirocco's reading).
    settle(alice, cloud, alice.act(url, "restart"))
    assert alice.get(url)["state"] == "STARTED"

    # Edit: a full PUT of the representation, then a partial one with $select.
    current = alice.get(url)
    alice.put(url, "Machine", {**current, "name": "web1-renamed"})
    assert alice.get(url)["name"] == "web1-renamed"
    assert alice.get(url)["properties"] == {"owner": "alice"}
    alice.put(url, "Machine", {"description": "changed"}, select="description")
    edited = alice.get(url)
    assert (edited["name"], edited["description"]) == ("web1-renamed", "changed")
    alice.put(url, "Machine", {"name": "web1-renamed"}, select="description,properties")
    edited = alice.get(url)
    assert "description" not in edited and "properties" not in edited  # selected, absent: removed

    # Delete: 202 with a Job, DELETING meanwhile, then gone.
    response = alice.delete(url, status=202)
    assert alice.get(url)["state"] == "DELETING"
    job = settle(alice, cloud, response)
    assert job["action"] == "delete"
    alice.request("GET", url, status=404)
    assert alice.get(machines)["count"] == 0


def test_machine_from_a_by_value_configuration_stopped_with_a_credential(
    alice: Cimi, cloud: Cloud
) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5 alice@test"
    body = {
        "machineTemplate": {
            "initialState": "STOPPED",
            "machineConfig": {"cpu": 2, "memory": 1024 * 1024 + 1},  # rounded up to MiB
            "machineImage": {"href": alice.entries("machineImages")[0]["id"]},
            "credential": {"key": key},
            "userData": "aGVsbG8=",
        }
    }
    response = alice.add(alice.collection("machines"), "MachineCreate", body, status=202)
    settle(alice, cloud, response)
    machine = alice.get(response.headers["Location"])
    assert machine["state"] == "STOPPED"
    assert machine["name"].startswith("machine-")  # CIMI names are optional
    assert (machine["cpu"], machine["memory"]) == (2, 1025 * 1024)
    assert "start" in rels(machine) and "stop" not in rels(machine)


def test_a_by_value_template_overrides_the_referenced_one(alice: Cimi, cloud: Cloud) -> None:
    created = alice.add(
        alice.collection("machineTemplates"), "MachineTemplate", template(alice), status=201
    )
    large = next(c for c in alice.entries("machineConfigs") if c["name"] == "large")
    body = {
        "name": "big",
        "machineTemplate": {
            "href": created.headers["Location"],
            "machineConfig": {"href": large["id"]},
            "initialState": "STOPPED",
        },
    }
    settle(alice, cloud, alice.add(alice.collection("machines"), "MachineCreate", body, status=202))
    machine = alice.entries("machines", **{"$filter": "name='big'"})[0]
    assert (machine["cpu"], machine["state"]) == (2, "STOPPED")


def machine_count(cimi: Cimi) -> int:
    return int(cimi.get(cimi.collection("machines"))["count"])


def test_client_errors_change_nothing(alice: Cimi, cloud: Cloud) -> None:
    machines = alice.collection("machines")
    url = create_machine(alice, cloud)
    good = template(alice)
    before = machine_count(alice)
    bad_bodies: list[tuple[dict[str, Any], str]] = [
        ({"name": "x"}, "machineTemplate"),
        ({"machineTemplate": {"href": alice.collection("machineTemplates") + "/nope"}}, "exist"),
        ({"machineTemplate": {**good, "machineImage": {"name": "by value"}}}, "machineImage"),
        ({"machineTemplate": {**good, "initialState": "PAUSED"}}, "initialState"),
        ({"machineTemplate": {**good, "machineConfig": {"href": "http://x/y"}}}, "machineConfig"),
        ({"machineTemplate": {**good, "machineConfig": {"href": alice.collection("machineConfigs") + "/gone"}}}, "machineConfig is not one this cloud knows"),  # noqa: E501
        ({"machineTemplate": {**good, "networkInterfaces": [{"network": {"href": alice.collection("networks") + "/n"}, "mtu": 9000}]}}, "mtu"),  # noqa: E501
        ({"name": "", "machineTemplate": {**good, "credential": {"username": "root"}}}, "username"),
    ]  # fmt: skip
    for body, message in bad_bodies:
        response = alice.add(machines, "MachineCreate", body, status=400)
        assert message in response.text, (message, response.text)
    # Malformed bodies, other media types.
    for raw in (b"{", b"<MachineCreate", b"[]", b"\xff\xfe"):
        alice.request("POST", machines, raw, status=400)
    alice.request("POST", machines, b"name=x", content_type="text/plain", status=415)
    alice.request(
        "POST", machines, b"{}", content_type="application/x-www-form-urlencoded", status=415
    )
    # Actions the state or the type forbid.
    alice.act(url, "start", status=409)
    response = alice.request(
        "POST", url, alice.encode("Action", {"action": "http://example.com/reboot"}), status=400
    )
    alice.request("POST", url, alice.encode("Action", {"action": ACTION + "explode"}), status=400)
    alice.request("POST", url, alice.encode("Action", {"action": ACTION + "capture"}), status=400)
    # Edits that cannot be made.
    alice.put(url, "Machine", {"cpu": 4}, select="cpu", status=400)
    alice.put(url, "Machine", {"name": ""}, select="name", status=400)
    alice.request("PUT", alice.collection("machines"), alice.encode("Machine", {}), status=405)
    alice.request("GET", url, params={"$filter": "cpu=1"}, status=400)
    assert machine_count(alice) == before
    machine = alice.get(url)
    assert (machine["state"], machine["name"]) == ("STARTED", "web")


def test_another_tenants_machine_is_not_found(
    app: TestApp, cloud: Cloud, alice: Cimi, carol: Cimi
) -> None:
    url = create_machine(alice, cloud)
    carol.request("GET", url, status=404)
    carol.request("PUT", url, carol.encode("Machine", {"name": "mine"}), status=404)
    carol.request("DELETE", url, status=404)
    carol.request("POST", url, carol.encode("Action", {"action": ACTION + "stop"}), status=404)
    carol.request("GET", url + "/volumes", status=404)
    assert carol.get(carol.collection("machines"))["count"] == 0
    # Nor can carol name alice's resources in her own bodies.
    stolen = alice.add(
        alice.collection("machineTemplates"), "MachineTemplate", template(alice), status=201
    )
    body = {"machineTemplate": {"href": stolen.headers["Location"]}}
    carol.add(carol.collection("machines"), "MachineCreate", body, status=400)
    assert alice.get(url)["state"] == "STARTED"


@pytest.mark.parametrize("fmt", ["xml"])
def test_plugfest_style_xml_bodies(app: TestApp, cloud: Cloud, fmt: str) -> None:
    """Bodies as Deltacloud's tests send them: no namespace, padded values (cimi.md 5.1)."""
    alice = client(app, "alice", "xml")
    config = alice.entries("machineConfigs")[0]["id"]
    image = alice.entries("machineImages")[0]["id"]
    body = (
        "<MachineCreate><name>plain</name><machineTemplate>"
        f'<machineConfig href="{config}"/><machineImage href="{image}"/>'
        "</machineTemplate></MachineCreate>"
    ).encode()
    response = alice.request("POST", alice.collection("machines"), body, status=202)
    cloud.run()
    url = response.headers["Location"]
    stop = f'<Action xmlns="{NS}"><action> {ACTION}stop </action></Action>'.encode()
    alice.request("POST", url, stop, status=202)
    cloud.run()
    assert alice.get(url)["state"] == "STOPPED"
