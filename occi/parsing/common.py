"""What the text and JSON parsers share once the syntax is read: building neutral entities.

Both renderings say the same things in different places: a link's source and
target are ``occi.core.source``/``occi.core.target`` attributes in text and
``source``/``target`` members in JSON; ``id``/``title``/``summary`` are JSON
members and ``occi.core.*`` attributes. These helpers merge the two forms,
refuse contradictions and turn model errors into :class:`ParseError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from occi.model import (
    SOURCE,
    SOURCE_KIND,
    TARGET,
    TARGET_KIND,
    AttributeValue,
    CategoryDefinition,
    EntityRendering,
    LinkRendering,
    relative,
)
from occi.parsing.errors import ParseError

T = TypeVar("T")

#: Attributes that are a link's endpoints (GFD.229 §3.1.2 attribute mapping).
ENDPOINT_NAMES = (SOURCE, TARGET, SOURCE_KIND, TARGET_KIND)


def merge(attributes: dict[str, AttributeValue], name: str, value: object, where: str) -> None:
    """Put ``value`` under ``name`` unless absent; a different value already there is an error."""
    if value is None:
        return
    if name in attributes and attributes[name] != value:
        raise ParseError(f"{name} is given twice with different values", where)
    attributes[name] = value  # type: ignore[assignment]


@dataclass
class Endpoints:
    """A link's source and target, from whichever form the rendering used."""

    target: str | None = None
    target_kind: str | None = None
    source: str | None = None
    source_kind: str | None = None

    def agree(self, field_name: str, value: str | None, where: str) -> None:
        """Set a field, or check that it already holds the same value."""
        if value is None:
            return
        current = getattr(self, field_name)
        if current is not None and current != value:
            raise ParseError(
                f"the link's {field_name.replace('_', ' ')} is given twice with different values",
                where,
            )
        setattr(self, field_name, value)


def pop_endpoints(
    attributes: dict[str, AttributeValue], endpoints: Endpoints, base_url: str | None, where: str
) -> bool:
    """Move endpoint attributes out of ``attributes`` into ``endpoints``.

    :returns: whether any endpoint attribute was there (the entity is a Link).
    """
    found = False
    for name, field_name in (
        (SOURCE, "source"),
        (TARGET, "target"),
        (SOURCE_KIND, "source_kind"),
        (TARGET_KIND, "target_kind"),
    ):
        if name not in attributes:
            continue
        found = True
        value = attributes.pop(name)
        if not isinstance(value, str) or not value:
            raise ParseError(f"{name} must be a non-empty string", where)
        if name in (SOURCE, TARGET):
            value = relative(base_url, value)
        endpoints.agree(field_name, value, where)
    return found


def build(where: str, factory: Callable[[], T]) -> T:
    """Call a model constructor; its ValueError becomes a located ParseError."""
    try:
        return factory()
    except ValueError as exc:
        raise ParseError(str(exc), where) from None


#: The URI schemes of a Category's scheme: GFD.221's are http URIs, and a
#: client's Mixin is rendered to every client that lists its categories.
CATEGORY_URI_SCHEMES = ("http", "https")


def checked_definition(definition: CategoryDefinition, where: str) -> CategoryDefinition:
    """A Category rendering (``POST /-/`` and the like) whose scheme and location are safe.

    Both renderings' parsers pass every definition through here:

    * the scheme is an ``http`` or ``https`` URI with a host, never
      ``javascript:``, ``data:`` or ``file:``, which a client rendering the
      query interface as links would follow;
    * the location has no ``.`` or ``..`` segment, percent-encoded or not: a
      client or cache removes them (RFC 3986 §5.2.4), so the collection would
      be reached at another path, perhaps another collection's.

    :raises ParseError: with what is wrong.
    """
    scheme = definition.scheme
    try:
        parts = urlsplit(scheme)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme.lower() not in CATEGORY_URI_SCHEMES or not parts.hostname:
        raise ParseError(
            f"a Category's scheme is an http or https URI with a host, such as "
            f"http://example.org/tags#, not {scheme[:200]!r}",
            where,
        )
    location = definition.location
    if location is not None:
        segments = urlsplit(location).path.split("/")
        if any(unquote(segment) in (".", "..") for segment in segments):
            raise ParseError(
                f"a Category's location has no '.' or '..' segments: {location[:200]!r}", where
            )
    return definition


def make_link(
    *,
    endpoints: Endpoints,
    kind: str | None,
    mixins: tuple[str, ...],
    attributes: dict[str, AttributeValue],
    actions: tuple[str, ...],
    location: str | None,
    where: str,
) -> LinkRendering:
    """A :class:`LinkRendering`; a link without a target is an error."""
    target = endpoints.target
    if target is None:
        raise ParseError(f"a link needs a target ({TARGET})", where)
    return build(
        where,
        lambda: LinkRendering(
            target=target,
            kind=kind,
            mixins=mixins,
            attributes=attributes,
            actions=actions,
            location=location,
            target_kind=endpoints.target_kind,
            source=endpoints.source,
            source_kind=endpoints.source_kind,
        ),
    )


def make_resource(
    *,
    kind: str | None,
    mixins: tuple[str, ...],
    attributes: dict[str, AttributeValue],
    links: tuple[LinkRendering, ...],
    actions: tuple[str, ...],
    location: str | None,
    where: str,
) -> EntityRendering:
    """An :class:`EntityRendering`, model errors located at ``where``."""
    return build(
        where,
        lambda: EntityRendering(
            kind=kind,
            mixins=mixins,
            attributes=attributes,
            links=links,
            actions=actions,
            location=location,
        ),
    )
