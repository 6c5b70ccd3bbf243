"""Networks (OCCI network, CIMI Network); the interfaces of computes on them are
:mod:`engine.compute.interfaces`.

What a network is:

* **in the engine**, a range of addresses (CIDR, gateway) with its address
  management (:mod:`engine.network.ipam`), an isolation segment (a VLAN id,
  ``occi.network.vlan``, GFD.224 §3.2; or a VXLAN segment id unique in its
  zone, allocated here for networks of ``vxlan`` offerings) and a state
  (``up``/``down``);
* **on a hypervisor host**, one libvirt network ``concord-<network id>``
  (:func:`~engine.network.state.hypervisor_name`), created on the
  host on demand, when a guest there gets an interface on the network
  (:mod:`engine.network.handlers`). It is an isolated bridge without host
  address or DHCP server (:mod:`engine.drivers.libvirt.network` says why),
  so guests of one network on one host share a layer-2 segment and nothing
  else, and tenants may reuse each other's CIDRs. A network that is
  ``down`` has its libvirt networks inactive: its guests have no link.
  Carrying a segment *between* hosts (VLAN trunk or VXLAN tunnel on the
  hosts' uplinks) is not done yet: ``vlan`` and ``vni`` are recorded for it.

Every mutation happens in the caller's transaction, with its event, quota
charge (``networks``) and job; the caller commits, then wakes workers with
:func:`engine.jobs.worker.notify`.

Choices where the specs leave room:

* creation needs no hypervisor work (the libvirt networks come with the
  guests), but is still a job, so that the network is ``creating`` first as
  DSP0263 §5.16 has it;
* a network with interfaces cannot be deleted (:class:`~engine.errors.Conflict`):
  deleting it would cut guests off silently;
* interfaces are added only to ``up`` networks.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import lifecycle
from engine.catalog import lookups
from engine.catalog.models import NetworkOffering
from engine.catalog.service import CatalogService
from engine.errors import Conflict, InvalidInput
from engine.jobs.models import Job
from engine.jobs.service import JobService
from engine.lifecycle import Action, Kind
from engine.network.ipam import IPAM
from engine.network.models import Network, NetworkInterface
from engine.network.state import (
    DEFAULT_CIDR,
    NETWORK_ACTIONS,
    check_allocation,
    check_range,
    check_vlan,
    emit_network,
)
from engine.resources import checks
from engine.resources.checks import UNSET, Unset
from engine.resources.emitters import ResourceEmitter
from engine.resources.ids import choose_id
from engine.resources.owned import OwnedResources
from engine.scope import Owner, Scope
from engine.tenancy.models import ResourceType
from engine.tenancy.quotas import QuotaService

#: What a network counts against its owner's limits.
QUOTA = {ResourceType.NETWORKS: 1}


class NetworkService(OwnedResources[Network]):
    """Networks as tenants and administrators see them.

    :meth:`list` comes from :class:`~engine.resources.owned.OwnedResources`.

    :param session: the unit of work; the caller commits (then calls
        :func:`engine.jobs.worker.notify`) or rolls back.
    """

    model = Network
    kind = Kind.NETWORK

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def emitter(self) -> ResourceEmitter[Network]:
        """:func:`~engine.network.state.emit_network`."""
        return emit_network

    # -- reading ---------------------------------------------------------------

    def get(self, scope: Scope, network_id: str, *, include_deleted: bool = False) -> Network:
        """A network visible to ``scope``.

        :raises NotFound: no such network, deleted, or another tenant's.
        """
        return self._find(scope, network_id, include_deleted)

    # -- creating --------------------------------------------------------------

    def create_network(
        self,
        scope: Scope,
        *,
        name: str,
        cidr: str | None = None,
        gateway: str | None = None,
        zone_id: str | None = None,
        offering_id: str | None = None,
        vlan: int | None = None,
        label: str | None = None,
        allocation: str = "dynamic",
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
        start: bool = True,
        network_id: str | None = None,
    ) -> tuple[Network, Job]:
        """Create a network: charge the ``networks`` quota, queue its ``network.create`` job.

        :param cidr: its range (``occi.network.address``); by default the
            offering's, else ``10.1.0.0/24``.
        :param gateway: by default the first address of the range.
        :param offering_id: a network offering: default range and isolation;
            a ``vxlan`` offering gives the network a VNI unique in its zone.
        :param vlan: an 802.1Q VLAN id, 0 to 4095 (VLAN-isolated networks only).
        :param label: ``occi.network.label``, e.g. ``external-dmz``.
        :param allocation: ``dynamic`` (addresses handed out) or ``static``
            (guests are configured with theirs); either way the engine picks them.
        :param start: whether the network is ``up`` once created.
        :param network_id: an id the client chose (OCCI PUT at a new path);
            by default a new UUID (see :func:`engine.resources.ids.choose_id`).
        :returns: the network and its creation job.
        :raises InvalidInput: a malformed or out-of-range value.
        :raises NotFound: the zone or offering is unknown or invisible.
        :raises QuotaExceeded: the owner's ``networks`` limit would be passed.
        :raises CapacityUnavailable: no VXLAN segment id is free in the zone.
        """
        owner = Owner.for_scope(scope)
        if owner.account_id is None:
            raise InvalidInput(
                "only an account can own a network; act as a user of one",
                subject=Kind.NETWORK.value,
                reason="owner",
            )
        checks.check_text("name", name, 255, required=True)
        checks.check_text("description", description, 1024)
        checks.check_text("label", label, 255)
        checks.check_properties(properties)
        if not isinstance(start, bool):
            raise InvalidInput("start is a boolean", field="start")
        allocation = check_allocation(allocation)
        vlan = check_vlan(vlan)
        zone = lookups.find_zone(self.session, scope, zone_id)
        offering = (
            CatalogService(self.session).get_entry(scope, NetworkOffering, offering_id)
            if offering_id
            else None
        )
        vxlan = offering is not None and offering.isolation == "vxlan"
        if vxlan and vlan is not None:
            raise InvalidInput(
                "a VXLAN network has a VNI, not a VLAN", field="vlan", reason="conflicting"
            )
        given = cidr if cidr is not None else (offering.default_cidr if offering else DEFAULT_CIDR)
        network_range, gateway_address = check_range(given, gateway)
        row_id, chosen_id = choose_id(
            self.session, Network, network_id, account_id=owner.account_id
        )
        network = Network(
            id=row_id,
            chosen_id=chosen_id,
            name=name,
            description=description,
            properties=dict(properties or {}),
            state=lifecycle.initial(Kind.NETWORK).value,
            account_id=owner.account_id,
            project_id=owner.project_id,
            domain_id=owner.domain_id,
            zone_id=zone.id,
            offering_id=offering.id if offering else None,
            cidr=str(network_range),
            gateway=str(gateway_address),
            allocation=allocation,
            vlan=vlan,
            label=label,
            quota_held=True,
        )
        self.session.add(network)
        # The INSERT is the transaction's first write: the SAVEPOINTs of the
        # quota charge and of the VNI must not be (on SQLite they would commit).
        self.session.flush()
        QuotaService(self.session).charge(owner, QUOTA)
        if vxlan:
            IPAM(self.session).assign_vni(network)
        job = JobService(self.session).submit(
            scope,
            "network.create",
            Kind.NETWORK.value,
            network.id,
            owner,
            {"start": start, "previous": None},
        )
        emit_network(
            self.session,
            network,
            "network.created",
            previous_state=None,
            scope=scope,
            job_id=job.id,
            start=start,
        )
        return network, job

    # -- changing --------------------------------------------------------------

    def update(
        self,
        scope: Scope,
        network_id: str,
        *,
        name: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        properties: Mapping[str, str] | Unset = UNSET,
        label: str | Unset | None = UNSET,
    ) -> Network:
        """Change the fields that do not depend on the network's state (only those given).

        :raises NotFound: no such network visible to ``scope``.
        """
        network = self.get(scope, network_id)
        changes = self._field_changes(name, description, properties, label=label)
        return self._change(scope, network, changes)

    def perform(self, scope: Scope, network_id: str, action: Action | str) -> Job:
        """Queue an action on a network: ``start``/``up``, ``stop``/``down`` or ``delete``.

        :raises InvalidInput: an unknown action.
        :raises InvalidTransition: the network's state forbids the action.
        :raises NotFound: no such network visible to ``scope``.
        """
        verb = NETWORK_ACTIONS.get(str(action))
        if verb is None:
            raise InvalidInput(
                f"'{action}' is not an action of a network", field="action", reason="unknown"
            )
        if verb is Action.DELETE:
            return self.delete(scope, network_id)
        network = self.get(scope, network_id)
        previous = self._begin(network, verb)
        return self._submit(scope, network, verb, previous)

    def delete(self, scope: Scope, network_id: str) -> Job:
        """Queue the deletion of a network (its libvirt networks, quota and VNI are given back).

        :raises Conflict: interfaces are still attached to it.
        :raises InvalidTransition: a job is running on it.
        :raises NotFound: no such network visible to ``scope``.
        """
        network = self.get(scope, network_id)
        # State first: a concurrent attachment pins the network 'running', so
        # it either committed before this update (and is counted) or fails.
        previous = self._begin(network, Action.DELETE)
        interfaces = self.session.scalar(
            sa.select(sa.func.count())
            .select_from(NetworkInterface)
            .where(NetworkInterface.network_id == network.id)
        )
        if interfaces:
            raise Conflict(
                f"the network still has {interfaces} interface(s); detach them first",
                interfaces=interfaces,
                subject=Kind.NETWORK.value,
                reason="in_use",
                other=Kind.NETWORK_INTERFACE.value,
            )
        return self._submit(scope, network, Action.DELETE, previous)


__all__ = ["QUOTA", "NetworkService"]
