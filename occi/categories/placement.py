"""Concord's placement Mixins: what a user Mixin depends on to be a placement group.

OCCI has no placement vocabulary, so Concord exposes its affinity and
anti-affinity groups (engine: :mod:`engine.compute.groups`) through OCCI 1.2
user-defined Mixins (GFD.221 §3.6, GFD.223 §3.7): a tenant defines a Mixin
of its own (``POST /-/``) that *depends* on one of the two provider Mixins
below, and creates computes with it. The user Mixin's term names the group
in the engine (the same group a CIMI client names in ``placementGroup``);
the provider Mixin says the policy. Both apply to computes only.

``<PROVIDER>/occi/placement#affinity``
    the group's computes all run on one host;
``<PROVIDER>/occi/placement#anti-affinity``
    no two of them run on one host.

A compute joins its group when it is created; associating a group's Mixin
with an existing compute, or dissociating it, is a 409: the guest would
have to move (docs/occi.rst, "Placement groups").
"""

from __future__ import annotations

from occi.categories.infrastructure import COMPUTE
from occi.categories.templates import provider_scheme
from occi.categories.types import Mixin

#: Concord's provider base (the same as the templates', occi.mapping.templates).
PLACEMENT_SCHEME = provider_scheme("http://schemas.concord.invalid", "placement")

AFFINITY = Mixin(
    "affinity",
    PLACEMENT_SCHEME,
    "Placement group: every compute of the group on one host",
    applies=(COMPUTE.type_id,),
    location="/mixin/placement/affinity/",
)
ANTI_AFFINITY = Mixin(
    "anti-affinity",
    PLACEMENT_SCHEME,
    "Placement group: no two computes of the group on one host",
    applies=(COMPUTE.type_id,),
    location="/mixin/placement/anti-affinity/",
)

#: The engine's policy (engine.compute.models.GroupPolicy values) of each Mixin.
POLICIES = {AFFINITY.type_id: "affinity", ANTI_AFFINITY.type_id: "anti-affinity"}
MIXINS = (AFFINITY, ANTI_AFFINITY)
