"""Network (DSP0263 5.16), NetworkPort and Address (the 1.x network model).

======================  ========================================================
CIMI                    engine
======================  ========================================================
Network                 Network (always PRIVATE: an isolated segment; start and
                        stop are the engine's up and down)
NetworkPort             NetworkInterface, seen from its network: one port per
                        interface, read-only (ports come and go with Machine
                        interfaces); ``Network.networkPorts`` lists a network's
Address                 the IP address IPAM gave a NetworkInterface, read-only
                        (``ip``, ``allocation``, ``defaultGateway`` and
                        ``mask`` from the network, ``protocol`` IPv4 or IPv6,
                        ``resource`` the Machine); its id is the interface's
======================  ========================================================

The engine allocates addresses only when it attaches an interface, so the
Address Collection has no ``add``: AddressTemplates are kept (their CRUD
works) but nothing is created from them.
"""

from __future__ import annotations

import builtins
import ipaddress
from types import MappingProxyType
from typing import Any, ClassVar

from cimi.mapping import states
from cimi.mapping.base import (
    COMMON_EDITS,
    COMMON_NEEDS,
    Binding,
    Context,
    Outcome,
    ScopedListing,
    attr,
    const,
    ref,
    sub,
)
from cimi.mapping.queried import network_columns
from cimi.mapping.templates import name_for, template_parameters
from cimi.mapping.zones import ZONE_FIELD, chosen_zone
from cimi.query.sql import Columns
from engine.compute.models import Compute
from engine.errors import NotFound
from engine.lifecycle import Kind
from engine.network.models import Network, NetworkInterface
from engine.templates.models import TemplateKind


class Networks(Binding):
    """Network (5.16) over Network."""

    type_name = "Network"
    path = ("networks",)
    fields = (
        ("state", lambda n, ctx, href: states.state_of(states.NETWORK, n.state)),
        ("networkType", const("PRIVATE")),
        ("networkPorts", sub("networkPorts")),
        ZONE_FIELD,
    )
    edits = COMMON_EDITS
    model = Network
    needs = MappingProxyType(
        {
            **COMMON_NEEDS,
            "state": ("state",),
            "networkType": (),
            "networkPorts": (),
            "zone": ("zone_id",),
            "operations": ("state",),
        }
    )

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> Network:
        return ctx.engine.network.get(ctx.scope, ids[0])

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Network]:
        return ctx.engine.network.list(ctx.scope)

    def columns(self, ctx: Context) -> Columns:
        return network_columns(ctx)

    def listing(self, ctx: Context) -> ScopedListing:
        return ctx.engine.network

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.account_id is not None

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        params = template_parameters(ctx, value, "networkTemplate", TemplateKind.NETWORK)
        network, job = ctx.engine.templates.launch_network(
            ctx.scope,
            zone_id=chosen_zone(ctx, value),  # the zone extension (cimi.mapping.zones)
            name=name_for(value, "network"),
            description=value.get("description"),
            properties=value.get("properties"),
            parameters=params,
        )
        return Outcome(network, job=job, location=self.href(ctx, network), created=True)

    def update(self, ctx: Context, obj: Network, kwargs: dict[str, Any]) -> Any:
        return ctx.engine.network.update(ctx.scope, obj.id, **kwargs)

    def can_delete(self, ctx: Context, obj: Network) -> bool:
        return states.deletable(Kind.NETWORK, obj.state)

    def delete(self, ctx: Context, obj: Network) -> Outcome:
        job = ctx.engine.network.delete(ctx.scope, obj.id)
        return Outcome(job=job, location=self.href(ctx, obj))

    def actions_now(self, ctx: Context, obj: Network, href: str) -> builtins.list[tuple[str, str]]:
        return [(n, href) for n in states.offered(Kind.NETWORK, obj.state, states.NETWORK_ACTIONS)]

    def act(self, ctx: Context, obj: Network, name: str, action: dict[str, Any]) -> Outcome:
        if name not in states.NETWORK_ACTIONS:
            return super().act(ctx, obj, name, action)
        job = ctx.engine.network.perform(ctx.scope, obj.id, states.NETWORK_ACTIONS[name][0])
        return Outcome(job=job, location=self.href(ctx, obj))


