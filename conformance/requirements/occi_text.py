"""GFD.229, OCCI Text Rendering 1.2 (section numbers of the final LaTeX sources)."""

from __future__ import annotations

from conformance.requirements.model import MUST, SHOULD, table

REQUIREMENTS = table(
    "GFD.229",
    "OCCI Text",
    "occi",
    [
        (
            "renderings.three",
            "3 Text rendering",
            MUST,
            "The server implements the three text renderings: text/plain, text/occi and "
            "text/uri-list.",
        ),
        (
            "abnf.category",
            "4.1 Category ABNF",
            MUST,
            "Category values follow the ABNF: a term, then quoted scheme and class, then the "
            "optional title, rel, location, attributes and actions in that order.",
        ),
        (
            "abnf.link",
            "4.2 Link ABNF",
            MUST,
            'Link values follow the ABNF: <URI-reference>; rel="type ids" with optional self, '
            "category and link attributes.",
        ),
        (
            "abnf.action-link",
            "4.2 Link ABNF",
            MUST,
            "Action references are Links to <URI?action=term> whose rel is the Action's type "
            "identifier, and the term matches.",
        ),
        (
            "abnf.attribute",
            "4.3 Attribute ABNF",
            MUST,
            "X-OCCI-Attribute values are name=value with a quoted string, a number or true/false.",
        ),
        ("abnf.location", "4.4 Location ABNF", MUST, "X-OCCI-Location values are URI references."),
        (
            "rendering.resource",
            "5.1.1 Resource Instance Rendering",
            MUST,
            "A Resource renders as one or more Category lines, then Link lines, then "
            "X-OCCI-Attribute lines.",
        ),
        (
            "rendering.action-links",
            "5.1.1 Resource Instance Rendering",
            MUST,
            "A Resource rendering represents its Actions as ActionLinks.",
        ),
        (
            "rendering.action-invocation",
            "5.1.1 Action Invocation Rendering",
            MUST,
            "The server accepts an action invocation rendered as one Category line and "
            "optional attributes.",
        ),
        (
            "rendering.link",
            "5.1.2 Link Instance Rendering",
            MUST,
            "A Link renders as Category lines, ActionLinks and attributes (source and target "
            "among them).",
        ),
        (
            "rendering.category",
            "5.2 Category Instance Rendering",
            MUST,
            "Kinds, Mixins and Actions render as Category lines with class kind, mixin or action.",
        ),
        (
            "rendering.action-no-links",
            "5.2.3 Action Instance Rendering",
            MUST,
            "An Action's Category carries no rel, location or actions references.",
        ),
        (
            "rendering.entity-collection",
            "5.3 Entity Collection Rendering",
            MUST,
            "An entity collection renders as X-OCCI-Location lines.",
        ),
        (
            "rendering.category-collection",
            "5.4 Category Collection Rendering",
            MUST,
            "The query interface renders as Category lines.",
        ),
        (
            "rendering.entity-attribute-names",
            "5.5.1 Entity Attribute Rendering",
            MUST,
            "Entity attributes use the names occi.core.id, occi.core.title, occi.core.summary, "
            "occi.core.source and occi.core.target.",
        ),
        (
            "rendering.mixin-rel",
            "5.5.2 Mixin Attribute Rendering",
            MUST,
            "A Mixin's rel carries only its first depends value: at most one type identifier.",
        ),
        (
            "plain.media-types",
            "6 OCCI Text Plain Rendering",
            MUST,
            "The plain rendering answers to both text/plain and text/occi+plain.",
        ),
        (
            "plain.body",
            "6 OCCI Text Plain Rendering",
            MUST,
            "In text/plain every body line is a name, a colon and the field value.",
        ),
        (
            "header.in-headers",
            "7 OCCI Header Rendering",
            MUST,
            "In text/occi the rendering is placed in HTTP headers.",
        ),
        (
            "header.body-ok",
            "7 OCCI Header Rendering",
            MUST,
            "In text/occi the body of a successful response is the string OK.",
        ),
        (
            "header.multiple-values",
            "7 OCCI Header Rendering",
            MUST,
            "The server understands repeated header fields and comma-separated lists alike.",
        ),
        (
            "header.comma-separated",
            "7 OCCI Header Rendering",
            SHOULD,
            "Multiple values are sent as one comma-separated header (recommended).",
        ),
        (
            "header.no-truncation",
            "7 OCCI Header Rendering",
            MUST,
            "Implementations take care that header data is never truncated.",
            "A property of the implementation's limits, not observable without knowing them.",
        ),
        (
            "uri-list.non-listing-400",
            "8 URI Listing Rendering",
            MUST,
            "Asking for text/uri-list on something that is not a listing is 400 Bad Request.",
        ),
        (
            "uri-list.listing",
            "8 URI Listing Rendering",
            MUST,
            "A collection asked for as text/uri-list is an RFC 2483 list of URIs.",
        ),
    ],
)
