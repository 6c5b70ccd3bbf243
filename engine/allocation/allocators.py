"""Allocators: how the hosts that can take a guest are ranked.

Placement (:mod:`engine.allocation.service`) filters the candidate hosts of a
zone, asks the zone's allocator (or the offering's, when it names one) to
rank the survivors, then claims them in that order: the first claim that
succeeds wins. An allocator only orders, and may drop, hosts that already
pass every filter, so no allocator can place a guest where it does not fit.

The built-in allocators are CloudStack's (shared/reference/engine.md §1.3,
``vm.allocation.algorithm``) and the two stances of OpenStack's RAM/CPU
weighers (§2.1: stacking and spreading):

``first_fit``
    Hosts in a stable order (creation time, then id): the first that fits.
``fill_first``
    The fullest host that fits first (packing; OpenStack's negative weight):
    ascending :func:`free_share`.
``disperse``
    The emptiest host first (spreading): descending :func:`free_share`.
``user_dispersing``
    Spread one account's guests: hosts with fewer of its guests first, then
    hosts in clusters, then pods, with fewer of them (CloudStack's
    ``userdispersing``).
``random``
    A uniformly random order, from a cryptographically seeded generator.
``os_preference``
    Hosts whose guest-OS category tag (``os:<category>``) matches the image's
    ``os_type`` first, hosts with no such tag next, hosts preferring another
    category last (CloudStack's host "guest OS category" preference).

Custom allocators are installed Python packages that declare an entry point
in the ``concord.allocators`` group (docs/engine.rst, "Allocators"): the
name is the entry point's, the object an :data:`Allocator`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata

from engine.errors import InvalidInput
from engine.inventory.capacity import host_limits
from engine.inventory.models import Host

#: The entry-point group custom allocators are installed under.
ENTRY_POINT_GROUP = "concord.allocators"
#: The allocator of a zone that names none.
DEFAULT_ALLOCATOR = "first_fit"
#: A host's tag naming the guest-OS category it prefers (``os:linux``).
OS_TAG_PREFIX = "os:"


@dataclass(frozen=True)
class Placement:
    """What an allocator knows of the guest being placed.

    :param vcpus: its virtual CPUs.
    :param memory_mib: its memory.
    :param os_type: its image's guest-OS category (``linux``...), if any.
    :param account_guests: a callable returning how many live guests the
        owner's account has on each host, by host id: called only by
        allocators that need it (it costs a query), supplied by the caller
        that knows guests (:mod:`engine.compute`).
    :param cpu_weight: the weight of CPU against memory in :func:`free_share`.
    """

    vcpus: int
    memory_mib: int
    os_type: str | None = None
    account_guests: Callable[[], Mapping[str, int]] = field(default=dict)
    cpu_weight: float = 0.5


#: Ranks hosts that all fit the guest; may leave some out. Must not change
#: the hosts (they are session rows).
Allocator = Callable[[Sequence[Host], Placement], list[Host]]


def _stable(host: Host) -> tuple[object, str]:
    return (host.created, host.id)


def free_share(host: Host, placement: Placement) -> float:
    """How much of a host is free after over-provisioning, between 0 and 1.

    The weighted mean of the free shares of its vCPU and memory limits
    (:func:`engine.inventory.capacity.host_limits`), so that a host half full of
    CPU and empty of memory counts as three quarters free at equal weights.
    """
    cpu_limit, memory_limit = host_limits(host)
    cpu_free = (cpu_limit - host.allocated_vcpus) / cpu_limit if cpu_limit > 0 else 0.0
    memory_free = (
        (memory_limit - host.allocated_memory_mib) / memory_limit if memory_limit > 0 else 0.0
    )
    weight = placement.cpu_weight
    return weight * cpu_free + (1 - weight) * memory_free


def first_fit(hosts: Sequence[Host], placement: Placement) -> list[Host]:
    """Hosts in a stable order (creation, then id): the first that fits wins."""
    return sorted(hosts, key=_stable)


def fill_first(hosts: Sequence[Host], placement: Placement) -> list[Host]:
    """The fullest host first: pack guests, keep whole hosts free."""
    return sorted(hosts, key=lambda h: (free_share(h, placement), *_stable(h)))


def disperse(hosts: Sequence[Host], placement: Placement) -> list[Host]:
    """The emptiest host first: spread the load."""
    return sorted(hosts, key=lambda h: (-free_share(h, placement), *_stable(h)))


def user_dispersing(hosts: Sequence[Host], placement: Placement) -> list[Host]:
    """Fewest of the account's guests on the host first, then in its cluster, then its pod."""
    on_host = placement.account_guests()
    if not on_host:
        return first_fit(hosts, placement)
    # The account's guests per cluster and pod, counted over every host that
    # has some (not only candidates): a full host still weighs on its cluster.
    clusters: Counter[str] = Counter()
    pods: Counter[str] = Counter()
    by_id = {h.id: h for h in hosts}
    for host_id, count in on_host.items():
        host = by_id.get(host_id)
        if host is not None:
            clusters[host.cluster_id] += count
            pods[host.cluster.pod_id] += count
    return sorted(
        hosts,
        key=lambda h: (
            on_host.get(h.id, 0),
            clusters[h.cluster_id],
            pods[h.cluster.pod_id],
            *_stable(h),
        ),
    )


