"""Allocation: which host a guest goes to, and the atomic claim of its capacity.

A pipeline of filters and an ordering over the hosts of a zone, then a
conditional UPDATE that claims vCPUs, memory and root-disk bytes only if they
still fit after over-provisioning (CloudStack's allocators, shared/reference
engine.md §1.3; OpenStack placement §2.2).

The allocator that ranks the filtered hosts is the offering's or the zone's
(:mod:`~engine.allocation.allocators`: first fit, fill first, disperse, user
dispersing, random, OS preference, or an installed ``concord.allocators``
entry point); a zone's policy (:mod:`~engine.allocation.policy`) adds cluster
disable thresholds and dedicated infrastructure.

Entry points:
    :class:`~engine.allocation.service.AllocationService` (place, claim,
    release, explain), :class:`~engine.allocation.requests.ComputeRequest`,
    :class:`~engine.allocation.configuration.AllocatorSettings`,
    :class:`~engine.allocation.dedication.DedicationService`,
    :mod:`~engine.allocation.allocators`, :mod:`~engine.allocation.root_pools`,
    :class:`~engine.allocation.notifications.ThresholdService` and
    :func:`~engine.allocation.notifications.watch_capacity` (notification
    thresholds); the tables in :mod:`~engine.allocation.models`.

Uses: tenancy (whom dedicated infrastructure serves), events (capacity
alerts), inventory (hosts, pools, their limits), catalog (the root disk an
image and an offering need; offerings' allocators).
"""
