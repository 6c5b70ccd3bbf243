"""Values that must be refused, not read into something else (issue 16's validation gaps).

Each is a 400 whose message says what is wrong, in JSON and XML, and leaves
the database exactly as it was (``helpers.snapshot``): an AddressTemplate's
addresses that are not addresses (``999.1.1.1``, ``10.0.0.1/8; rm``), and a
capacity that is not a whole number of GiB (said in KiB, CIMI's unit). The
checks are the engine's, so OCCI refuses the same values alike
(``test_occi_http_validation``).
"""

from __future__ import annotations

from typing import Any

import pytest
from functional.cimi.conftest import Cloud
from functional.cimi.flows import config, create_volume
from functional.cimi.support import Cimi
from helpers import snapshot

GIB_IN_KIB = 1024 * 1024


def refused(cimi: Cimi, cloud: Cloud, key: str, type_name: str, value: dict[str, Any]) -> str:
    """POST a body that must be a 400 changing nothing; its message."""
    before = snapshot(cloud.database)
    response = cimi.add(cimi.collection(key), type_name, value, status=400)
    assert snapshot(cloud.database) == before
    if response.content_type == "application/json":
        return str(response.json["message"])
    return response.text


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("ip", "999.1.1.1"),
        ("ip", "10.0.0.1/8; rm -rf /"),
        ("ip", "10.0.0.1/8"),
        ("ip", "fd00::1; reboot"),
        ("defaultGateway", "999.1.1.1"),
        ("defaultGateway", "10.0.0.1/8; rm"),
        ("dns", "8.8.8.8, 999.1.1.1"),
        ("dns", "10.0.0.1/8; rm"),
        ("mask", "255.0.255.0"),
        ("mask", "10.0.0.1/8; rm"),
        ("protocol", "IPv5"),
        ("allocation", "dhcp; rm"),
        ("hostname", "web;rm -rf"),
    ],
)
def test_an_address_template_with_what_is_not_an_address(
    alice: Cimi, cloud: Cloud, attribute: str, value: str
) -> None:
    message = refused(
        alice, cloud, "addressTemplates", "AddressTemplate", {"name": "a", attribute: value}
    )
    # The message names the CIMI attribute (not the engine's parameter) and the value.
    named = message.startswith(f"{attribute} ") or f"<message>{attribute} " in message
    assert named and value[:9] in message, message


def test_an_address_template_with_addresses_is_kept(alice: Cimi, cloud: Cloud) -> None:
    response = alice.add(
        alice.collection("addressTemplates"),
        "AddressTemplate",
        {
            "name": "static",
            "ip": "10.1.0.50",
            "mask": "255.255.255.0",
            "defaultGateway": "10.1.0.1",
            "dns": "10.1.0.2, 2001:db8::53",
            "protocol": "IPv4",
            "allocation": "static",
            "hostname": "web-1.example.org",
        },
        status=201,
    )
    url = response.headers["Location"]
    assert alice.get(url)["dns"] == "10.1.0.2, 2001:db8::53"
    # An edit is checked alike, and a refused one changes nothing.
    before = snapshot(cloud.database)
    alice.put(url, "AddressTemplate", {"ip": "999.1.1.1"}, select="ip", status=400)
    assert snapshot(cloud.database) == before


@pytest.mark.parametrize("capacity", [GIB_IN_KIB + GIB_IN_KIB // 2, 1, 1024, 3 * GIB_IN_KIB - 5])
def test_a_capacity_that_is_not_whole_gib(alice: Cimi, cloud: Cloud, capacity: int) -> None:
    by_value = {"volumeConfig": {"href": config(alice, "custom")["id"], "capacity": capacity}}
    for key, type_name, value in (
        ("volumes", "VolumeCreate", {"name": "v", "volumeTemplate": by_value}),
        ("volumeTemplates", "VolumeTemplate", {"name": "t", **by_value}),
    ):
        message = refused(alice, cloud, key, type_name, value)
        # DSP0263 5.15: capacity is in KiB; the engine's GiB is not the client's unit.
        assert "capacity must be a multiple of 1048576 KiB" in message, message
        assert "GiB" not in message, message


@pytest.mark.parametrize("fmt", ["json"])
def test_configurations_of_a_fraction_of_a_gib(admin: Cimi, cloud: Cloud) -> None:
    half = GIB_IN_KIB // 2
    for key, type_name, value in (
        ("volumeConfigs", "VolumeConfiguration", {"name": "1.5GiB", "capacity": 3 * half}),
        ("machineConfigs", "MachineConfiguration",
         {"name": "odd", "cpu": 1, "memory": 131072, "disks": [{"capacity": 21 * half}]}),
    ):  # fmt: skip
        message = refused(admin, cloud, key, type_name, value)
        assert "capacity must be a multiple of 1048576 KiB" in message, message
        assert "GiB" not in message, message


def test_a_whole_capacity_is_still_a_volume(alice: Cimi, cloud: Cloud) -> None:
    url = create_volume(alice, cloud, {"volumeConfig": {"capacity": 2 * GIB_IN_KIB}})
    assert alice.get(url)["capacity"] == 2 * GIB_IN_KIB
