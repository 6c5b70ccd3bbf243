"""Discovery from the CEP alone, and JSON <-> XML equivalence of every resource served.

A cloud with one of everything is crawled from the Cloud Entry Point by
following hrefs only (cimi.md 2.1: clients never build URLs). Every document
reached is read in JSON and in XML: both validate against their schemas and
decode to the same neutral value.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from functional.cimi.conftest import Cloud, client
from functional.cimi.flows import KEY, config, create_machine, create_network, settle
from functional.cimi.support import type_of
from webtest import TestApp

from cimi import codec


def hrefs(value: Any) -> list[str]:
    """Every href in a neutral document, ids included."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("href", "id") and isinstance(item, str):
                found.append(item)
            else:
                found.extend(hrefs(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(hrefs(item))
    return found


def populate(app: TestApp, cloud: Cloud) -> None:
    """One resource of every served type, through CIMI."""
    alice = client(app, "alice")
    network = create_network(alice, cloud)
    one = config(alice, "1GiB")["id"]
    machine = create_machine(
        alice,
        cloud,
        initialState="STOPPED",
        volumeTemplates=[{"volumeTemplate": {"volumeConfig": {"href": one}}}],
        networkInterfaces=[{"network": {"href": network}}],
    )
    capture = {"name": "img", "imageLocation": machine}
    settle(alice, cloud, alice.add(alice.collection("machineImages"), "MachineImage", capture))
    alice.add(
        alice.collection("credentials"), "CredentialCreate", {"credentialTemplate": {"key": KEY}}
    )
    alice.add(alice.collection("credentialTemplates"), "CredentialTemplate", {"key": KEY})
    image = alice.entries("machineImages")[0]["id"]
    alice.add(alice.collection("machineTemplates"), "MachineTemplate",
              {"machineConfig": {"cpu": 1, "memory": 65536}, "machineImage": {"href": image},
               "volumes": [{"volume": {"href": alice.entries("volumes")[0]["id"]}}]})  # fmt: skip
    alice.add(alice.collection("addressTemplates"), "AddressTemplate", {"ip": "10.1.0.9"})
    alice.add(
        alice.collection("volumeTemplates"), "VolumeTemplate", {"volumeConfig": {"href": one}}
    )
    response = alice.add(
        alice.collection("volumes"),
        "VolumeCreate",
        {"volumeTemplate": {"volumeConfig": {"capacity": 1024 * 1024}}},  # 1 GiB in KiB
    )
    settle(alice, cloud, response)


def test_crawl_from_the_cep_in_both_renderings(app: TestApp, cloud: Cloud) -> None:
    populate(app, cloud)
    as_json, as_xml = client(app, "alice", "json"), client(app, "alice", "xml")
    base = as_json.cep["baseURI"]
    pending = ["http://localhost/cimi/cloudEntryPoint"]
    seen: set[str] = set()
    types: Counter[str] = Counter()
    while pending:
        url = pending.pop()
        if url in seen or not url.startswith(base):
            continue
        seen.add(url)
        json_response = as_json.request("GET", url, status=200)
        xml_response = as_xml.request("GET", url, status=200)
        value = as_json.decode(json_response)
        assert codec.decode(xml_response.body, type_of(xml_response), codec.XML) == value, url
        types[type_of(json_response).name] += 1
        pending.extend(h for h in hrefs(value) if h not in seen)
    expected = {
        "CloudEntryPoint", "Machine", "MachineTemplate", "MachineConfiguration", "MachineImage",
        "Credential", "CredentialTemplate", "MachineVolume", "MachineNetworkInterface",
        "MachineNetworkInterfaceAddress", "Volume", "VolumeTemplate", "VolumeConfiguration",
        "VolumeImage", "Network", "NetworkTemplate", "NetworkConfiguration", "NetworkPort",
        "Address", "AddressTemplate", "Job", "ResourceMetadata",
    }  # fmt: skip
    resources = {name for name in types if not name.endswith("Collection")}
    assert expected <= resources, expected - resources
    collections = {name.removesuffix("Collection") for name in types if name.endswith("Collection")}
    assert expected - {"CloudEntryPoint"} <= collections
