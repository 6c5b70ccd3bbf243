"""A zone's placement policy: cluster thresholds and dedicated infrastructure.

Unlike the per-host filters of :mod:`engine.allocation.requests`, these rules
need facts of the whole zone (a cluster's allocated share, what is dedicated
to whom), so they are read once per placement, with the zone's allocator, in
one statement into a :class:`ZonePolicy`, which then judges each candidate.

* **Disable thresholds** (CloudStack's ``cluster.cpu.allocated.capacity
  .disablethreshold`` and its memory twin): a cluster whose allocated share of
  over-provisioned CPU or memory is above its threshold takes no new guests;
  the guests it has keep running.
* **Dedication** (:mod:`engine.allocation.models`): a host is open to an
  owner only if every dedication on its chain (host, cluster, pod, zone)
  names that owner's account, or a domain at or above the owner's domain;
  among open hosts, those dedicated to the owner come first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.allocation.requests import ComputeRequest
from engine.inventory.dedicated import DedicatedLevel, Dedication
from engine.inventory.models import Cluster, Host, Pod, Zone
from engine.tenancy.models import Domain


@dataclass(frozen=True)
class Holder:
    """Whom a dedication serves: an account, or a domain's subtree (by path)."""

    account_id: str | None
    domain_path: str | None

    def serves(self, account_id: str | None, domain_path: str | None) -> bool:
        """Whether an owner with this account and domain path may use the target."""
        if self.account_id is not None:
            return account_id == self.account_id
        return (
            domain_path is not None
            and self.domain_path is not None
            and domain_path.startswith(self.domain_path)
        )


@dataclass
class ZonePolicy:
    """What a zone's thresholds and dedications say about each of its hosts.

    :param over_threshold: clusters above a disable threshold, with the reason.
    :param dedications: who each dedicated target serves, by (level, id).
    :param account_id: the owner's account.
    :param domain_path: the owner's domain path.
    :param zone_allocator: the allocator the zone names, if any.
    :param zone_hosts: how many hosts the zone has, whatever their state (its
        stored count, :mod:`engine.inventory.host_counts`); 0 for no zone.
    """

    zone_id: str
    over_threshold: Mapping[str, str] = field(default_factory=dict)
    dedications: Mapping[tuple[DedicatedLevel, str], Holder] = field(default_factory=dict)
    account_id: str | None = None
    domain_path: str | None = None
    zone_allocator: str | None = None
    zone_hosts: int = 0

    @classmethod
    def load(cls, session: Session, request: ComputeRequest) -> ZonePolicy:
        """Read the zone's allocator, host count, thresholds and dedications in one statement.

        Every placement pays for this read, so it is one ``UNION ALL`` of
        small indexed reads (:data:`_POLICY`): the zone's row (with its
        stored host count, the range ``random`` draws in), the owner's
        domain path, the dedications of targets in the zone only, and the
        allocated and limit sums of the clusters that have a threshold.
        """
        zone_allocator = domain_path = None
        zone_hosts = 0
        dedications: dict[tuple[DedicatedLevel, str], Holder] = {}
        sums: list[tuple[str, list[int], float | None, float | None]] = []
        rows = session.execute(
            _POLICY, {"zone_id": request.zone_id, "domain_id": request.domain_id}
        )
        for kind, first, second, account_id, path, *numbers in rows:
            if kind == _ZONE:
                zone_allocator = first
                zone_hosts = int(numbers[0] or 0)
            elif kind == _OWNER_DOMAIN:
                domain_path = first
            elif kind == _DEDICATION:
                dedications[(DedicatedLevel(first), second)] = Holder(account_id, path)
            else:
                # SUM is NULL for a cluster without hosts, a Decimal on MariaDB.
                totals = [int(n or 0) for n in numbers[:4]]
                cpu, memory = (None if t is None else float(t) for t in numbers[4:])
                sums.append((first, totals, cpu, memory))
        return cls(
            zone_id=request.zone_id,
            over_threshold=_clusters_over_threshold(sums),
            dedications=dedications,
            account_id=request.account_id,
            domain_path=domain_path,
            zone_allocator=zone_allocator,
            zone_hosts=zone_hosts,
        )

    def _chain(self, host: Host) -> list[tuple[DedicatedLevel, str]]:
        return [
            (DedicatedLevel.HOST, host.id),
            (DedicatedLevel.CLUSTER, host.cluster_id),
            (DedicatedLevel.POD, host.cluster.pod_id),
            (DedicatedLevel.ZONE, self.zone_id),
        ]

    def refusal(self, host: Host) -> str | None:
        """Why the policy keeps the guest off ``host``, or ``None`` if it may go there."""
        reason = self.over_threshold.get(host.cluster_id)
        if reason is not None:
            return reason
        for level, target in self._chain(host):
            holder = self.dedications.get((level, target))
            if holder is not None and not holder.serves(self.account_id, self.domain_path):
                return f"its {level.value} is dedicated to another owner"
        return None

    def dedicated_to_owner(self, host: Host) -> bool:
        """Whether something on the host's chain is dedicated to the owner (preferred)."""
        return any(
            (holder := self.dedications.get(key)) is not None
            and holder.serves(self.account_id, self.domain_path)
            for key in self._chain(host)
        )


