"""Networks, their templates, interfaces, ports and addresses (DSP0263 5.16, 1.x model)."""

from __future__ import annotations

import ipaddress

from functional.cimi.conftest import Cloud
from functional.cimi.flows import create_machine, create_network, settle
from functional.cimi.support import ACTION, Cimi, operation, rels


def test_network_lifecycle_interfaces_ports_and_addresses(alice: Cimi, cloud: Cloud) -> None:
    url = create_network(alice, cloud)
    network = alice.get(url)
    assert (network["state"], network["networkType"]) == ("STARTED", "PRIVATE")
    assert rels(network) == {"edit", "delete", "stop"}
    settle(alice, cloud, alice.act(url, "stop"))
    assert alice.get(url)["state"] == "STOPPED"
    assert rels(alice.get(url)) == {"edit", "delete", "start"}
    settle(alice, cloud, alice.act(url, "start"))

    # An interface on a Machine: add to its networkInterfaces Collection.
    machine = alice.get(create_machine(alice, cloud))
    interfaces = machine["networkInterfaces"]["href"]
    assert operation(alice.get(interfaces), "add") == interfaces
    response = alice.add(
        interfaces, "MachineNetworkInterface", {"network": {"href": url}}, status=202
    )
    nic_url = response.headers["Location"]
    assert alice.get(nic_url)["state"] == "ATTACHING"
    settle(alice, cloud, response)
    nic = alice.get(nic_url)
    assert nic["state"] == "ATTACHED"
    assert nic["network"]["href"] == url
    assert nic["networkType"] == "PRIVATE"
    assert len(nic["macAddress"].split(":")) == 6
    assert rels(nic) == {"delete"}

    # The interface's address, as a MachineNetworkInterfaceAddress and as an Address.
    links = alice.entries(nic["addresses"]["href"])
    assert len(links) == 1
    address = alice.get(links[0]["address"]["href"])
    assert ipaddress.ip_address(address["ip"]) in ipaddress.ip_network("10.1.0.0/24")
    assert address["protocol"] == "IPv4" and address["mask"] == "255.255.255.0"
    assert address["network"]["href"] == url
    assert address["resource"]["href"] == machine["id"]
    assert address["defaultGateway"] == "10.1.0.1"
    assert [a["id"] for a in alice.entries("addresses")] == [address["id"]]
    assert operation(alice.get(alice.collection("addresses")), "add") is None
    alice.delete(address["id"], status=405)

    # The port: in the NetworkPort Collection and in the Network's.
    port = alice.get(nic["networkPort"]["href"])
    assert (port["state"], port["network"]["href"]) == ("STARTED", url)
    assert [p["id"] for p in alice.entries(network["networkPorts"]["href"])] == [port["id"]]
    assert [p["id"] for p in alice.entries("networkPorts")] == [port["id"]]

    # A network with interfaces cannot be deleted (409); detach, then delete.
    alice.delete(url, status=409)
    settle(alice, cloud, alice.delete(nic_url, status=202))
    assert alice.entries("addresses") == []
    settle(alice, cloud, alice.delete(url, status=202))
    alice.request("GET", url, status=404)


def test_machine_template_with_a_network(alice: Cimi, cloud: Cloud) -> None:
    network = create_network(alice, cloud)
    url = create_machine(alice, cloud, networkInterfaces=[{"network": {"href": network}}])
    interfaces = alice.entries(alice.get(url)["networkInterfaces"]["href"])
    assert [(i["state"], i["network"]["href"]) for i in interfaces] == [("ATTACHED", network)]
    templates = alice.entries("machineTemplates")
    assert templates == []  # a by-value template is not stored


def test_network_errors(alice: Cimi, carol: Cimi, cloud: Cloud) -> None:
    networks = alice.collection("networks")
    config = alice.entries("networkConfigs")[0]["id"]
    for template in (
        {"networkConfig": {"href": config, "networkType": "PUBLIC"}},
        {"networkConfig": {"href": config, "mtu": 9000}},
        {"networkConfig": {"href": config}, "forwardingGroup": {"href": "http://x/fg"}},
    ):
        alice.add(networks, "NetworkCreate", {"networkTemplate": template}, status=400)
    url = create_network(alice, cloud)
    carol.request("GET", url, status=404)
    carol.request("POST", url, carol.encode("Action", {"action": ACTION + "stop"}), status=404)
    machine = create_machine(alice, cloud)
    carol.add(
        machine + "/networkInterfaces",
        "MachineNetworkInterface",
        {"network": {"href": url}},
        status=404,
    )
    carol_machine = create_machine(carol, cloud)
    # alice's network, named in carol's body: a reference she cannot see (400).
    carol.add(
        carol_machine + "/networkInterfaces",
        "MachineNetworkInterface",
        {"network": {"href": url}},
        status=400,
    )
    alice.add(machine + "/networkInterfaces", "MachineNetworkInterface",
              {"network": {"href": url}, "networkType": "PUBLIC"}, status=400)  # fmt: skip
    assert alice.get(machine + "/networkInterfaces")["count"] == 0
