"""Ranking storage pools for a new volume: the zone's allocator, applied to pools.

Volumes go through the same pipeline as guests (reference/engine.md §1.3,
CloudStack's storage pool allocators): candidate pools of the zone, filters
(storage tags, the cluster's storage disable threshold), then an order. The
zone's allocator decides the order where it has a meaning for pools:

``first_fit``
    pools by creation time, then id;
``fill_first``
    the fullest pool first (lowest :func:`pool_free_share`);
``disperse``
    the emptiest pool first;
``random``
    a random order.

Any other allocator (``user_dispersing``, ``os_preference``, a custom one)
ranks hosts by facts pools do not have, so pools fall back to first fit.
Whatever the order, a volume placed without knowing its guest prefers shared
pools, which a guest on any host of their cluster can use.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from engine.inventory.capacity import pool_limit
from engine.inventory.models import StoragePool

PoolOrdering = Callable[[Sequence[StoragePool]], list[StoragePool]]


def pool_free_share(pool: StoragePool) -> float:
    """The share of a pool's over-provisioned capacity that is not allocated (0 to 1)."""
    limit = pool_limit(pool)
    return (limit - pool.allocated_bytes) / limit if limit > 0 else 0.0


def _stable(pool: StoragePool) -> tuple[object, str]:
    return (pool.created, pool.id)


def _random(pools: Sequence[StoragePool]) -> list[StoragePool]:
    shuffled = list(pools)
    random.SystemRandom().shuffle(shuffled)
    return shuffled


#: The pool orderings, by the allocator name a zone gives.
POOL_ORDERINGS: dict[str, PoolOrdering] = {
    "first_fit": lambda pools: sorted(pools, key=_stable),
    "fill_first": lambda pools: sorted(pools, key=lambda p: (pool_free_share(p), *_stable(p))),
    "disperse": lambda pools: sorted(pools, key=lambda p: (-pool_free_share(p), *_stable(p))),
    "random": _random,
}


def rank_pools(
    pools: Sequence[StoragePool], allocator: str, *, shared_first: bool
) -> list[StoragePool]:
    """``pools`` in the order the zone's ``allocator`` gives them (first fit if it has none).

    :param shared_first: put shared pools (no host) before host-local ones,
        keeping the allocator's order within each group.
    """
    order = POOL_ORDERINGS.get(allocator, POOL_ORDERINGS["first_fit"])(pools)
    if shared_first:
        order.sort(key=lambda pool: pool.host_id is not None)  # stable
    return order


def over_storage_threshold(pool: StoragePool) -> bool:
    """Whether the pool's allocated share is above its cluster's storage threshold."""
    threshold = pool.cluster.storage_disable_threshold
    return threshold is not None and 1 - pool_free_share(pool) > threshold


__all__ = [
    "POOL_ORDERINGS",
    "PoolOrdering",
    "over_storage_threshold",
    "pool_free_share",
    "rank_pools",
]
