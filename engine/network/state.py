"""A network's recorded facts, validation and events.

Shared by :mod:`engine.network.service` (requests) and
:mod:`engine.network.handlers` (jobs): every ``network.*`` event carries
:func:`network_facts` plus ``previous_state``, so that usage accounting
can follow networks from their events alone (interfaces' events, which carry
the addresses: :mod:`engine.compute.link_events`).

Attribute names follow OCCI (GFD.224 §3.2 Network and its IPNetwork mixin
§3.5.2: ``occi.network.vlan``, ``label``, ``address``, ``gateway``,
``allocation``; §3.4.1 NetworkInterface: ``interface``, ``mac``, and the
IPNetworkInterface mixin's ``address`` and ``allocation``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.lifecycle import Action, Kind
from engine.network.addressing import check_cidr
from engine.network.ipam import IPAddress, IPNetwork, default_gateway, parse_address
from engine.network.models import Network
from engine.resources.emitters import ResourceEmitter, resource_emitter
from engine.resources.state import iso

#: The range of a network created with neither a CIDR nor an offering (the
#: default of NetworkOffering.default_cidr).
DEFAULT_CIDR = "10.1.0.0/24"
#: occi.network.allocation / occi.networkinterface.allocation (GFD.224 §3.5.2).
ALLOCATIONS = frozenset({"dynamic", "static"})
#: occi.network.vlan is an 802.1Q VLAN id: 0 to 4095 (GFD.224 §3.2, Table 9).
VLAN_MIN, VLAN_MAX = 0, 4095
#: Smallest networks: IPv4 /30 and IPv6 /126 leave one address after the
#: gateway (and, for IPv4, the network and broadcast addresses).
MAX_PREFIX = {4: 30, 6: 126}
#: Largest networks accepted; bigger ones are typos, and nothing is gained.
MIN_PREFIX = {4: 8, 6: 48}
#: What :meth:`NetworkService.perform` accepts, OCCI's ``up``/``down`` included.
NETWORK_ACTIONS: dict[str, Action] = {
    "start": Action.START,
    "up": Action.START,
    "stop": Action.STOP,
    "down": Action.STOP,
    "delete": Action.DELETE,
}
#: A guest-side interface name: what Linux accepts (IFNAMSIZ is 16 with the NUL).
_INTERFACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$")


def hypervisor_name(network_id: str) -> str:
    """The libvirt network that carries an engine network on a host: ``concord-<id>``."""
    return f"concord-{network_id}"


def check_range(cidr: str, gateway: str | None) -> tuple[IPNetwork, IPAddress]:
    """The network's range and gateway, validated.

    A CIDR with host bits set (``192.168.0.1/24``, as in GFD.224's table of
    attributes) is refused (:func:`~engine.network.ipam.check_cidr`): it is
    not clear whether it names the network or an address on it, and reading
    either would be a guess. The gateway is the one given, else the first
    address.

    :raises InvalidInput: not a CIDR, host bits set, too small or too large a
        range, or a gateway outside it or on its network or broadcast address.
    """
    network = check_cidr(cidr, "cidr")
    low, high = MIN_PREFIX[network.version], MAX_PREFIX[network.version]
    if not low <= network.prefixlen <= high:
        raise InvalidInput(
            f"an IPv{network.version} network's prefix is from /{low} to /{high}",
            field="cidr",
            reason="prefix",
            minimum=low,
            maximum=high,
        )
    address = default_gateway(network) if gateway is None else parse_address(gateway, "gateway")
    if address.version != network.version or address not in network:
        raise InvalidInput(
            f"gateway {address} is not inside {network}", field="gateway", reason="outside"
        )
    last = int(network.broadcast_address) - (1 if network.version == 4 else 0)
    if not int(network.network_address) < int(address) <= last:
        raise InvalidInput(
            f"gateway {address} is the network's or broadcast address",
            field="gateway",
            reason="reserved",
        )
    return network, address


def check_vlan(vlan: object) -> int | None:
    """An 802.1Q VLAN id (0-4095) or None."""
    if vlan is None:
        return None
    if isinstance(vlan, bool) or not isinstance(vlan, int) or not VLAN_MIN <= vlan <= VLAN_MAX:
        raise InvalidInput(
            f"vlan is a whole number from {VLAN_MIN} to {VLAN_MAX}",
            field="vlan",
            reason="range",
            minimum=VLAN_MIN,
            maximum=VLAN_MAX,
        )
    return vlan


def check_allocation(allocation: object) -> str:
    """``dynamic`` or ``static``."""
    if allocation not in ALLOCATIONS:
        raise InvalidInput("allocation is 'dynamic' or 'static'", field="allocation")
    return str(allocation)


def check_interface_name(name: object) -> str:
    """A guest interface name such as ``eth0`` (a letter, then up to 14 of ``[A-Za-z0-9_.-]``)."""
    if not isinstance(name, str) or not _INTERFACE_RE.match(name):
        raise InvalidInput(
            "an interface name is a letter followed by up to 14 letters, digits, '_', '.' "
            "or '-' (e.g. eth0)",
            field="interface",
        )
    return name


def network_facts(network: Network) -> dict[str, Any]:
    """The facts every ``network.*`` event carries."""
    return {
        "name": network.name,
        "account_id": network.account_id,
        "project_id": network.project_id,
        "domain_id": network.domain_id,
        "zone_id": network.zone_id,
        "offering_id": network.offering_id,
        "cidr": network.cidr,
        "gateway": network.gateway,
        "vlan": network.vlan,
        "vni": network.vni,
        "label": network.label,
        "allocation": network.allocation,
        "state": network.state,
        "created": iso(network.created),
    }


def _network_event_facts(_session: Session, network: Network) -> dict[str, Any]:
    return network_facts(network)


emit_network: ResourceEmitter[Network] = resource_emitter(
    Kind.NETWORK,
    _network_event_facts,
    "Record a ``network.*`` event with the network's facts, in the caller's transaction.",
)


__all__ = [
    "ALLOCATIONS",
    "DEFAULT_CIDR",
    "NETWORK_ACTIONS",
    "VLAN_MAX",
    "VLAN_MIN",
    "check_allocation",
    "check_interface_name",
    "check_range",
    "check_vlan",
    "emit_network",
    "hypervisor_name",
    "network_facts",
]
