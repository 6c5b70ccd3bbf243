"""A zone's placement policy: cluster thresholds and dedicated infrastructure.

Unlike the per-host filters of :mod:`engine.allocation.requests`, these rules
need facts of the whole zone (a cluster's allocated share, what is dedicated
to whom), so they are read once per placement into a :class:`ZonePolicy`,
which then judges each candidate. A zone with no threshold and no dedication
costs two small queries.

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

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.allocation.models import DedicatedLevel, Dedication
from engine.allocation.requests import ComputeRequest
from engine.inventory.capacity import host_limits
from engine.inventory.models import Cluster, Host, Pod
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
    :param domain_path: the owner's domain path (read only if a domain holds
        a dedication in the zone).
    """

    zone_id: str
    over_threshold: Mapping[str, str] = field(default_factory=dict)
    dedications: Mapping[tuple[DedicatedLevel, str], Holder] = field(default_factory=dict)
    account_id: str | None = None
    domain_path: str | None = None

    @classmethod
    def load(cls, session: Session, request: ComputeRequest) -> ZonePolicy:
        """Read the zone's thresholds and dedications for one placement."""
        dedications = _dedications(session)
        domain_path = None
        if request.domain_id is not None and any(
            h.domain_path is not None for h in dedications.values()
        ):
            domain_path = session.scalar(
                sa.select(Domain.path).where(Domain.id == request.domain_id)
            )
        return cls(
            zone_id=request.zone_id,
            over_threshold=_clusters_over_threshold(session, request.zone_id),
            dedications=dedications,
            account_id=request.account_id,
            domain_path=domain_path,
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


def _dedications(session: Session) -> dict[tuple[DedicatedLevel, str], Holder]:
    rows = session.execute(
        sa.select(
            Dedication.level, Dedication.target_id, Dedication.account_id, Domain.path
        ).outerjoin(Domain, Dedication.domain_id == Domain.id)
    )
    return {(level, target): Holder(account_id, path) for level, target, account_id, path in rows}


def _clusters_over_threshold(session: Session, zone_id: str) -> dict[str, str]:
    clusters = list(
        session.scalars(
            sa.select(Cluster)
            .join(Pod, Cluster.pod_id == Pod.id)
            .where(
                Pod.zone_id == zone_id,
                sa.or_(
                    Cluster.cpu_disable_threshold.is_not(None),
                    Cluster.memory_disable_threshold.is_not(None),
                ),
            )
        )
    )
    if not clusters:
        return {}
    hosts = session.scalars(sa.select(Host).where(Host.cluster_id.in_([c.id for c in clusters])))
    totals: dict[str, list[int]] = {c.id: [0, 0, 0, 0] for c in clusters}
    for host in hosts:
        cpu_limit, memory_limit = host_limits(host)
        total = totals[host.cluster_id]
        total[0] += host.allocated_vcpus
        total[1] += cpu_limit
        total[2] += host.allocated_memory_mib
        total[3] += memory_limit
    over = {}
    for cluster in clusters:
        cpu, cpu_limit, memory, memory_limit = totals[cluster.id]
        cpu_share = cpu / cpu_limit if cpu_limit else 0.0
        memory_share = memory / memory_limit if memory_limit else 0.0
        if cluster.cpu_disable_threshold is not None and cpu_share > cluster.cpu_disable_threshold:
            over[cluster.id] = (
                f"its cluster's allocated CPU ({cpu_share:.0%}) is above its disable "
                f"threshold ({cluster.cpu_disable_threshold:.0%})"
            )
        elif (
            cluster.memory_disable_threshold is not None
            and memory_share > cluster.memory_disable_threshold
        ):
            over[cluster.id] = (
                f"its cluster's allocated memory ({memory_share:.0%}) is above its disable "
                f"threshold ({cluster.memory_disable_threshold:.0%})"
            )
    return over


__all__ = ["Holder", "ZonePolicy"]