_ZONE, _OWNER_DOMAIN, _DEDICATION, _THRESHOLD = "zone", "domain", "dedication", "threshold"


def _policy_statement() -> sa.CompoundSelect[Any]:
    """The statement :meth:`ZonePolicy.load` runs, built once (``:zone_id``, ``:domain_id``).

    Each part yields rows of the same shape: a kind, four strings, four sums
    and two thresholds, NULL where the kind has none.
    """
    zone_id = sa.bindparam("zone_id", type_=sa.String)
    domain_id = sa.bindparam("domain_id", type_=sa.String)
    no_text = sa.cast(sa.null(), sa.String)
    no_sums = [sa.cast(sa.null(), sa.Integer)] * 4
    no_shares = [sa.cast(sa.null(), sa.Float)] * 2
    # The zone's host count, the range ``random`` draws in, is stored on its
    # row (engine/inventory/host_counts.py): read with it, never counted.
    zone = sa.select(
        sa.literal(_ZONE),
        Zone.allocator,
        no_text,
        no_text,
        no_text,
        Zone.host_count,
        *no_sums[1:],
        *no_shares,
    ).where(Zone.id == zone_id)
    owner_domain = sa.select(
        sa.literal(_OWNER_DOMAIN), Domain.path, no_text, no_text, no_text, *no_sums, *no_shares
    ).where(Domain.id == domain_id)
    # Only dedications whose target is in the zone can refuse or prefer one
    # of its hosts: each level's target is looked up by its primary key.
    target = Dedication.target_id
    in_zone = sa.or_(
        sa.and_(Dedication.level == DedicatedLevel.ZONE, target == zone_id),
        sa.and_(
            Dedication.level == DedicatedLevel.POD,
            sa.exists().where(Pod.id == target, Pod.zone_id == zone_id),
        ),
        sa.and_(
            Dedication.level == DedicatedLevel.CLUSTER,
            sa.exists().where(
                Cluster.id == target, Cluster.pod_id == Pod.id, Pod.zone_id == zone_id
            ),
        ),
        sa.and_(
            Dedication.level == DedicatedLevel.HOST,
            sa.exists().where(Host.id == target, Host.zone_id == zone_id),
        ),
    )
    dedications = (
        sa.select(
            sa.literal(_DEDICATION),
            sa.cast(Dedication.level, sa.String),
            target,
            Dedication.account_id,
            Domain.path,
            *no_sums,
            *no_shares,
        )
        .outerjoin(Domain, Dedication.domain_id == Domain.id)
        .where(in_zone)
    )
    # The stored limits are host_limits' (engine/inventory/limits.py): the
    # sums are the cluster's over-provisioned totals without loading a host.
    thresholds = (
        sa.select(
            sa.literal(_THRESHOLD),
            Cluster.id,
            no_text,
            no_text,
            no_text,
            sa.func.sum(Host.allocated_vcpus),
            sa.func.sum(Host.cpu_limit),
            sa.func.sum(Host.allocated_memory_mib),
            sa.func.sum(Host.memory_limit),
            # One value per cluster: MAX only lets the group be the key alone.
            sa.func.max(Cluster.cpu_disable_threshold),
            sa.func.max(Cluster.memory_disable_threshold),
        )
        .join(Pod, Cluster.pod_id == Pod.id)
        .outerjoin(Host, Host.cluster_id == Cluster.id)
        .where(
            Pod.zone_id == zone_id,
            sa.or_(
                Cluster.cpu_disable_threshold.is_not(None),
                Cluster.memory_disable_threshold.is_not(None),
            ),
        )
        .group_by(Cluster.id)
    )
    return sa.union_all(zone, owner_domain, dedications, thresholds)


_POLICY = _policy_statement()


def _clusters_over_threshold(
    sums: list[tuple[str, list[int], float | None, float | None]],
) -> dict[str, str]:
    """The clusters above a disable threshold, with the reason, from their sums."""
    over = {}
    for cluster_id, (cpu, cpu_limit, memory, memory_limit), cpu_threshold, memory_threshold in sums:
        cpu_share = cpu / cpu_limit if cpu_limit else 0.0
        memory_share = memory / memory_limit if memory_limit else 0.0
        if cpu_threshold is not None and cpu_share > cpu_threshold:
            over[cluster_id] = (
                f"its cluster's allocated CPU ({cpu_share:.0%}) is above its disable "
                f"threshold ({cpu_threshold:.0%})"
            )
        elif memory_threshold is not None and memory_share > memory_threshold:
            over[cluster_id] = (
                f"its cluster's allocated memory ({memory_share:.0%}) is above its disable "
                f"threshold ({memory_threshold:.0%})"
            )
    return over


__all__ = ["Holder", "ZonePolicy"]
