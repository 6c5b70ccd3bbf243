"""The unchecked constructor of server-built entities makes what the checked one makes.

:func:`occi.model.trusted` skips the attribute checks for entities the
server renders from its own rows (issue 15); for every entity the checked
constructor accepts, it builds an equal one, and both render the same text
and JSON.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from hypothesis import given
from unit.occi.strategies import links, occi_settings, resources

from occi.model import EntityRendering, LinkRendering, trusted
from occi.rendering import render


def _values(entity: Any) -> dict[str, Any]:
    return {spec.name: getattr(entity, spec.name) for spec in fields(entity)}


def _same_renderings(one: Any, other: Any) -> None:
    for media in ("text/plain", "text/occi", "application/occi+json"):
        assert render(media, one, "http://h.test") == render(media, other, "http://h.test")


@occi_settings
@given(resources())
def test_a_trusted_resource_equals_the_checked_one(resource: EntityRendering) -> None:
    built = trusted(EntityRendering, **_values(resource))
    assert built == resource
    assert type(built.attributes) is type(resource.attributes)
    _same_renderings(built, resource)


@occi_settings
@given(links(standalone=True))
def test_a_trusted_link_equals_the_checked_one(link: LinkRendering) -> None:
    built = trusted(LinkRendering, **_values(link))
    assert built == link
    _same_renderings(built, link)


def test_defaults_are_the_constructors() -> None:
    assert trusted(EntityRendering) == EntityRendering()
    assert trusted(LinkRendering, target="/storage/1") == LinkRendering(target="/storage/1")
