"""Network interfaces: the links of computes to networks (OCCI networkinterface, GFD.224 §3.4.1;
CIMI MachineNetworkInterface).

An interface is created ``attaching`` with a ``network_interface.attach``
job, or without a job by :meth:`InterfaceService.prepare_interface` while
its compute is being created (the compute's creation defines the guest with
the NIC and completes the interface). Its address and MAC come from
:class:`~engine.network.ipam.IPAM`, which guarantees their uniqueness.
Detaching queues ``network_interface.detach``; when it succeeds the row is
deleted, which gives the address and MAC back, and a
``network_interface.deleted`` event keeps the record.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import lifecycle
from engine.compute._links import (
    check_pair,
    find_link,
    list_links,
    pin_pair,
    request_detach,
    submit_attach,
)
from engine.compute.link_events import emit_interface
from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.jobs.models import Job
from engine.lifecycle import Kind, State
from engine.network.defaults import DefaultNetworks
from engine.network.ipam import IPAM
from engine.network.models import Network, NetworkInterface
from engine.network.service import NetworkService
from engine.network.state import check_interface_name
from engine.prepared import prepared, visible
from engine.resources import checks
from engine.resources.ids import choose_id
from engine.resources.state import ATTACH_COMPUTE_STATES, refuse
from engine.scope import Scope

#: Networks that take new interfaces: up ones (GFD.224 §3.2 active).
ATTACH_NETWORK_STATES = frozenset({State.RUNNING})
#: ... and, for a compute created in the same request as its network, one
#: still being created.
PREPARE_NETWORK_STATES = frozenset({State.RUNNING, State.CREATING})
#: What a refused interface was for (engine.resources.state.refuse).
_ATTACH = ("attach", Kind.NETWORK_INTERFACE)


class InterfaceService:
    """Attach computes to networks and detach them.

    An interface is a link of the compute's (its source in OCCI, a collection
    of the Machine in CIMI), so it lives with compute, above the networks of
    :mod:`engine.network` that it reads and whose addresses it takes.

    :param session: the unit of work; the caller commits (then calls
        :func:`engine.jobs.worker.notify`) or rolls back.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def _network(self, scope: Scope, network_id: str) -> Network:
        return NetworkService(self.session).get(scope, network_id)

    # -- reading ---------------------------------------------------------------

    def get_interface(self, scope: Scope, nic_id: str) -> NetworkInterface:
        """An interface visible to ``scope``.

        :raises NotFound: no such interface (or detached), or another tenant's.
        """
        return find_link(self.session, scope, NetworkInterface, Kind.NETWORK_INTERFACE, nic_id)

    def list_interfaces(
        self, scope: Scope, *, compute_id: str | None = None, network_id: str | None = None
    ) -> list[NetworkInterface]:
        """Interfaces visible to ``scope``, of one compute or network if given."""
        return list_links(
            self.session,
            scope,
            NetworkInterface,
            compute_id=compute_id,
            target=(NetworkInterface.network_id, network_id),
            order=NetworkInterface.interface,
        )

    def list_interfaces_with_gateways(
        self, scope: Scope, compute_id: str
    ) -> list[tuple[NetworkInterface, str | None]]:
        """A compute's interfaces visible to ``scope``, each with its network's gateway.

        One statement: rendering a compute's interfaces (OCCI
        ``occi.networkinterface.gateway``) would otherwise read each network.
        """
        shape = scope.visibility_shape

        def build() -> sa.Select[NetworkInterface, str | None]:
            return (
                sa.select(NetworkInterface, Network.gateway)
                .join(Network, Network.id == NetworkInterface.network_id)
                .where(
                    visible(NetworkInterface, shape),
                    NetworkInterface.compute_id == sa.bindparam("compute_id"),
                )
                .order_by(NetworkInterface.interface)
            )

        statement = prepared(("interfaces with gateways", shape), build)
        parameters = {**scope.visibility_parameters(), "compute_id": compute_id}
        return [(nic, gateway) for nic, gateway in self.session.execute(statement, parameters)]

    # -- attaching -------------------------------------------------------------

    def attach_interface(
        self,
        scope: Scope,
        *,
        compute_id: str,
        network_id: str,
        ip_address: str | None = None,
        mac: str | None = None,
        interface: str | None = None,
        name: str | None = None,
        nic_id: str | None = None,
    ) -> tuple[NetworkInterface, Job]:
        """Give a stopped or running compute an interface on an up network.

        Queues ``network_interface.attach``, which plugs the NIC into the guest
        (live when it runs).

        :param ip_address: a static address (``occi.networkinterface.address``);
            by default the lowest free one.
        :param mac: by default a random ``52:54:00:xx:xx:xx``.
        :param interface: the guest-side name; by default ``eth0``, ``eth1``...
        :param name: the interface's name; by default its guest-side name.
        :param nic_id: an id the client chose (OCCI PUT at a new path); by
            default a new UUID (see :func:`engine.resources.ids.choose_id`).
        :raises NotFound: the compute or network is not visible to ``scope``.
        :raises InvalidTransition: the compute is not stopped or running, or
            the network is not up.
        :raises InvalidInput: a malformed or reserved address, MAC or name.
        :raises Conflict: another zone or owner, or the address, MAC or name is taken.
        :raises CapacityUnavailable: the network has no free address.
        """
        compute = ComputeService(self.session).get(scope, compute_id)
        network = self._network(scope, network_id)
        nic = self._link(
            compute,
            network,
            ip_address,
            mac,
            interface,
            ATTACH_COMPUTE_STATES,
            ATTACH_NETWORK_STATES,
            name=name,
            nic_id=nic_id,
        )
        job = submit_attach(self.session, scope, nic, Kind.NETWORK_INTERFACE, emit_interface)
        return nic, job

    def prepare_interface(
        self,
        scope: Scope,
        compute: Compute,
        network: Network,
        *,
        ip_address: str | None = None,
        mac: str | None = None,
        interface: str | None = None,
        name: str | None = None,
        nic_id: str | None = None,
    ) -> NetworkInterface:
        """Record an interface of a compute being created, without a job.

        The compute's creation job defines the guest with the NIC (its
        definition is built from the interfaces ``attaching`` and
        ``attached`` on up networks) and completes the interface
        (:func:`engine.network.handlers.complete_prepared_interfaces`).

        :param name: as for :meth:`attach_interface`.
        :param nic_id: as for :meth:`attach_interface` (an inline link's own id).
        :raises InvalidTransition: the compute is not ``creating``, or the
            network neither up nor being created.
        :raises Conflict: as for :meth:`attach_interface`.
        """
        compute = ComputeService(self.session).get(scope, compute.id)
        network = self._network(scope, network.id)
        nic = self._link(
            compute,
            network,
            ip_address,
            mac,
            interface,
            frozenset({State.CREATING}),
            PREPARE_NETWORK_STATES,
            name=name,
            nic_id=nic_id,
        )
        emit_interface(
            self.session,
            nic,
            "network_interface.created",
            previous_state=None,
            scope=scope,
            prepared=True,
        )
        return nic

    def join_default_network(self, scope: Scope, compute: Compute) -> NetworkInterface | None:
        """Give a compute being created, with no interface asked for, one on its
        owner's default network of its zone (:mod:`engine.network.defaults`),
        as CloudStack and OpenStack do, so that the guest has an address.

        :returns: the prepared interface, or None when the owner has no default
            network in the zone, or it takes no interfaces now (down, being deleted).
        :raises InvalidTransition: the compute is not ``creating``.
        """
        network = DefaultNetworks(self.session).of(compute.account_id, compute.zone_id)
        if network is None or lifecycle.State(network.state) not in PREPARE_NETWORK_STATES:
            return None
        return self.prepare_interface(scope, compute, network)

    def detach_interface(self, scope: Scope, nic_id: str) -> Job:
        """Queue the removal of an interface (``network_interface.detach``).

        :raises NotFound: no such interface visible to ``scope``.
        :raises InvalidTransition: a job runs on the interface, or its compute
            is not stopped, running or in error.
        """
        nic = self.get_interface(scope, nic_id)
        return request_detach(
            self.session,
            scope,
            nic,
            Kind.NETWORK_INTERFACE,
            emit_interface,
            ("detach", Kind.NETWORK_INTERFACE),
        )

    # -- internals -------------------------------------------------------------

    def _link(
        self,
        compute: Compute,
        network: Network,
        ip_address: str | None,
        mac: str | None,
        interface: str | None,
        compute_states: frozenset[State],
        network_states: frozenset[State],
        *,
        name: str | None = None,
        nic_id: str | None = None,
    ) -> NetworkInterface:
        if State(compute.state) not in compute_states:
            raise refuse(Kind.COMPUTE, compute.state, _ATTACH, compute_states, compute.id)
        if State(network.state) not in network_states:
            raise refuse(Kind.NETWORK, network.state, _ATTACH, network_states, network.id)
        if interface is not None:
            check_interface_name(interface)
        checks.check_text("name", name, 255)
        nic_id, chosen_id = choose_id(
            self.session, NetworkInterface, nic_id, account_id=compute.account_id
        )
        check_pair(compute, network, "network")
        # Pins first: they are this transaction's first writes (the SAVEPOINTs
        # of the IPAM must not be, on SQLite) and hold both rows in their states
        # against a concurrent delete.
        pin_pair(
            self.session,
            (compute, compute_states, _ATTACH),
            (network, network_states, _ATTACH),
        )
        nic = NetworkInterface(
            id=nic_id,
            chosen_id=chosen_id,
            state=lifecycle.initial(Kind.NETWORK_INTERFACE).value,
            account_id=compute.account_id,
            project_id=compute.project_id,
            domain_id=compute.domain_id,
            compute_id=compute.id,
            network_id=network.id,
            interface=interface or "",
            allocation="static" if ip_address is not None else network.allocation,
        )
        auto = None if interface is not None else (lambda: self._free_interface(compute.id))
        IPAM(self.session).assign(nic, network, ip_address=ip_address, mac=mac, auto_interface=auto)
        nic.name = name or nic.interface
        self.session.flush()
        return nic

    def _free_interface(self, compute_id: str) -> str:
        used = set(
            self.session.scalars(
                sa.select(NetworkInterface.interface).where(
                    NetworkInterface.compute_id == compute_id
                )
            )
        )
        index = 0
        while f"eth{index}" in used:
            index += 1
        return f"eth{index}"


__all__ = ["ATTACH_NETWORK_STATES", "PREPARE_NETWORK_STATES", "InterfaceService"]
