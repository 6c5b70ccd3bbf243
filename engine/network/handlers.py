"""Job handlers of networks and network interfaces: one per action, each idempotent.

How they run, fail and why they may run twice is as for
:mod:`engine.storage.handlers`. What they do on the hypervisor follows from
what a network is there (:mod:`engine.network.service`): a libvirt network
``concord-<network id>`` on each host where a guest has an interface on it.

* ``network.create`` has nothing to do on any host yet; it records the
  network ``running`` (up) or ``stopped`` (down);
* ``network.start``/``network.stop`` (OCCI ``up``/``down``) activate or
  deactivate the network on every up host of its zone that has it;
* ``network.delete`` removes it from every up host of its zone that has it
  and gives back the quota and the VNI;
* ``network_interface.attach`` makes sure the network exists on the guest's
  host (active if the network is up), then plugs the NIC into the guest;
  ``network_interface.detach`` unplugs it and deletes the row, which frees
  the address and the MAC.

Guests defined or started by compute jobs get their NICs from
:func:`engine.compute._guest.guest_spec`, which makes sure each NIC's
libvirt network exists and is active on the host first (a QEMU guest does
not start with a NIC on a missing network) and leaves out NICs on networks
that are not up. The ``compute.create`` handler finishes the interfaces
prepared with a new compute with :func:`complete_prepared_interfaces` (or
:func:`fail_prepared_interfaces`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import lifecycle
from engine.errors import Conflict, EngineError, NotFound
from engine.inventory.models import Cluster, Host, HostState, Pod
from engine.jobs.worker import HandlerRegistry, JobContext, JobHandler
from engine.lifecycle import Action, Kind, State
from engine.network.models import Network
from engine.network.service import QUOTA
from engine.network.state import emit_network, hypervisor_name
from engine.resources.state import MESSAGE_LENGTH, change_state
from engine.scope import Owner
from engine.tenancy.quotas import QuotaService


def load_network(ctx: JobContext) -> Network:
    """The job's network, freshly read.

    :raises NotFound: it no longer exists.
    """
    network = ctx.session.get(Network, ctx.job.target_id, populate_existing=True)
    if network is None:
        raise NotFound("the job's network no longer exists", subject=Kind.NETWORK.value)
    return network


def zone_hosts(session: Session, zone_id: str) -> list[Host]:
    """The up hosts of a zone: where a network's libvirt networks can be reached."""
    return list(
        session.scalars(
            sa.select(Host)
            .join(Cluster, Host.cluster_id == Cluster.id)
            .join(Pod, Cluster.pod_id == Pod.id)
            .where(Pod.zone_id == zone_id, Host.state == HostState.UP)
            .order_by(Host.created, Host.id)
        )
    )


class CreateNetworkHandler:
    """``network.create``: the network becomes ``running`` (up) or ``stopped`` (down)."""

    action = "network.create"

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Record the created network (its libvirt networks come with its guests)."""
        network = load_network(ctx)
        if network.state != State.CREATING:
            raise Conflict(
                f"the network is {network.state}, not being created",
                kind=Kind.NETWORK.value,
                state=network.state,
                expected=[State.CREATING.value],
            )
        started = bool(ctx.job.parameters.get("start", True))
        new = lifecycle.complete_creation(Kind.NETWORK, State.CREATING, started=started)
        change_state(ctx.session, network, State.CREATING, new)
        emit_network(
            ctx.session,
            network,
            "network.provisioned",
            previous_state="creating",
            job_id=ctx.job.id,
            started=started,
        )
        if started:
            emit_network(
                ctx.session,
                network,
                "network.started",
                previous_state="creating",
                job_id=ctx.job.id,
            )
        return {"state": new.value}

    def failed(self, ctx: JobContext, message: str) -> None:
        """The network goes to ``error``; its quota and VNI are given back."""
        network = ctx.session.get(Network, ctx.job.target_id, populate_existing=True)
        if network is None:
            return
        message = message[:MESSAGE_LENGTH]
        if network.state != State.CREATING:
            network.state_message = message
            ctx.session.flush()
            return
        values = _release(ctx.session, network)
        new = lifecycle.fail_creation(Kind.NETWORK, State.CREATING)
        change_state(ctx.session, network, State.CREATING, new, message=message, **values)
        emit_network(
            ctx.session,
            network,
            "network.create.failed",
            previous_state="creating",
            job_id=ctx.job.id,
            message=message,
        )


def _release(session: Session, network: Network) -> dict[str, Any]:
    # Once: quota_held says whether the network still counts.
    if network.quota_held:
        QuotaService(session).release(Owner.of(network), QUOTA)
    return {"quota_held": False, "vni": None}


class NetworkHandler:
    """``network.start``, ``network.stop`` and ``network.delete`` on every host having it.

    :param verb: the lifecycle action.
    :param event: the event recorded on success.
    """

    def __init__(self, verb: Action, event: str) -> None:
        self.verb = verb
        self.event = event
        self.action = f"network.{verb.value}"

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """(De)activate or remove the libvirt network on the zone's hosts, record the state."""
        network = load_network(ctx)
        current = State(network.state)
        target = lifecycle.complete(Kind.NETWORK, current, self.verb)
        name = hypervisor_name(network.id)
        touched = []
        for host in zone_hosts(ctx.session, network.zone_id):
            driver = ctx.drivers(host.uri)
            if self.verb is Action.DELETE:
                if driver.delete_network(name):
                    touched.append(host.id)
            elif name in driver.list_networks():
                driver.ensure_network(name, active=self.verb is Action.START)
                touched.append(host.id)
        deleting = self.verb is Action.DELETE
        # The VNI goes back to the zone with the deletion; the event keeps it.
        extra: dict[str, Any] = {"released_vni": network.vni} if deleting else {}
        values = _release(ctx.session, network) if deleting else {}
        change_state(ctx.session, network, current, target, **values)
        emit_network(
            ctx.session,
            network,
            self.event,
            previous_state=ctx.job.parameters.get("previous"),
            job_id=ctx.job.id,
            hosts=touched,
            **extra,
        )
        return {"state": target.value, "hosts": touched}

    def failed(self, ctx: JobContext, message: str) -> None:
        """Leave the network where the lifecycle puts a failed job, with ``message``."""
        network = ctx.session.get(Network, ctx.job.target_id, populate_existing=True)
        if network is None:
            return
        message = message[:MESSAGE_LENGTH]
        current = State(network.state)
        try:
            previous = State(ctx.job.parameters["previous"])
            new = lifecycle.fail(Kind.NETWORK, current, self.verb, previous)
        except (EngineError, KeyError, ValueError):
            network.state_message = message
            ctx.session.flush()
            return
        change_state(ctx.session, network, current, new, message=message)
        emit_network(
            ctx.session,
            network,
            f"network.{self.verb.value}.failed",
            previous_state=current.value,
            job_id=ctx.job.id,
            message=message,
        )


#: Every network handler, one per job action.
HANDLERS: tuple[JobHandler, ...] = (
    CreateNetworkHandler(),
    NetworkHandler(Action.START, "network.started"),
    NetworkHandler(Action.STOP, "network.stopped"),
    NetworkHandler(Action.DELETE, "network.deleted"),
)


def register(registry: HandlerRegistry) -> None:
    """Register every network handler not yet in ``registry`` (safe to call twice)."""
    registry.register_missing(HANDLERS)


__all__ = [
    "HANDLERS",
    "CreateNetworkHandler",
    "NetworkHandler",
    "load_network",
    "register",
    "zone_hosts",
]
