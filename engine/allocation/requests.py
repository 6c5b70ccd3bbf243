"""What a guest asks of a host, and the filters that keep the hosts able to give it.

A :class:`ComputeRequest` carries everything placement needs to know about
one guest; each :data:`HostFilter` keeps or drops one candidate host on its
own facts. Filters that need facts of the whole zone (a cluster's share,
dedications) are the zone's policy (:mod:`engine.allocation.policy`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from engine.allocation.allocators import Placement
from engine.errors import InvalidInput
from engine.inventory.capacity import host_limits
from engine.inventory.models import Host


@dataclass(frozen=True)
class ComputeRequest:
    """What a guest needs from a host.

    :param zone_id: the zone to place it in.
    :param vcpus: virtual CPUs.
    :param memory_mib: memory in MiB.
    :param host_tags: tags the host must all carry.
    :param avoid: host ids not to use (hosts that already failed this guest).
    :param for_ha: True when HA restarts the guest: HA-reserved hosts may take it.
    :param on_hosts: the guest must run on every one of these hosts, and
    :param in_clusters: in every one of these clusters: where the storage
        pools of the volumes it is created with are reached
        (:meth:`AllocationService.volume_reach`); empty, anywhere.
    :param root_disk_bytes: the size of the root disk its creation will copy
        into the host's root pool (:mod:`engine.allocation.root_pools`); 0: none.
    :param allocator: the allocator the guest's offering names; ``None``: the
        zone's.
    :param os_type: the image's guest-OS category, for ``os_preference``.
    :param account_guests: how many live guests the owner's account has per
        host (for ``user_dispersing``; called only if that allocator runs).
    :param account_id: the owner's account, and
    :param domain_id: its domain: dedicated infrastructure serves only them.
    :param group_policy: the policy of the placement group the guest joins
        (``affinity`` or ``anti-affinity``), and
    :param group_hosts: the hosts its live members are on
        (:mod:`engine.compute.groups`); ``None``: in no group.
    :param group_name: that group's name, for the words of a refusal.
    """

    zone_id: str
    vcpus: int
    memory_mib: int
    host_tags: frozenset[str] = frozenset()
    avoid: frozenset[str] = frozenset()
    for_ha: bool = False
    on_hosts: frozenset[str] = frozenset()
    in_clusters: frozenset[str] = frozenset()
    root_disk_bytes: int = 0
    allocator: str | None = None
    os_type: str | None = None
    account_guests: Callable[[], Mapping[str, int]] = field(default=dict, compare=False)
    account_id: str | None = None
    domain_id: str | None = None
    group_policy: str | None = None
    group_hosts: frozenset[str] = frozenset()
    group_name: str | None = None

    def __post_init__(self) -> None:
        if self.vcpus < 1:
            raise InvalidInput(
                "a guest needs at least one vCPU", field="vcpus", reason="range", minimum=1, unit=""
            )
        if self.memory_mib < 1:
            raise InvalidInput(
                "a guest needs at least 1 MiB of memory",
                field="memory_mib",
                reason="range",
                minimum=1,
                unit="MiB",
            )


HostFilter = Callable[[Host, ComputeRequest], bool]


def not_avoided(host: Host, request: ComputeRequest) -> bool:
    """Drop hosts that already failed this request."""
    return host.id not in request.avoid


def has_tags(host: Host, request: ComputeRequest) -> bool:
    """Keep hosts carrying every tag the offering asks for."""
    return request.host_tags <= host.tag_set


def reaches_volumes(host: Host, request: ComputeRequest) -> bool:
    """Keep hosts that reach the storage pools of the volumes the guest is created with."""
    return request.on_hosts <= {host.id} and request.in_clusters <= {host.cluster_id}


def ha_reservation(host: Host, request: ComputeRequest) -> bool:
    """HA-reserved hosts take only guests restarted by HA (CloudStack's ha.tag)."""
    return request.for_ha or not host.ha_reserved


def honours_group(host: Host, request: ComputeRequest) -> bool:
    """Keep the hosts the guest's placement group allows.

    Affinity: a host its members are on (any host while none is placed);
    anti-affinity: a host none of them is on.
    """
    if request.group_policy == "affinity":
        return not request.group_hosts or host.id in request.group_hosts
    if request.group_policy == "anti-affinity":
        return host.id not in request.group_hosts
    return True


def fits(host: Host, request: ComputeRequest) -> bool:
    """Keep hosts with room for the request (re-checked atomically at claim time)."""
    cpu_limit, memory_limit = host_limits(host)
    return (
        host.allocated_vcpus + request.vcpus <= cpu_limit
        and host.allocated_memory_mib + request.memory_mib <= memory_limit
    )


#: Why each filter refuses a host, for operators (``concord host list --explain``).
REFUSALS: dict[HostFilter, str] = {
    not_avoided: "it already failed this guest",
    has_tags: "it lacks a host tag the offering requires",
    ha_reservation: "it is reserved for guests that HA restarts",
    reaches_volumes: "it does not reach the storage pools of the guest's volumes",
    honours_group: "the guest's placement group rules it out",
    fits: "it has no room for the guest",
}


def refusal_of(host_filter: HostFilter, request: ComputeRequest | None = None) -> str:
    """What a refusal by ``host_filter`` means, in words (its name if it is not Concord's).

    :param request: the request refused: the group filter then names the
        group and says which of its rules refused the host.
    """
    if host_filter is honours_group and request is not None and request.group_policy:
        group = f" {request.group_name!r}" if request.group_name else ""
        if request.group_policy == "anti-affinity":
            return f"a guest of its anti-affinity group{group} is on it already"
        return f"the guests of its affinity group{group} are on another host"
    return REFUSALS.get(host_filter, f"filter {getattr(host_filter, '__name__', host_filter)}")


def placement_of(request: ComputeRequest) -> Placement:
    """What the allocator sees of a request."""
    return Placement(
        vcpus=request.vcpus,
        memory_mib=request.memory_mib,
        os_type=request.os_type,
        account_guests=request.account_guests,
    )


DEFAULT_FILTERS: tuple[HostFilter, ...] = (
    not_avoided,
    has_tags,
    ha_reservation,
    reaches_volumes,
    honours_group,
    fits,
)


__all__ = [
    "DEFAULT_FILTERS",
    "REFUSALS",
    "ComputeRequest",
    "HostFilter",
    "fits",
    "ha_reservation",
    "has_tags",
    "honours_group",
    "not_avoided",
    "placement_of",
    "reaches_volumes",
    "refusal_of",
]
