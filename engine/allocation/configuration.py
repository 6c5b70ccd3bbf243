"""Allocation settings: the allocator of a zone and an offering, a cluster's thresholds.

A zone names one allocator (``first_fit`` when it names none); a compute
offering may name another for its guests, which then wins (CloudStack lets
an operator choose ``vm.allocation.algorithm`` per zone; OpenStack's
scheduler hints let a flavor steer placement). Both are root administrators'
settings: the infrastructure is theirs. A name is checked when it is set,
against the built-in and installed allocators, so that a typo fails at once
and not at the next creation.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.allocation.allocators import DEFAULT_ALLOCATOR, check_allocator_name
from engine.catalog.models import ComputeOffering
from engine.errors import InvalidInput, NotFound
from engine.inventory.models import Cluster, Zone
from engine.scope import Scope

#: Why a caller who is not a root administrator is refused.
_ROOT_ONLY = "allocators are chosen by root administrators"


class AllocatorSettings:
    """Read and set the allocators of zones and compute offerings.

    :param session: the unit of work; the caller commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def zone_allocator(self, zone_id: str) -> str:
        """The allocator a zone's placements use when the offering names none."""
        zone = self.session.get(Zone, zone_id)
        if zone is None:
            raise NotFound(f"no zone {zone_id!r}", subject="zone", id=zone_id)
        return zone.allocator or DEFAULT_ALLOCATOR

    def set_zone_allocator(self, scope: Scope, zone_id: str, name: str | None) -> Zone:
        """Make ``name`` the zone's allocator (``None``: back to the default).

        :raises PermissionDenied: the caller is not a root administrator.
        :raises NotFound: no such zone.
        :raises InvalidInput: no allocator of that name is built in or installed.
        """
        scope.require_root_admin(_ROOT_ONLY)
        zone = self.session.get(Zone, zone_id)
        if zone is None:
            raise NotFound(f"no zone {zone_id!r}", subject="zone", id=zone_id)
        zone.allocator = None if name is None else check_allocator_name(name)
        self.session.flush()
        return zone

    def set_offering_allocator(
        self, scope: Scope, offering_id: str, name: str | None
    ) -> ComputeOffering:
        """Make ``name`` the allocator of the offering's guests (``None``: the zone's).

        :raises PermissionDenied: the caller is not a root administrator.
        :raises NotFound: no such compute offering.
        :raises InvalidInput: no allocator of that name is built in or installed.
        """
        scope.require_root_admin(_ROOT_ONLY)
        offering = self.session.get(ComputeOffering, offering_id)
        if offering is None:
            raise NotFound(
                f"no compute offering {offering_id!r}", subject="compute_offering", id=offering_id
            )
        offering.allocator = None if name is None else check_allocator_name(name)
        self.session.flush()
        return offering

    def set_cluster_thresholds(
        self,
        scope: Scope,
        cluster_id: str,
        *,
        cpu: float | None,
        memory: float | None,
        storage: float | None = None,
    ) -> Cluster:
        """Set the allocated shares above which a cluster takes no new guests or volumes.

        :param cpu: a share of the over-provisioned vCPUs, above 0 and at most
            1; ``None``: no CPU threshold.
        :param memory: the same for memory.
        :param storage: the same for each of its storage pools (new volumes).
        :raises PermissionDenied: the caller is not a root administrator.
        :raises NotFound: no such cluster.
        :raises InvalidInput: a share outside (0, 1].
        """
        scope.require_root_admin(_ROOT_ONLY)
        cluster = self.session.get(Cluster, cluster_id)
        if cluster is None:
            raise NotFound(f"no cluster {cluster_id!r}", subject="cluster", id=cluster_id)
        shares = (
            ("cpu_disable_threshold", cpu),
            ("memory_disable_threshold", memory),
            ("storage_disable_threshold", storage),
        )
        for name, share in shares:
            if share is not None and (
                isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1
            ):
                raise InvalidInput(
                    f"{name} is a share above 0 and at most 1", field=name, reason="share"
                )
        cluster.cpu_disable_threshold = None if cpu is None else float(cpu)
        cluster.memory_disable_threshold = None if memory is None else float(memory)
        cluster.storage_disable_threshold = None if storage is None else float(storage)
        self.session.flush()
        return cluster


__all__ = ["AllocatorSettings"]
