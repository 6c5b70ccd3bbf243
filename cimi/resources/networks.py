"""Network resources: Network, NetworkTemplate, NetworkConfiguration, NetworkPort,
Address, AddressTemplate, and their Create requests.

These follow the network model of DSP0263 1.x (cimi.md 3.1, 3.2), carried into
the CIMI 2 namespace: DSP0263 2.0.0 5.16 replaces NetworkPort and Address with
ProtocolSegment, ProtocolEndpoint, NetworkInterface and NetworkService, which
Concord does not model.
"""

from __future__ import annotations

from cimi.resources._common import (
    CR,
    RW,
    collection,
    create_request,
    enum,
    integer,
    ref,
    resource,
    string,
)
from cimi.resources.machines import NETWORK_TYPES

NETWORK_STATES = ("CREATING", "STARTING", "STARTED", "STOPPING", "STOPPED", "DELETING", "ERROR")

NETWORK = resource(
    "Network",
    enum("state", NETWORK_STATES, doc="5.16 state"),
    enum("networkType", NETWORK_TYPES, doc="5.16 PUBLIC or PRIVATE"),
    integer("mtu", minimum=0, doc="5.16 maximum transmission unit"),
    string("classOfService", doc="5.16 class of service"),
    collection("networkPorts", "NetworkPort", doc="5.16 ports of this Network"),
    ref("forwardingGroup", doc="5.16 the ForwardingGroup it belongs to"),
    ref("eventLog", doc="5.16 the Network's EventLog"),
    string("zone", doc="Concord extension: the name of the availability zone it is placed in"),
    doc="5.16 Network: a layer-2 network.",
)

NETWORK_CONFIGURATION = resource(
    "NetworkConfiguration",
    enum("networkType", NETWORK_TYPES, RW, doc="5.16 PUBLIC or PRIVATE"),
    integer("mtu", RW, minimum=0, doc="5.16 maximum transmission unit"),
    string("classOfService", RW, doc="5.16 class of service"),
    doc="5.16 NetworkConfiguration: the shape of a Network.",
)

NETWORK_TEMPLATE = resource(
    "NetworkTemplate",
    ref("networkConfig", "NetworkConfiguration", RW, create_required=True, doc="5.16"),
    ref("forwardingGroup", access=RW, doc="5.16 ForwardingGroup to join"),
    ref("eventLogTemplate", access=RW, doc="5.16 EventLog to create"),
    doc="5.16 NetworkTemplate: how to create a Network.",
)

NETWORK_PORT = resource(
    "NetworkPort",
    enum("state", NETWORK_STATES, doc="state"),
    ref("network", "Network", CR, create_required=True, doc="the Network of the port"),
    string("portType", CR, doc="type of port"),
    string("classOfService", CR, doc="class of service"),
    ref("eventLog", doc="the port's EventLog"),
    doc="NetworkPort (1.x): a port on a Network.",
)

ADDRESS = resource(
    "Address",
    string("ip", doc="the IP address"),
    string("hostname", doc="host name bound to the address"),
    string("allocation", doc="dynamic or static"),
    string("defaultGateway", doc="default gateway"),
    string("dns", doc="DNS servers"),
    string("protocol", doc="IPv4 or IPv6"),
    string("mask", doc="network mask"),
    ref("network", "Network", doc="the Network of the address"),
    ref("resource", doc="the resource using the address"),
    doc="Address (1.x): an IP address.",
)

ADDRESS_TEMPLATE = resource(
    "AddressTemplate",
    string("ip", RW, doc="the IP address, for static allocation"),
    string("hostname", RW, doc="host name to bind"),
    string("allocation", RW, doc="dynamic or static"),
    string("defaultGateway", RW, doc="default gateway"),
    string("dns", RW, doc="DNS servers"),
    string("protocol", RW, doc="IPv4 or IPv6"),
    string("mask", RW, doc="network mask"),
    ref("network", "Network", RW, doc="the Network to allocate from"),
    doc="AddressTemplate (1.x): how to create an Address.",
)

NETWORK_CREATE = create_request(
    "Network",
    "networkTemplate",
    "NetworkTemplate",
    string(
        "zone",
        CR,
        doc="Concord extension: the availability zone to place it in, by name "
        "(default: the first enabled zone)",
    ),
)
ADDRESS_CREATE = create_request("Address", "addressTemplate", "AddressTemplate")

TABLES = (
    NETWORK,
    NETWORK_CONFIGURATION,
    NETWORK_TEMPLATE,
    NETWORK_PORT,
    ADDRESS,
    ADDRESS_TEMPLATE,
    NETWORK_CREATE,
    ADDRESS_CREATE,
)
