"""GFD.226, OCCI JSON Rendering 1.2."""

from __future__ import annotations

from conformance.requirements.model import MUST, table

REQUIREMENTS = table(
    "GFD.226",
    "OCCI JSON",
    "occi",
    [
        (
            "media-type",
            "3 OCCI JSON Rendering",
            MUST,
            "The JSON rendering is served as application/occi+json.",
        ),
        ("entity.object", "3.1 Entity Instance Rendering", MUST, "Entities are JSON objects."),
        (
            "resource.members",
            "3.1.1 Resource Instance Rendering",
            MUST,
            "A Resource has a string kind and id; mixins and actions are arrays of type "
            "identifiers, attributes an object, links an array of Link renderings.",
        ),
        (
            "action-invocation",
            "3.1.1 Action Invocation Rendering",
            MUST,
            'The server accepts an action invocation {"action": type id, "attributes": {}}.',
        ),
        (
            "link.members",
            "3.1.2 Link Instance Rendering",
            MUST,
            "A Link has kind and id, and source and target objects with a location (and the "
            "Kind when the end is an OCCI Resource).",
        ),
        (
            "category.object",
            "3.2 Category Instance Rendering",
            MUST,
            "Categories are JSON objects with term and scheme.",
        ),
        (
            "kind.location",
            "3.2.1 Kind Instance Rendering",
            MUST,
            "Every Kind except Entity's carries its location.",
        ),
        (
            "mixin.location",
            "3.2.2 Mixin Instance Rendering",
            MUST,
            "Every Mixin carries its location.",
        ),
        (
            "action.members",
            "3.2.3 Action Instance Rendering",
            MUST,
            "An Action has term, scheme and optional title and attributes only.",
        ),
        (
            "entity-collection",
            "3.3 Entity Collection Rendering",
            MUST,
            "Entity collections are arrays under the key resources (or links) of an object.",
        ),
        (
            "category-collection",
            "3.4 Category Collection Rendering",
            MUST,
            "Category collections are arrays under the keys kinds, mixins and actions.",
        ),
        (
            "attributes.flat",
            "3.5 Attributes Rendering",
            MUST,
            "Attribute names are flat dotted keys; the dotted hierarchy is not nested in objects.",
        ),
        (
            "attribute-description.type",
            "3.5.1 Attribute Description Rendering",
            MUST,
            "An attribute description's type is one of string, number, boolean, array, object.",
        ),
        (
            "attribute-description.default",
            "3.5.1 Attribute Description Rendering",
            MUST,
            "An attribute default has the declared type and is used when a new entity does not "
            "give the attribute.",
        ),
        (
            "schema",
            "Appendix: JSON Schema",
            MUST,
            "Every JSON rendering validates against the OCCI JSON Schemas in schemas/occi.",
            "The schemas are the project's reading of GFD.226 with its errata corrected.",
        ),
    ],
)
