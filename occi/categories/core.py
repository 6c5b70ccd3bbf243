"""OCCI Core's Kinds: Entity, Resource and Link (GFD.221 §3.4)."""

from __future__ import annotations

from occi.categories.registry import CategoryRegistry
from occi.categories.types import Attribute, AttributeType, Kind

CORE = "http://schemas.ogf.org/occi/core#"

ENTITY = Kind(
    "entity",
    CORE,
    "Entity",
    (
        # GFD.221 §3.4: id is server-assigned; occi.md §10 item 10 advertises it
        # {immutable}, not {required}, or clients would have to invent one.
        Attribute(
            "occi.core.id",
            AttributeType.URI,
            mutable=False,
            required=False,
            description="Unique identifier of the entity (a URN)",
        ),
        Attribute("occi.core.title", description="Display name of the entity"),
    ),
)
# GFD.223 §3.1: Resource and Link are instantiable, so they may have locations;
# the Entity Kind MUST NOT (occi.md §10 item 19).
RESOURCE = Kind(
    "resource",
    CORE,
    "Resource",
    (Attribute("occi.core.summary", description="Summarizing description of the resource"),),
    parent=ENTITY,
    location="/resource/",
)
LINK = Kind(
    "link",
    CORE,
    "Link",
    (
        Attribute(
            "occi.core.source",
            AttributeType.URI,
            mutable=True,
            required=True,
            description="Location of the resource the link originates from",
        ),
        Attribute(
            "occi.core.target",
            AttributeType.URI,
            mutable=True,
            required=True,
            description="Location of what the link points to",
        ),
        Attribute("occi.core.target.kind", description="Kind of the link's target"),
        Attribute("occi.core.source.kind", description="Kind of the link's source"),
    ),
    parent=ENTITY,
    location="/link/",
)


def core_registry() -> CategoryRegistry:
    """A registry holding OCCI Core's three Kinds (GFD.221 §3.2.3)."""
    registry = CategoryRegistry()
    registry.extend((ENTITY, RESOURCE, LINK))
    return registry
