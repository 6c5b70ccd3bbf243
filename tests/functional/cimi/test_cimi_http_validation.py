"""Values that must be refused, not read into something else (issue 16's validation gaps).

Each is a 400 whose message says what is wrong, in JSON and XML, and leaves
the database exactly as it was (``helpers.snapshot``): an AddressTemplate's
addresses that are not addresses (``999.1.1.1``, ``10.0.0.1/8; rm``). The
checks are the engine's (``engine/network/addressing.py``), which OCCI's
addresses reach too (``test_occi_http_validation``).
"""

from __future__ import annotations

from typing import Any

import pytest
from functional.cimi.conftest import Cloud
from functional.cimi.support import Cimi
from helpers import snapshot


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
    # The message names the engine's parameter (defaultGateway is its gateway) and the value.
    name = "gateway" if attribute == "defaultGateway" else attribute
    assert name in message and value[:9] in message, message


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
