"""Converted engine refusals, over the whole app, in CIMI's own words (issue 17).

The engine raises structured facts (engine.errors); CIMI words them through its
tables (cimi.mapping.errors): DSP0263's type names, its attribute names. Each
case asserts the exact message a client reads, in JSON and XML.
"""

from __future__ import annotations

from functional.cimi.conftest import Cloud
from functional.cimi.flows import KEY, create_machine, create_volume, settle
from functional.cimi.support import Cimi, check_error

GIB_IN_KIB = 1024 * 1024


def test_a_credential_name_clash_names_the_credential(alice: Cimi, cloud: Cloud) -> None:
    credentials = alice.collection("credentials")
    create = {"name": "laptop", "credentialTemplate": {"key": KEY}}
    alice.add(credentials, "CredentialCreate", create, status=201)
    error = check_error(alice.add(credentials, "CredentialCreate", create, status=409))
    assert error["message"] == "another Credential has this name already"
    assert alice.get(credentials)["count"] == 1


def test_a_bad_initial_location_names_the_cimi_attribute(alice: Cimi, cloud: Cloud) -> None:
    volume = create_volume(alice, cloud, {"volumeConfig": {"capacity": GIB_IN_KIB}})
    machine = create_machine(alice, cloud)
    response = alice.add(
        machine + "/volumes",
        "MachineVolume",
        {"volume": {"href": volume}, "initialLocation": "/dev/sda1"},
        status=400,
    )
    assert check_error(response)["message"] == (
        "initialLocation must be vd, sd, hd or xvd followed by one or two letters, such as vdb"
    )
    assert alice.get(machine + "/volumes")["count"] == 0


def test_deleting_an_attached_volume_speaks_of_machine_volumes(alice: Cimi, cloud: Cloud) -> None:
    volume = create_volume(alice, cloud, {"volumeConfig": {"capacity": GIB_IN_KIB}})
    machine = create_machine(alice, cloud)
    added = alice.add(
        machine + "/volumes", "MachineVolume", {"volume": {"href": volume}}, status=202
    )
    settle(alice, cloud, added)
    error = check_error(alice.delete(volume, status=409))
    uid = volume.rsplit("/", 1)[1]
    assert error["message"] == (
        f"Volume '{uid}' is linked to a Machine already; remove that link first"
    )
    assert alice.get(volume)["state"] == "AVAILABLE"
