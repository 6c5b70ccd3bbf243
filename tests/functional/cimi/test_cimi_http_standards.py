"""Standards behaviour a CIMI client relies on (issue 17), in JSON and in XML."""

from __future__ import annotations

import pytest
from functional.cimi.conftest import Cloud
from functional.cimi.flows import config, create_machine, create_network, create_volume, settle
from functional.cimi.support import Cimi, check_error
from helpers import basic
from webtest import TestApp


@pytest.mark.parametrize(
    ("name", "value"),
    [("state", "STOPPED"), ("cpu", 7), ("memory", 1024), ("cpuArch", "ARM")],
)
def test_a_read_only_attribute_changed_by_put_is_a_400(
    alice: Cimi, cloud: Cloud, name: str, value: object
) -> None:
    url = create_machine(alice, cloud)
    before = alice.get(url)
    assert before[name] != value
    response = alice.put(url, "Machine", {**before, name: value, "name": "renamed"}, status=400)
    assert name in check_error(response)["message"]
    assert alice.get(url) == before  # nothing changed, not even the name
    # What was read, sent back with a writable change, is accepted.
    alice.put(url, "Machine", {**before, "name": "renamed"})
    assert alice.get(url)["name"] == "renamed"
    assert alice.get(url)["state"] == before["state"]


@pytest.mark.parametrize(("action", "state"), [("pause", "PAUSED"), ("suspend", "SUSPENDED")])
def test_a_paused_or_suspended_machine_takes_volumes_and_interfaces(
    alice: Cimi, cloud: Cloud, action: str, state: str
) -> None:
    volume = create_volume(alice, cloud, {"volumeConfig": {"href": config(alice, "1GiB")["id"]}})
    network = create_network(alice, cloud)
    url = create_machine(alice, cloud)
    settle(alice, cloud, alice.act(url, action))
    machine = alice.get(url)
    assert machine["state"] == state
    response = alice.add(machine["volumes"]["href"], "MachineVolume",
                         {"initialLocation": "/dev/vdc", "volume": {"href": volume}},
                         status=202)  # fmt: skip
    settle(alice, cloud, response)
    response = alice.add(machine["networkInterfaces"]["href"], "MachineNetworkInterface",
                         {"network": {"href": network}}, status=202)  # fmt: skip
    settle(alice, cloud, response)
    assert alice.get(machine["volumes"]["href"])["count"] == 1
    assert alice.get(machine["networkInterfaces"]["href"])["count"] == 1
    settle(alice, cloud, alice.act(url, "start"))
    assert alice.get(url)["state"] == "STARTED"


def test_errors_speak_cimi(alice: Cimi, cloud: Cloud) -> None:
    # A memory out of range: CIMI's field name and unit, never the engine's.
    configs = {c["name"]: c for c in alice.entries("machineConfigs")}
    body = {
        "name": "huge",
        "machineTemplate": {
            "machineConfig": {"href": configs["small"]["id"], "cpu": 1, "memory": 2**40},
            "machineImage": {"href": alice.entries("machineImages")[0]["id"]},
        },
    }
    response = alice.add(alice.collection("machines"), "MachineCreate", body, status=400)
    error = check_error(response)
    assert error["message"].startswith("memory must be from 1024 to ")
    assert error["message"].endswith(" KiB")
    if alice.fmt == "json":
        assert error["details"]["field"] == "memory"
    else:
        assert b'<detail name="field">memory</detail>' in response.body
    # An operation the state forbids: CIMI's state and operation URIs.
    url = create_machine(alice, cloud)
    error = check_error(alice.act(url, "start", status=409))
    assert "it is STARTED" in error["message"]
    assert "http://schemas.dmtf.org/cimi/1/action/stop" in error["message"]
    for word in ("running", "compute", "force_stop", "memory_mib"):
        assert word not in response.text and word not in error["message"]


def test_cimi_job_uri_is_spelled_as_dsp0263_spells_it(app: TestApp, alice: Cimi, cloud) -> None:
    # DSP0263 4.2.1.7: CIMI-Job-URI; waitress would write Cimi-Job-Uri.
    from functional.wire import names, raw, served

    url = create_machine(alice, cloud)
    media = "application/json" if alice.fmt == "json" else "application/xml"
    body = alice.encode("Action", {"action": "http://schemas.dmtf.org/cimi/1/action/stop"})
    with served(app) as port:
        block = raw(
            port,
            "POST",
            url.removeprefix("http://localhost"),
            {**basic("alice", "alice-password"), "Content-Type": media, "Accept": media},
            body,
        )
    assert block.startswith("HTTP/1.1 202"), block
    assert "CIMI-Job-URI" in names(block) and "CIMI-Specification-Version" in names(block)
    assert "Cimi-Job-Uri" not in names(block)


def test_select_id_keeps_the_entries_ids(alice: Cimi, cloud: Cloud) -> None:
    url = create_machine(alice, cloud)
    listed = alice.get(alice.collection("machines"), **{"$select": "id"})
    assert listed["count"] == 1
    assert listed["machines"] == [{"id": url}]
    named = alice.get(alice.collection("machines"), **{"$select": "name"})
    assert named["machines"] == [{"id": url, "name": "web"}]
