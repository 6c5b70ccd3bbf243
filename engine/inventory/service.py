"""Inventory administration: zones, pods, clusters, hosts, storage pools, image stores.

The physical cloud is the operator's business: creating, changing and even
reading pods, clusters, hosts and pools is reserved to root administrators
(tenants never learn where their guests run). Zones are the one exception:
every caller may read the enabled ones, because a client chooses where to
create a resource (CloudStack's ``listZones`` is open to users too).

The host methods (:meth:`~InventoryService.add_host`,
:meth:`~InventoryService.host_capacities`, ...) are inherited from
:class:`engine.inventory.hosts.HostAdministration`.
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.inventory.dedicated import zone_open, zone_open_parameters
from engine.inventory.hosts import (
    ROOT_ONLY,
    DriverFactory,
    HostAdministration,
    HostCapacity,
    Progress,
)
from engine.inventory.models import AllocationState, Cluster, ImageStore, Pod, Zone
from engine.inventory.pools import PoolAdministration
from engine.naming import check_name
from engine.prepared import prepared
from engine.scope import Scope


def _factor(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a number", field=name, reason="number")
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(
            f"{name} must be greater than 0", field=name, value=value, reason="positive"
        )
    return float(value)


def _zones(seen: bool, by: str) -> sa.Select[Zone]:
    """The zone query of one shape, built once (:func:`engine.prepared.prepared`).

    :param seen: only the zones a caller that is not a root administrator
        sees: the enabled ones no dedication keeps from it
        (:func:`engine.inventory.dedicated.zone_open`).
    :param by: ``all`` (by creation), ``first`` (the first enabled one),
        ``id`` or ``name`` (bound as ``zone_id``, ``zone_name``).
    """

    def build() -> sa.Select[Zone]:
        query = sa.select(Zone)
        if seen:
            query = query.where(
                Zone.allocation_state == AllocationState.ENABLED, zone_open(Zone.id)
            )
        if by == "id":
            return query.where(Zone.id == sa.bindparam("zone_id"))
        if by == "name":
            return query.where(Zone.name == sa.bindparam("zone_name"))
        query = query.order_by(Zone.created, Zone.id)
        if by == "first":
            return query.where(Zone.allocation_state == AllocationState.ENABLED).limit(1)
        return query

    return prepared(("zones", seen, by), build)


def _seen(scope: Scope | None) -> tuple[bool, dict[str, object]]:
    """Whether ``scope`` sees only some zones, and the parameters that say which."""
    if scope is None or scope.is_root_admin:
        return False, {}
    return True, zone_open_parameters(scope)


def first_enabled_zone(session: Session, scope: Scope | None = None) -> Zone | None:
    """The zone resources go to when a client names none: the first enabled one.

    :param scope: the caller, if any: then the first enabled zone it sees
        (:func:`seen_zone`), so a tenant's default is never another's dedicated zone.
    """
    seen, parameters = _seen(scope)
    return session.scalar(_zones(seen, "first"), parameters)


def seen_zone(
    session: Session, scope: Scope, *, zone_id: str | None = None, name: str | None = None
) -> Zone | None:
    """The zone of that id (or name) if ``scope`` sees it, in one statement.

    Root administrators see every zone; anyone else the enabled zones that are
    not dedicated to another owner (:func:`engine.inventory.dedicated.zone_open`).
    A zone a caller does not see is, to that caller, a zone that does not exist.
    """
    seen, parameters = _seen(scope)
    if zone_id is not None:
        return session.scalar(_zones(seen, "id"), {**parameters, "zone_id": zone_id})
    return session.scalar(_zones(seen, "name"), {**parameters, "zone_name": name})


def seen_zones(session: Session, scope: Scope) -> list[Zone]:
    """The zones ``scope`` sees (:func:`seen_zone`), by creation time."""
    seen, parameters = _seen(scope)
    return list(session.scalars(_zones(seen, "all"), parameters))


class InventoryService(HostAdministration, PoolAdministration):
    """Administer the physical cloud: zones, pods, clusters, hosts and image stores.

    :param session: the unit of work; the caller commits.
    :param drivers: opens a host's driver from its URI (see
        :class:`~engine.inventory.hosts.HostAdministration`).
    """

    # -- zones ---------------------------------------------------------------

    def create_zone(self, scope: Scope, name: str, description: str | None = None) -> Zone:
        """Create a zone, enabled.

        :raises PermissionDenied: the caller is not a root administrator.
        :raises AlreadyExists: a zone has that name.
        """
        scope.require_root_admin(ROOT_ONLY)
        check_name("zone", name)
        if description is not None and len(description) > 1024:
            raise InvalidInput("a description has at most 1024 characters", field="description")
        if self.session.scalar(sa.select(Zone.id).where(Zone.name == name)):
            raise AlreadyExists(f"zone {name!r} already exists", subject="zone", name=name)
        zone = Zone(name=name, description=description)
        self.session.add(zone)
        self.session.flush()
        return zone

    def list_zones(self, scope: Scope) -> list[Zone]:
        """The zones ``scope`` sees (:func:`seen_zone`), by creation time."""
        return seen_zones(self.session, scope)

    def get_zone(self, scope: Scope, zone_id: str) -> Zone:
        """Return a zone the caller sees (:func:`seen_zone`).

        :raises NotFound: no such zone for this caller.
        """
        zone = seen_zone(self.session, scope, zone_id=zone_id)
        if zone is None:
            raise NotFound(f"no zone {zone_id!r}", subject="zone", id=zone_id)
        return zone

    def find_zone(self, scope: Scope, name: str) -> Zone:
        """Return a zone by name (see :meth:`get_zone` for visibility)."""
        zone = seen_zone(self.session, scope, name=name)
        if zone is None:
            raise NotFound(f"no zone {name!r}", subject="zone", name=name)
        return zone

    def default_zone(self, scope: Scope) -> Zone:
        """The zone resources go to when a client names none: the first enabled one.

        :raises NotFound: no zone is enabled.
        """
        zone = first_enabled_zone(self.session, scope)
        if zone is None:
            raise NotFound("no zone is available", subject="zone")
        return zone

    def set_zone_allocation(self, scope: Scope, zone_id: str, state: AllocationState) -> Zone:
        """Enable or disable new placements in a zone (existing resources stay)."""
        scope.require_root_admin(ROOT_ONLY)
        zone = self.get_zone(scope, zone_id)
        zone.allocation_state = AllocationState(state)
        self.session.flush()
        return zone

    # -- pods and clusters -----------------------------------------------------

    def create_pod(self, scope: Scope, zone_id: str, name: str) -> Pod:
        """Create a pod in a zone.

        :raises AlreadyExists: the zone has a pod of that name.
        """
        scope.require_root_admin(ROOT_ONLY)
        check_name("pod", name)
        zone = self.get_zone(scope, zone_id)
        if self.session.scalar(sa.select(Pod.id).where(Pod.zone_id == zone.id, Pod.name == name)):
            raise AlreadyExists(
                f"pod {name!r} already exists in zone {zone.name!r}", subject="pod", name=name
            )
        pod = Pod(zone_id=zone.id, name=name)
        self.session.add(pod)
        self.session.flush()
        return pod

    def list_pods(self, scope: Scope, zone_id: str | None = None) -> list[Pod]:
        """Pods, optionally of one zone, by creation time."""
        scope.require_root_admin(ROOT_ONLY)
        query = sa.select(Pod).order_by(Pod.created, Pod.id)
        if zone_id is not None:
            query = query.where(Pod.zone_id == zone_id)
        return list(self.session.scalars(query))

    def get_pod(self, scope: Scope, pod_id: str) -> Pod:
        """Return a pod by id."""
        scope.require_root_admin(ROOT_ONLY)
        pod = self.session.get(Pod, pod_id)
        if pod is None:
            raise NotFound(f"no pod {pod_id!r}", subject="pod", id=pod_id)
        return pod

    def find_pod(self, scope: Scope, zone_id: str, name: str) -> Pod:
        """Return the pod called ``name`` in a zone."""
        scope.require_root_admin(ROOT_ONLY)
        pod = self.session.scalar(sa.select(Pod).where(Pod.zone_id == zone_id, Pod.name == name))
        if pod is None:
            raise NotFound(f"no pod {name!r} in that zone", subject="pod", name=name)
        return pod

    def set_pod_allocation(self, scope: Scope, pod_id: str, state: AllocationState) -> Pod:
        """Enable or disable new placements in a pod."""
        pod = self.get_pod(scope, pod_id)
        pod.allocation_state = AllocationState(state)
        self.session.flush()
        return pod

    def create_cluster(
        self,
        scope: Scope,
        pod_id: str,
        name: str,
        *,
        hypervisor_type: str | None = None,
        cpu_overprovisioning: float = 1.0,
        memory_overprovisioning: float = 1.0,
        storage_overprovisioning: float = 2.0,
    ) -> Cluster:
        """Create a cluster in a pod.

        :param hypervisor_type: the hypervisor its hosts must run; by default
            the first host added decides.
        :param cpu_overprovisioning: vCPUs that may run per core (> 0).
        :param memory_overprovisioning: MiB that may be promised per MiB (> 0).
        :param storage_overprovisioning: bytes that may be promised per pool byte (> 0).
        :raises InvalidInput: a factor is not a positive number.
        :raises AlreadyExists: the pod has a cluster of that name.
        """
        scope.require_root_admin(ROOT_ONLY)
        check_name("cluster", name)
        factors = {
            "cpu_overprovisioning": _factor("cpu_overprovisioning", cpu_overprovisioning),
            "memory_overprovisioning": _factor("memory_overprovisioning", memory_overprovisioning),
            "storage_overprovisioning": _factor(
                "storage_overprovisioning", storage_overprovisioning
            ),
        }
        if hypervisor_type is not None:
            check_name("hypervisor type", hypervisor_type)
        pod = self.get_pod(scope, pod_id)
        if self.session.scalar(
            sa.select(Cluster.id).where(Cluster.pod_id == pod.id, Cluster.name == name)
        ):
            raise AlreadyExists(
                f"cluster {name!r} already exists in pod {pod.name!r}", subject="cluster", name=name
            )
        cluster = Cluster(
            pod_id=pod.id,
            name=name,
            hypervisor_type=hypervisor_type or "",
            **factors,
        )
        self.session.add(cluster)
        self.session.flush()
        return cluster

    def list_clusters(
        self, scope: Scope, pod_id: str | None = None, zone_id: str | None = None
    ) -> list[Cluster]:
        """Clusters, optionally of one pod or zone, by creation time."""
        scope.require_root_admin(ROOT_ONLY)
        query = sa.select(Cluster).join(Pod).order_by(Cluster.created, Cluster.id)
        if pod_id is not None:
            query = query.where(Cluster.pod_id == pod_id)
        if zone_id is not None:
            query = query.where(Pod.zone_id == zone_id)
        return list(self.session.scalars(query))

    def get_cluster(self, scope: Scope, cluster_id: str) -> Cluster:
        """Return a cluster by id."""
        scope.require_root_admin(ROOT_ONLY)
        cluster = self.session.get(Cluster, cluster_id)
        if cluster is None:
            raise NotFound(f"no cluster {cluster_id!r}", subject="cluster", id=cluster_id)
        return cluster

    def find_cluster(
        self, scope: Scope, name: str, pod_id: str | None = None, zone_id: str | None = None
    ) -> Cluster:
        """Return the cluster called ``name``, narrowed to a pod or zone if given.

        :raises NotFound: no such cluster.
        :raises InvalidInput: several pods have a cluster of that name.
        """
        matches = [c for c in self.list_clusters(scope, pod_id, zone_id) if c.name == name]
        if not matches:
            raise NotFound(f"no cluster {name!r}", subject="cluster", name=name)
        if len(matches) > 1:
            raise InvalidInput(
                f"several pods have a cluster {name!r}: name the pod or zone",
                subject="cluster",
                name=name,
                reason="ambiguous",
            )
        return matches[0]

    def set_cluster_allocation(
        self, scope: Scope, cluster_id: str, state: AllocationState
    ) -> Cluster:
        """Enable or disable new placements in a cluster."""
        cluster = self.get_cluster(scope, cluster_id)
        cluster.allocation_state = AllocationState(state)
        self.session.flush()
        return cluster

    # -- image stores ----------------------------------------------------------

    def create_image_store(
        self, scope: Scope, zone_id: str, name: str, location: str
    ) -> ImageStore:
        """Register a zone's image store (secondary storage).

        :param location: an absolute directory, or ``pool:<libvirt pool>``.
        :raises InvalidInput: the location is neither.
        :raises AlreadyExists: an image store has that name.
        """
        scope.require_root_admin(ROOT_ONLY)
        check_name("image store", name)
        zone = self.get_zone(scope, zone_id)
        valid = location.startswith("/") or (
            location.startswith("pool:") and len(location) > len("pool:")
        )
        if not valid or len(location) > 1024 or "\x00" in location:
            raise InvalidInput(
                "an image store location is an absolute path or 'pool:<name>'",
                field="location",
                reason="format",
            )
        if self.session.scalar(sa.select(ImageStore.id).where(ImageStore.name == name)):
            raise AlreadyExists(
                f"image store {name!r} already exists", subject="image_store", name=name
            )
        store = ImageStore(zone_id=zone.id, name=name, location=location)
        self.session.add(store)
        self.session.flush()
        return store

    def list_image_stores(self, scope: Scope, zone_id: str | None = None) -> list[ImageStore]:
        """Image stores, optionally of one zone."""
        scope.require_root_admin(ROOT_ONLY)
        query = sa.select(ImageStore).order_by(ImageStore.created, ImageStore.id)
        if zone_id is not None:
            query = query.where(ImageStore.zone_id == zone_id)
        return list(self.session.scalars(query))


__all__ = ["DriverFactory", "HostCapacity", "InventoryService", "Progress"]