class NetworkPorts(Binding):
    """NetworkPort (1.x) over NetworkInterface: read-only."""

    type_name = "NetworkPort"
    path: ClassVar[tuple[str, ...]] = ("networkPorts",)
    fields = (
        ("state", lambda n, ctx, href: states.state_of(states.PORT, n.state)),
        ("network", ref("networks", "network_id", Network)),
    )

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> NetworkInterface:
        return ctx.engine.interfaces.get_interface(ctx.scope, ids[0])

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        return ctx.engine.interfaces.list_interfaces(ctx.scope)


class PortsOfNetwork(NetworkPorts):
    """``Network.networkPorts``: the ports of one network (entries live at networkPorts/)."""

    path = ("networks", "networkPorts")

    def href(self, ctx: Context, obj: Any) -> str:
        return ctx.links.of("networkPorts", obj.public_id)

    def check_parent(self, ctx: Context, parent: tuple[str, ...]) -> None:
        ctx.engine.network.get(ctx.scope, parent[0])

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> NetworkInterface:
        nic = super().fetch(ctx, ids[1:])
        if nic.network_id != ctx.engine.network.get(ctx.scope, ids[0]).id:
            raise NotFound(f"no NetworkPort {ids[1]!r}")
        return nic

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        network = ctx.engine.network.get(ctx.scope, parent[0])
        return ctx.engine.interfaces.list_interfaces(ctx.scope, network_id=network.id)


def _network(ctx: Context, nic: NetworkInterface) -> Network | None:
    networks: dict[str, Network] = ctx.memo.setdefault("networks", {})
    if nic.network_id not in networks:
        networks[nic.network_id] = ctx.engine.session.get(Network, nic.network_id)
    return networks[nic.network_id]


def _ip(nic: NetworkInterface) -> Any:
    return ipaddress.ip_address(nic.ip_address) if nic.ip_address else None


def _mask(nic: NetworkInterface, ctx: Context) -> str | None:
    network = _network(ctx, nic)
    if network is None:
        return None
    prefix = ipaddress.ip_network(network.cidr, strict=False)
    return str(prefix.netmask) if prefix.version == 4 else str(prefix.prefixlen)


class Addresses(Binding):
    """Address (1.x) over the IP addresses of NetworkInterfaces: read-only."""

    type_name = "Address"
    path = ("addresses",)
    fields = (
        ("ip", attr("ip_address")),
        ("allocation", attr("allocation")),
        ("defaultGateway", lambda n, ctx, href: getattr(_network(ctx, n), "gateway", None)),
        ("protocol", lambda n, ctx, href: f"IPv{_ip(n).version}" if n.ip_address else None),
        ("mask", lambda n, ctx, href: _mask(n, ctx)),
        ("network", ref("networks", "network_id", Network)),
        ("resource", ref("machines", "compute_id", Compute)),
    )

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> NetworkInterface:
        nic = ctx.engine.interfaces.get_interface(ctx.scope, ids[0])
        if not nic.ip_address:
            raise NotFound(f"no address {ids[0]!r}")
        return nic

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        return [n for n in ctx.engine.interfaces.list_interfaces(ctx.scope) if n.ip_address]

    def prepare(
        self, ctx: Context, objs: builtins.list[Any], only: frozenset[str] | None = None
    ) -> None:
        ids = {n.network_id for n in objs}
        networks = ctx.engine.network.list(ctx.scope) if ids else []
        ctx.memo["networks"] = {n.id: n for n in networks if n.id in ids}


__all__ = ["Addresses", "NetworkPorts", "Networks", "PortsOfNetwork"]
