"""Allocation: which host a guest goes to, and the atomic claim of its capacity.

A pipeline of filters and an ordering over the hosts of a zone, then a
conditional UPDATE that claims vCPUs, memory and root-disk bytes only if they
still fit after over-provisioning (CloudStack's allocators, shared/reference
engine.md §1.3; OpenStack placement §2.2).

Entry points:
    :class:`~engine.allocation.service.AllocationService`,
    :class:`~engine.allocation.service.ComputeRequest`,
    :mod:`~engine.allocation.root_pools`.

Uses: inventory (hosts, pools, their limits), catalog (the root disk an image
and an offering need).
"""
