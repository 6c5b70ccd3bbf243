"""Placement's filters and the built-in orderings as one SQL query.

The pipeline of :mod:`engine.allocation.service` is defined in Python: each
:data:`~engine.allocation.requests.HostFilter` judges a host, the policy
judges it against the zone's thresholds and dedications, and an allocator
ranks the survivors. Loading every candidate of a large zone to do that costs
about 0.1 ms per host (bench/RESULTS.md). This module states the same
filters and the orderings of ``first_fit``, ``fill_first``, ``disperse``,
``os_preference`` and ``user_dispersing`` as a ``WHERE`` and an ``ORDER BY``,
so that a placement reads only the few best hosts; ``random``'s hosts are the
same ``WHERE`` in the index's order, from which the service draws one at a
random offset (never a sort of the zone). ``tests/unit/engine/allocation/
test_sql_placement.py`` checks on arbitrary inventories that the query
returns exactly the hosts, in exactly the order, the Python pipeline does.

Used only when the request's filters are the default ones and the allocator
is one of those six; custom filters, custom allocators and
:meth:`AllocationService.explain` keep the Python pipeline.

Exactness notes:

* ``fits``: ``allocated + wanted <= cores x factor`` in SQL is the same test
  as ``<= int(cores x factor)`` in Python, since the left side is an integer,
  with no rounding ``CAST`` (which rounds on MariaDB, :func:`host_limits`).
* :func:`~engine.allocation.allocators.free_share` needs the integer limits:
  ``CAST ... AS INTEGER`` truncates on SQLite and ``FLOOR`` on MariaDB, which
  agree for the positive products here; the divisions are done in floating
  point, as Python's ``/`` is.
* ``user_dispersing`` counts the account's guests per cluster and pod over
  the candidates only, as the Python allocator does: window sums over the
  filtered rows, in a subquery, so that leaving out hosts already tried does
  not change them.
* Host tags are stored separated by single spaces (``host_tags``), so
  ``' ' || tags || ' ' LIKE '% tag %'`` is ``tag in tag_set``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from engine.allocation.allocators import (
    OS_TAG_PREFIX,
    Allocator,
    disperse,
    fill_first,
    first_fit,
    os_preference,
    random_order,
    user_dispersing,
)
from engine.allocation.policy import ZonePolicy
from engine.allocation.requests import ComputeRequest
from engine.inventory.dedicated import DedicatedLevel
from engine.inventory.models import AllocationState, Cluster, Host, HostState, Pod, Zone

#: The built-in allocators this module orders in SQL, by the function.
SQL_ORDERED: Mapping[Allocator, str] = {
    first_fit: "first_fit",
    fill_first: "fill_first",
    disperse: "disperse",
    random_order: "random",
    os_preference: "os_preference",
    user_dispersing: "user_dispersing",
}


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_tag(tag: str) -> sa.ColumnElement[bool]:
    padded = sa.literal(" ") + Host.tags + sa.literal(" ")
    return padded.like(f"% {_like_literal(tag)} %", escape="\\")


def _dedication_rules(
    policy: ZonePolicy,
) -> tuple[list[Any], Any]:
    """``(conditions refusing others' dedicated targets, "dedicated to the owner")``."""
    columns: dict[DedicatedLevel, Any] = {
        DedicatedLevel.HOST: Host.id,
        DedicatedLevel.CLUSTER: Host.cluster_id,
        DedicatedLevel.POD: Cluster.pod_id,
    }
    refused: dict[DedicatedLevel, list[str]] = {}
    served: dict[DedicatedLevel, list[str]] = {}
    zone_served = False
    for (level, target), holder in policy.dedications.items():
        serves = holder.serves(policy.account_id, policy.domain_path)
        if level is DedicatedLevel.ZONE:
            if target != policy.zone_id:
                continue
            if not serves:
                return [sa.false()], None
            zone_served = True
            continue
        (served if serves else refused).setdefault(level, []).append(target)
    conditions: list[Any] = [columns[level].not_in(targets) for level, targets in refused.items()]
    preferred: list[Any] = [columns[level].in_(targets) for level, targets in served.items()]
    if zone_served:
        preferred.append(sa.true())
    return conditions, (sa.or_(*preferred) if preferred else None)


def _dispersal(
    query: sa.Select[Host], request: ComputeRequest, conditions: list[Any]
) -> tuple[sa.Select[Host], list[Any]]:
    """``user_dispersing``'s keys: the account's guests on the host, its cluster, its pod."""
    counts = dict(request.account_guests())
    if not counts:  # as the Python allocator: first fit
        return query, []
    on_host = sa.case(counts, value=Host.id, else_=0)
    ranked = (
        sa.select(
            Host.id.label("host_id"),
            on_host.label("on_host"),
            sa.func.sum(on_host).over(partition_by=Host.cluster_id).label("on_cluster"),
            sa.func.sum(on_host).over(partition_by=Cluster.pod_id).label("on_pod"),
        )
        .join(Cluster, Host.cluster_id == Cluster.id)
        .where(*conditions)
        .subquery("dispersal")
    )
    query = query.join(ranked, ranked.c.host_id == Host.id)
    return query, [ranked.c.on_host, ranked.c.on_cluster, ranked.c.on_pod]


def candidate_tiers(
    request: ComputeRequest, policy: ZonePolicy, allocator: str
) -> list[sa.Select[Host]]:
    """The hosts that pass every default filter and the policy, best first.

    One query per leading rank (the owner's dedicated hosts, then the others;
    for ``os_preference`` its three ranks within each), each in the
    allocator's order: every host of the first tier comes before any of the
    second, and so on.

    :param allocator: one of :data:`SQL_ORDERED`'s names.
    """
    conditions: list[Any] = [
        # On the host row: the zone's indexes serve this and the order.
        Host.zone_id == request.zone_id,
        # The zone and its pods as subqueries, not joins: a join to these
        # few-row tables may be buffered (MariaDB's BNL join), which loses
        # the index's order and sorts the zone.
        sa.exists().where(
            Zone.id == request.zone_id, Zone.allocation_state == AllocationState.ENABLED
        ),
        Cluster.pod_id.in_(
            sa.select(Pod.id).where(
                Pod.zone_id == request.zone_id, Pod.allocation_state == AllocationState.ENABLED
            )
        ),
        Cluster.allocation_state == AllocationState.ENABLED,
        Host.allocation_state == AllocationState.ENABLED,
        Host.state == HostState.UP,
        # fits: the stored limits are host_limits' (engine/inventory/limits.py).
        Host.allocated_vcpus + request.vcpus <= Host.cpu_limit,
        Host.allocated_memory_mib + request.memory_mib <= Host.memory_limit,
    ]
    if request.avoid:
        conditions.append(Host.id.not_in(sorted(request.avoid)))
    conditions += [_has_tag(tag) for tag in sorted(request.host_tags)]
    if not request.for_ha:
        conditions.append(Host.ha_reserved.is_(False))
    if request.on_hosts:
        conditions.append(
            Host.id.in_(sorted(request.on_hosts)) if len(request.on_hosts) == 1 else sa.false()
        )
    if request.in_clusters:
        conditions.append(
            Host.cluster_id.in_(sorted(request.in_clusters))
            if len(request.in_clusters) == 1
            else sa.false()
        )
    if request.group_policy == "affinity" and request.group_hosts:
        conditions.append(Host.id.in_(sorted(request.group_hosts)))
    elif request.group_policy == "anti-affinity" and request.group_hosts:
        conditions.append(Host.id.not_in(sorted(request.group_hosts)))
    if policy.over_threshold:
        conditions.append(Host.cluster_id.not_in(sorted(policy.over_threshold)))
    refusals, preferred = _dedication_rules(policy)
    conditions += refusals
    stable: list[Any] = [Host.created, Host.id]
    orders: dict[str, Callable[[], list[Any]]] = {
        "first_fit": lambda: stable,
        "fill_first": lambda: [Host.free_share, *stable],
        "disperse": lambda: [Host.negated_free_share, *stable],
        # The OS rank is a tier (below): within one, creation order.
        "os_preference": lambda: stable,
        # No sort: the service counts the qualifying hosts and reads the one
        # at a random offset of the index's order (uniform, never sorted).
        "random": lambda: stable,
    }
    query = sa.select(Host).join(Cluster, Host.cluster_id == Cluster.id)
    if allocator == "user_dispersing":
        query, dispersal = _dispersal(query, request, conditions)
        order = [*dispersal, *stable]
    else:
        order = orders[allocator]()
    query = (
        query.where(*conditions)
        .order_by(*order)
        # MariaDB's optimizer, estimating from statistics that a burst of
        # claims leaves stale, may drive the join from clusters and sort the
        # whole zone; the hosts' index on (zone, ordering key) is the plan
        # that reads only the first rows, so join in the order written.
        # (SQLite's planner chooses it unaided.)
        .prefix_with("STRAIGHT_JOIN", dialect="mysql")
        .prefix_with("STRAIGHT_JOIN", dialect="mariadb")
        # Fresh allocation columns even for hosts already in the session (as
        # AllocationService.candidate_hosts does).
        .execution_options(populate_existing=True)
    )
    # A leading rank (dedicated to the owner first; the OS preference) as
    # one query per rank rather than a CASE in the ORDER BY, so that each
    # keeps walking its index.
    ranks: list[list[Any]] = [[]]
    if policy.dedications and preferred is not None:
        ranks = [[preferred], [sa.not_(preferred)]]
    if allocator == "os_preference":
        ranks = [[*rank, tier] for rank in ranks for tier in _os_tiers(request.os_type)]
    return [query.where(*rank) for rank in ranks]


def _os_tiers(os_type: str | None) -> list[sa.ColumnElement[bool]]:
    """``os_preference``'s ranks as conditions: the image's category, none, another."""
    padded = sa.literal(" ") + Host.tags
    any_os = padded.like(f"% {_like_literal(OS_TAG_PREFIX)}%", escape="\\")
    if os_type is None:
        return [sa.not_(any_os), any_os]
    matching = _has_tag(OS_TAG_PREFIX + os_type)
    return [matching, sa.not_(any_os), sa.and_(any_os, sa.not_(matching))]


__all__ = ["SQL_ORDERED", "candidate_tiers"]
