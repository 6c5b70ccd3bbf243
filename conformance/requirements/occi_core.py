"""GFD.221, OCCI Core 1.2: the model (sections named by title; see docs/conformance.rst)."""

from __future__ import annotations

from conformance.requirements.model import MAY, MUST, SHOULD, table

REQUIREMENTS = table(
    "GFD.221",
    "OCCI Core",
    "occi",
    [
        (
            "model.types",
            "Core Model: Overview",
            MUST,
            "All Core types are implemented; the query interface shows the Kinds of Entity, "
            "Resource and Link.",
        ),
        (
            "category.identifier",
            "Classification and Identification: Category",
            MUST,
            "A Category is identified by its scheme and term concatenated; no two Categories "
            "a server exposes share a type identifier.",
        ),
        (
            "category.concatenated-ids",
            "Classification and Identification: Category",
            MUST,
            "Renderings refer to Categories by concatenated type identifiers (a Kind's parent "
            "and actions resolve to advertised Categories).",
        ),
        (
            "category.reserved-scheme",
            "Classification and Identification: Category",
            MUST,
            "Providers do not define their own Categories under http://schemas.ogf.org/occi/.",
            "Checked against the Categories the OCCI documents define (Core, Infrastructure, "
            "Platform, SLA, CRTP, the Monitoring draft).",
        ),
        (
            "attribute.reserved-prefix",
            "Classification and Identification: Attribute",
            MUST,
            "Provider-defined Categories declare no attribute in the reserved occi. namespace "
            "other than those OCCI itself defines.",
        ),
        (
            "attribute.discoverable",
            "Classification and Identification: Attribute",
            MUST,
            "Attribute properties in use are discoverable: every Kind lists the attributes it "
            "defines at the query interface.",
        ),
        (
            "attribute.immutable",
            "Classification and Identification: Attribute",
            MUST,
            "A client cannot modify an immutable attribute (occi.core.id): the change is "
            "refused or has no effect.",
        ),
        (
            "attribute.mutable",
            "Classification and Identification: Attribute",
            MUST,
            "The server supports client changes of mutable attributes (occi.core.title) at "
            "creation and on update.",
        ),
        (
            "kind.per-type",
            "Classification and Identification: Kind",
            MUST,
            "Every Entity sub-type, Entity itself included, has a unique Kind: core#entity, "
            "core#resource and core#link exist.",
        ),
        (
            "kind.attributes",
            "Classification and Identification: Kind",
            MUST,
            "A Kind exposes the attributes of its type: entity defines occi.core.id and "
            "occi.core.title, resource occi.core.summary, link occi.core.source and "
            "occi.core.target (directly or through a parent).",
        ),
        (
            "kind.root",
            "Classification and Identification: Kind",
            MUST,
            "Every Kind is related, directly or through its parents, to core#entity.",
        ),
        (
            "kind.parent",
            "Classification and Identification: Kind",
            MUST,
            "If type B inherits type A, the Kind of B has the Kind of A as its parent "
            "(resource and link have entity).",
        ),
        (
            "kind.no-subtyping",
            "Classification and Identification: Kind",
            MUST,
            "The Kind type itself is not sub-typed.",
            "A constraint on the implementation's model, not observable over HTTP.",
        ),
        (
            "mixin.no-subtyping",
            "Classification and Identification: Mixin",
            MUST,
            "The Mixin type itself is not sub-typed.",
            "A constraint on the implementation's model, not observable over HTTP.",
        ),
        (
            "mixin.instances-only",
            "Classification and Identification: Mixin",
            MUST,
            "Mixins are associated with entity instances only, never with types.",
            "Not observable over HTTP: the protocol has no way to ask for the contrary.",
        ),
        (
            "mixin.bad-stage",
            "Classification and Identification: Mixin",
            MUST,
            "Associating a Mixin at a stage the provider does not support is answered as a "
            "bad request.",
            "Which stages a provider supports is not discoverable, so no generic case exists.",
        ),
        (
            "mixin.applies",
            "Classification and Identification: Mixin",
            SHOULD,
            "A Mixin whose applies list excludes an entity's Kind is not associated with it "
            "(the request is refused as a bad request).",
        ),
        (
            "action.bound",
            "Classification and Identification: Action",
            MUST,
            "Every Action is bound to exactly one Kind or Mixin.",
        ),
        (
            "entity.id-uri",
            "Entity type",
            MUST,
            "An entity's id (occi.core.id) is a valid URI.",
        ),
        (
            "entity.id-urn",
            "Entity type",
            SHOULD,
            "Entity ids are globally unique; the URN syntax (urn:uuid:...) is recommended.",
        ),
        (
            "entity.kind",
            "Entity type",
            MUST,
            "Every entity is associated with exactly one Kind, one the server advertises.",
        ),
        (
            "resource.link-removal",
            "Resource type",
            MUST,
            "Removing a Link from a Resource removes the Link instance.",
        ),
        (
            "link.source-local",
            "Link type",
            MUST,
            "A Link's source is a Resource in the provider's namespace.",
        ),
        (
            "collection.kind-membership",
            "Collections",
            MUST,
            "An entity is always a member of its Kind's collection.",
        ),
        (
            "collection.navigation",
            "Collections",
            MUST,
            "Clients can navigate a whole collection and a single item of it.",
        ),
        (
            "discovery.model",
            "Discovery",
            MUST,
            "Discovery lets a client deduce the Kinds, their attributes and actions, and "
            "the Mixins.",
        ),
        (
            "instantiation.kind",
            "Instantiation",
            MUST,
            "An entity is created from exactly one Kind; a creation request without a Kind "
            "is refused.",
        ),
        (
            "instantiation.mixins",
            "Instantiation",
            MAY,
            "A creation request may name Mixins to associate with the new entity.",
        ),
        (
            "extension.user-mixins",
            "Extensibility",
            SHOULD,
            "Clients can create and destroy their own Mixins (tags).",
            "The text says 'must' in lower case, so the level is SHOULD.",
        ),
        (
            "attribute.immutable-refused",
            "3.2.2 Attribute mutability",
            SHOULD,
            "An update giving an immutable attribute a value other than its current one is "
            "refused with a client error and changes nothing; the current value sent back is "
            "accepted.",
            "GFD.185 (OCCI 1.1 HTTP) lists 403 for it; any 4xx passes. A 200 that drops the "
            "change lets the client believe it was made.",
        ),
    ],
)
