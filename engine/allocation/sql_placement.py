"""Placement of guests in SQL: read the best hosts off an index, claim them in order.

The path :meth:`~engine.allocation.service.AllocationService.place_compute`
takes with the default filters and a built-in allocator: the queries of
:mod:`engine.allocation.sql` read the best host (then, if another placement
took it, the next ids eight at a time), and each is *claimed* with one
conditional ``UPDATE`` that adds the guest's size only if it still fits
(reference/engine.md §1.3), so concurrent placements never over-commit a
host, without a lock table. ``random`` draws instead of reading in order: a
number of the zone's hosts, whose holder is one index seek away
(:meth:`SqlPlacement._claim_at_random`). The service offers these methods;
they are kept here so that each module stays small.
"""

from __future__ import annotations

import functools
import logging
import random
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from engine.allocation.policy import ZonePolicy
from engine.allocation.requests import ComputeRequest
from engine.allocation.root_pools import root_pools
from engine.allocation.sql import candidate_tiers
from engine.inventory.capacity import pool_limit
from engine.inventory.models import Host, StoragePool

log = logging.getLogger(__name__)
#: Host ids read at a time once the best host's claim was lost (most placements claim it).
_BATCH = 8
_HOSTS: sa.Table = Host.__table__  # type: ignore[assignment]
#: The conditional claim: a guest's size added to a host only if it still fits.
_CLAIM = (
    sa.update(_HOSTS)
    .where(
        _HOSTS.c.id == sa.bindparam("claimed_id"),
        # The stored limits are host_limits' (engine/inventory/limits.py),
        # read by the UPDATE itself: a refresh or a factor changed
        # meanwhile is seen, never a stale limit.
        _HOSTS.c.allocated_vcpus + sa.bindparam("add_vcpus") <= _HOSTS.c.cpu_limit,
        _HOSTS.c.allocated_memory_mib + sa.bindparam("add_memory_mib") <= _HOSTS.c.memory_limit,
    )
    .values(
        allocated_vcpus=_HOSTS.c.allocated_vcpus + sa.bindparam("add_vcpus"),
        allocated_memory_mib=_HOSTS.c.allocated_memory_mib + sa.bindparam("add_memory_mib"),
    )
)
#: Draws of a random host of the zone before ``random`` counts the hosts that qualify.
_DRAWS = 4
#: The zone's hosts, as ``random`` draws one of them (not the candidate being filtered).
_DRAWN = aliased(Host)
#: What a claim changes on a host row (the free shares are computed from it).
_ALLOCATION_COLUMNS = [
    "allocated_vcpus",
    "allocated_memory_mib",
    "free_share",
    "negated_free_share",
]


def root_pool_refusal(pools: dict[str, StoragePool], host: Host, size: int) -> str | None:
    """Why a host's root disk pool cannot take a root disk of ``size`` bytes, or ``None``."""
    pool = pools.get(host.id)
    if pool is None:
        return "it has no pool for root disks"
    if pool.allocated_bytes + size > pool_limit(pool):
        return "its root disk pool has no room for the image"
    return None


