"""Job handlers of network interfaces (``network_interface.attach`` and ``.detach``).

Part of :mod:`engine.network.handlers` (which registers them and explains
what they do on the hypervisor). Also the functions the ``compute.create``
handler calls for interfaces prepared with its compute
(:func:`complete_prepared_interfaces`, :func:`fail_prepared_interfaces`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import lifecycle
from engine.compute._link_handlers import (
    complete_links,
    delete_link,
    fail_detach,
    fail_link,
    fail_links,
    prepared_links,
)
from engine.compute.link_events import emit_interface
from engine.compute.models import Compute
from engine.drivers.base import HypervisorDriver
from engine.drivers.specs import NicSpec, PowerState
from engine.errors import Conflict, NotFound
from engine.inventory.models import Host, HostState
from engine.jobs.worker import JobContext
from engine.lifecycle import Action, Kind, State
from engine.network.models import Network, NetworkInterface
from engine.network.state import hypervisor_name
from engine.resources.state import change_state


def _load_nic(ctx: JobContext, expected: State) -> NetworkInterface:
    nic = ctx.session.get(NetworkInterface, ctx.job.target_id, populate_existing=True)
    if nic is None:
        raise NotFound(
            "the job's network interface no longer exists",
            subject=Kind.NETWORK_INTERFACE.value,
        )
    if nic.state != expected:
        raise Conflict(
            f"the interface is {nic.state}, not {expected.value}",
            kind=Kind.NETWORK_INTERFACE.value,
            state=nic.state,
            expected=[expected.value],
        )
    return nic


def _guest_driver(ctx: JobContext, compute: Compute) -> HypervisorDriver | None:
    host = ctx.session.get(Host, compute.host_id) if compute.host_id else None
    if host is None or host.state is HostState.DOWN:
        return None  # the next definition of the guest, elsewhere, will have the NIC
    return ctx.drivers(host.uri)


class AttachInterfaceHandler:
    """``network_interface.attach``: the network on the guest's host, the NIC in the guest."""

    action = "network_interface.attach"

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Ensure the libvirt network, plug the NIC (live when the guest runs), record it."""
        nic = _load_nic(ctx, State.ATTACHING)
        compute = ctx.session.get(Compute, nic.compute_id)
        network = ctx.session.get(Network, nic.network_id)
        if compute is None or network is None:
            raise NotFound(
                "the interface's compute or network no longer exists",
                subject=Kind.NETWORK_INTERFACE.value,
                reason="not_found",
            )
        if compute.state in (State.DELETING, State.DELETED):
            raise Conflict(
                "the compute is being deleted", subject=Kind.COMPUTE.value, reason="gone"
            )
        driver = _guest_driver(ctx, compute)
        name = hypervisor_name(network.id)
        if driver is not None:
            # As guest_spec has it: only an up network has an active libvirt network.
            driver.ensure_network(name, active=network.state == State.RUNNING)
            # A guest missing from its host gets the NIC when it is next defined.
            if driver.guest_state(compute.guest_id) is not PowerState.ABSENT and nic.mac not in {
                n.mac for n in driver.guest_nics(compute.guest_id)
            }:
                driver.attach_nic(compute.guest_id, NicSpec(nic.mac, network_name=name))
        new = lifecycle.complete_creation(Kind.NETWORK_INTERFACE, State.ATTACHING, started=True)
        change_state(ctx.session, nic, State.ATTACHING, new)
        emit_interface(
            ctx.session,
            nic,
            "network_interface.attached",
            previous_state="attaching",
            job_id=ctx.job.id,
        )
        return {"state": new.value, "mac": nic.mac, "ip_address": nic.ip_address}

    def failed(self, ctx: JobContext, message: str) -> None:
        """The interface goes to ``error`` (keeping its address); detaching it cleans up."""
        nic = ctx.session.get(NetworkInterface, ctx.job.target_id, populate_existing=True)
        if nic is not None:
            _fail_nic(ctx.session, nic, message, ctx.job.id)


class DetachInterfaceHandler:
    """``network_interface.detach``: unplug the NIC, delete the row (address and MAC freed)."""

    action = "network_interface.detach"

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Unplug the NIC from the guest if it has it, then delete the interface."""
        nic = _load_nic(ctx, State.DETACHING)
        lifecycle.complete(Kind.NETWORK_INTERFACE, State.DETACHING, Action.DELETE)
        compute = ctx.session.get(Compute, nic.compute_id)
        driver = _guest_driver(ctx, compute) if compute is not None else None
        unplugged = False
        if (
            driver is not None
            and compute is not None
            and driver.guest_state(compute.guest_id) is not PowerState.ABSENT
        ):
            unplugged = driver.detach_nic(compute.guest_id, nic.mac)
        delete_link(ctx, nic, Kind.NETWORK_INTERFACE, emit_interface)
        return {"state": State.DELETED.value, "unplugged": unplugged}

    def failed(self, ctx: JobContext, message: str) -> None:
        """The interface goes to ``error`` (unplugging may have half happened)."""
        fail_detach(ctx, NetworkInterface, Kind.NETWORK_INTERFACE, emit_interface, message)


def _fail_nic(session: Session, nic: NetworkInterface, message: str, job_id: str | None) -> None:
    fail_link(session, nic, Kind.NETWORK_INTERFACE, emit_interface, message, job_id)


def _prepared(session: Session, compute: Compute) -> list[NetworkInterface]:
    return prepared_links(session, compute, NetworkInterface, NetworkInterface.interface)


def complete_prepared_interfaces(
    session: Session, compute: Compute, job_id: str | None = None
) -> int:
    """Mark a new compute's prepared interfaces ``attached``; return how many.

    For the ``compute.create`` handler, in its transaction, once the guest
    is defined with their NICs.
    """
    nics = _prepared(session, compute)
    return complete_links(session, nics, Kind.NETWORK_INTERFACE, emit_interface, job_id)


def fail_prepared_interfaces(
    session: Session, compute: Compute, message: str, job_id: str | None = None
) -> int:
    """Mark a new compute's prepared interfaces ``error`` (its creation failed)."""
    nics = _prepared(session, compute)
    return fail_links(session, nics, Kind.NETWORK_INTERFACE, emit_interface, message, job_id)


__all__ = [
    "AttachInterfaceHandler",
    "DetachInterfaceHandler",
    "complete_prepared_interfaces",
    "fail_prepared_interfaces",
]