def random_order(hosts: Sequence[Host], placement: Placement) -> list[Host]:
    """A uniformly random order (no host is favoured, whatever the load)."""
    shuffled = list(hosts)
    random.SystemRandom().shuffle(shuffled)
    return shuffled


def os_categories(host: Host) -> frozenset[str]:
    """The guest-OS categories a host prefers, from its ``os:<category>`` tags."""
    return frozenset(
        tag[len(OS_TAG_PREFIX) :] for tag in host.tag_set if tag.startswith(OS_TAG_PREFIX)
    )


def os_preference(hosts: Sequence[Host], placement: Placement) -> list[Host]:
    """Hosts preferring the image's OS category first, neutral hosts next, others last."""

    def rank(host: Host) -> int:
        preferred = os_categories(host)
        if not preferred:
            return 1
        return 0 if placement.os_type in preferred else 2

    return sorted(hosts, key=lambda h: (rank(h), *_stable(h)))


#: The allocators Concord ships, by the name a zone or an offering gives.
BUILT_IN: Mapping[str, Allocator] = {
    "first_fit": first_fit,
    "fill_first": fill_first,
    "disperse": disperse,
    "user_dispersing": user_dispersing,
    "random": random_order,
    "os_preference": os_preference,
}


def installed() -> dict[str, metadata.EntryPoint]:
    """The custom allocators installed in this environment, by name."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def allocator_names() -> list[str]:
    """Every allocator a zone or an offering may name: built-in, then installed."""
    return [*BUILT_IN, *sorted(set(installed()) - set(BUILT_IN))]


def _unknown(name: object) -> InvalidInput:
    return InvalidInput(
        f"unknown allocator {name!r}; one of: {', '.join(allocator_names())}",
        field="allocator",
        reason="unknown",
        value=str(name),
    )


def check_allocator_name(name: object) -> str:
    """Refuse an allocator name that is neither built in nor installed.

    :raises InvalidInput: naming the allocators there are.
    """
    if not isinstance(name, str) or name not in allocator_names():
        raise _unknown(name)
    return name


def load_allocator(name: str) -> Allocator:
    """The allocator called ``name``: a built-in one, else the installed entry point.

    A built-in name cannot be overridden by a package: what an operator
    configured is what runs.

    :raises InvalidInput: no such allocator, or its entry point is not callable.
    """
    if name in BUILT_IN:
        return BUILT_IN[name]
    entry = installed().get(name)
    if entry is None:
        raise _unknown(name)
    allocator = entry.load()
    if not callable(allocator):
        raise InvalidInput(
            f"allocator {name!r} ({entry.value}) is not callable",
            field="allocator",
            reason="unavailable",
            value=name,
        )
    return allocator  # type: ignore[no-any-return]


def ranked(allocator: Allocator, hosts: Sequence[Host], placement: Placement) -> list[Host]:
    """The allocator's ranking, checked: only hosts it was given, each at most once.

    A custom allocator is code the operator installed, not Concord's: a host
    it invents or repeats must not be claimed.
    """
    given = {id(h) for h in hosts}
    seen: set[int] = set()
    order: list[Host] = []
    for host in allocator(hosts, placement):
        if id(host) in given and id(host) not in seen:
            seen.add(id(host))
            order.append(host)
    return order


def names_of(hosts: Iterable[Host]) -> list[str]:
    """Host names, for log lines."""
    return [h.name for h in hosts]


__all__ = [
    "BUILT_IN",
    "DEFAULT_ALLOCATOR",
    "ENTRY_POINT_GROUP",
    "OS_TAG_PREFIX",
    "Allocator",
    "Placement",
    "allocator_names",
    "check_allocator_name",
    "disperse",
    "fill_first",
    "first_fit",
    "free_share",
    "installed",
    "load_allocator",
    "names_of",
    "os_categories",
    "os_preference",
    "random_order",
    "ranked",
    "user_dispersing",
]