class SqlPlacement:
    """Place guests with the filters and ordering in SQL; claim and release host capacity.

    :param session: the unit of work the placement commits with.
    :param rng: where ``random`` draws its host.
    """

    session: Session
    rng: random.Random

    def _place_in_sql(
        self, request: ComputeRequest, allocator: str, policy: ZonePolicy
    ) -> Host | None:
        """Place with the filters and ordering in SQL (:mod:`engine.allocation.sql`).

        The best few hosts are read at a time; a host whose claim fails (taken
        meanwhile) or whose root pool is full is left out of the next read.
        """
        tried: list[str] = []
        claim_first = self._claim_first
        if allocator == "random":
            # The zone's stored host count, read with its policy: exact in
            # this transaction's view (moved with the host rows it counts).
            claim_first = functools.partial(self._claim_at_random, zone_hosts=policy.zone_hosts)
        for query in candidate_tiers(request, policy, allocator):
            host = claim_first(request, allocator, query, tried)
            if host is not None:
                return host
        return None

    def _claim_first(
        self, request: ComputeRequest, allocator: str, query: sa.Select[Any], tried: list[str]
    ) -> Host | None:
        """Claim the first host of one tier that takes the guest, reading a batch at a time.

        The first read is the best host alone, whole: most placements claim
        it, and then need no read of it after the claim. Later reads (its
        claim was lost to another placement) are batches of ids (loading
        eight ORM hosts costs more than the query), unless a root disk's
        pools need the hosts.
        """
        first = True
        while True:
            batch = query.where(Host.id.not_in(tried)) if tried else query
            if first:
                batch, first = batch.limit(1), False
            elif request.root_disk_bytes:
                batch = batch.limit(_BATCH)
            else:
                batch = batch.with_only_columns(Host.id, maintain_column_froms=True).limit(_BATCH)
            rows = self._read(batch)
            if not rows:
                return None
            log.debug(
                "placing %s vCPU / %s MiB in zone %s with %s in SQL: trying %s",
                request.vcpus,
                request.memory_mib,
                request.zone_id,
                allocator,
                [row if isinstance(row, str) else row.id for row in rows],
            )
            hosts = [row for row in rows if isinstance(row, Host)]
            pools = root_pools(self.session, hosts) if request.root_disk_bytes else {}
            for row in rows:
                host = self._try(request, allocator, row, pools, tried)
                if host is not None:
                    return host

    def _claim_at_random(
        self,
        request: ComputeRequest,
        allocator: str,
        query: sa.Select[Any],
        tried: list[str],
        zone_hosts: int,
    ) -> Host | None:
        """Claim a uniformly random host of one tier, without sorting the tier.

        First by rejection: draw a number ``k`` below the zone's host count,
        read the host holding it (``zone_slot = k``: a seek of the unique
        ``(zone_id, zone_slot)`` index, not a walk) and keep it only if it
        passes the tier's filters. The inventory numbers a zone's hosts
        exactly ``0 .. host_count - 1`` at every commit
        (:mod:`engine.inventory.zone_slots`): one host per number, so each
        host of the zone is drawn with chance ``1 / host_count``, and a kept
        draw is uniform over the hosts that pass. After :data:`_DRAWS`
        rejections (a zone mostly full or filtered away), count the hosts
        that pass and read the one at a random offset. A lost claim leaves
        the host out and draws again.

        The zone's stored count cannot stand for that second count: it
        counts every host of the zone, and which pass depends on the
        request (its size, tags, group, the hosts already tried). Drawing
        on over the whole zone instead would stay uniform but take about
        ``zone / passing`` draws, without end when none passes; counting
        the hosts that pass is what bounds it, exactly uniform.

        :param zone_hosts: how many hosts the zone has, whatever their state.
            It must be exact: a count too high only costs rejections (a
            number no host holds), one too low would never draw the last
            hosts. The policy reads it in this transaction; on MariaDB's
            READ COMMITTED, a host added or removed by a commit between that
            read and a draw costs this one placement a rejection, or leaves
            the new host out of its draws.
        """
        for _ in range(_DRAWS if zone_hosts else 0):
            drawn = (
                sa.select(_DRAWN.id)
                .where(
                    _DRAWN.zone_id == request.zone_id,
                    _DRAWN.zone_slot == self.rng.randrange(zone_hosts),
                )
                .scalar_subquery()
            )
            remaining = query.where(Host.id.not_in(tried)) if tried else query
            row = next(iter(self._read(remaining.where(Host.id == drawn).order_by(None))), None)
            if row is not None:
                host = self._try_one(request, allocator, row, tried)
                if host is not None:
                    return host
        while True:
            remaining = query.where(Host.id.not_in(tried)) if tried else query
            count = self.session.connection().scalar(
                remaining.with_only_columns(sa.func.count(), maintain_column_froms=True).order_by(
                    None
                )
            )
            if not count:
                return None
            offset = self.rng.randrange(count)
            row = next(iter(self._read(remaining.offset(offset).limit(1))), None)
            if row is not None:  # None: hosts filled up between the two reads
                host = self._try_one(request, allocator, row, tried)
                if host is not None:
                    return host

    def _read(self, query: sa.Select[Any]) -> list[Any]:
        """The hosts or the host ids (:meth:`_place_in_sql` chose) a candidate query reads."""
        if query.column_descriptions[0]["type"] is Host:
            return list(self.session.scalars(query))
        # Ids only: through the Core connection of the session's transaction,
        # without the ORM's execution layer (the policy's read, through the
        # session, has flushed whatever the unit of work had pending).
        return list(self.session.connection().scalars(query))

    def _try_one(
        self, request: ComputeRequest, allocator: str, row: Host | str, tried: list[str]
    ) -> Host | None:
        log.debug(
            "placing %s vCPU / %s MiB in zone %s with %s in SQL: drew %s",
            request.vcpus,
            request.memory_mib,
            request.zone_id,
            allocator,
            row if isinstance(row, str) else row.id,
        )
        hosts = [row] if isinstance(row, Host) else []
        pools = root_pools(self.session, hosts) if request.root_disk_bytes else {}
        return self._try(request, allocator, row, pools, tried)

    def _try(
        self,
        request: ComputeRequest,
        allocator: str,
        row: Host | str,
        pools: dict[str, StoragePool],
        tried: list[str],
    ) -> Host | None:
        """Claim one candidate (a host, or its id) unless its root pool is full."""
        host_id = row if isinstance(row, str) else row.id
        tried.append(host_id)
        if (
            request.root_disk_bytes
            and isinstance(row, Host)
            and root_pool_refusal(pools, row, request.root_disk_bytes)
        ):
            return None
        if not self._claim(host_id, request.vcpus, request.memory_mib):
            return None
        # Claimed by id just now: the row exists.
        host = self.session.get_one(Host, host_id)
        self.session.expire(host, _ALLOCATION_COLUMNS)
        log.info(
            "placed %s vCPU / %s MiB on host %s (%s, in SQL)",
            request.vcpus,
            request.memory_mib,
            host.name,
            allocator,
        )
        return host

    def claim_host(self, host: Host, vcpus: int, memory_mib: int) -> bool:
        """Atomically add a guest's size to a host's allocation if it still fits."""
        if self._claim(host.id, vcpus, memory_mib):
            # Read again when next used, not now: most callers need only the host's id.
            self.session.expire(host, _ALLOCATION_COLUMNS)
            return True
        return False

    def _claim(self, host_id: str, vcpus: int, memory_mib: int) -> bool:
        # The Core statement, built once, on the session's connection: the
        # ORM's bulk-update layer would only skip synchronising the session.
        result = self.session.connection().execute(
            _CLAIM, {"claimed_id": host_id, "add_vcpus": vcpus, "add_memory_mib": memory_mib}
        )
        return bool(result.rowcount)

    def release_host(self, host_id: str, vcpus: int, memory_mib: int) -> None:
        """Give a guest's capacity back to its host (never below zero)."""
        self.session.execute(
            sa.update(Host)
            .where(Host.id == host_id)
            .values(
                allocated_vcpus=sa.case(
                    (Host.allocated_vcpus > vcpus, Host.allocated_vcpus - vcpus), else_=0
                ),
                allocated_memory_mib=sa.case(
                    (
                        Host.allocated_memory_mib > memory_mib,
                        Host.allocated_memory_mib - memory_mib,
                    ),
                    else_=0,
                ),
            )
            .execution_options(synchronize_session=False)
        )


__all__ = ["SqlPlacement", "root_pool_refusal"]
