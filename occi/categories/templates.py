"""Mixins built from data: provider templates and users' tags.

* Provider templates (GFD.224 §3.5.1, §3.5.2): an OS or resource template is a
  Mixin in the provider's scheme that ``depends`` on ``os_tpl`` or
  ``resource_tpl`` and carries attribute defaults (GFD.221 §3.2.4: a Mixin
  default overrides the Kind default). The engine's catalog feeds them as plain
  mappings (:func:`template_from_data`).
* User tags (GFD.221 §3.6): Mixins without capabilities that a client creates
  through ``POST /-/``, in a per-tenant scheme (RECOMMENDED by GFD.221).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from concord.terms import make_term
from occi.categories.infrastructure import (
    COMPUTE,
    IPNETWORK,
    IPNETWORKINTERFACE,
    KINDS,
    OS_TPL,
    RESOURCE_TPL,
    SSH_KEY,
    USER_DATA,
)
from occi.categories.types import Attribute, AttributeType, Mixin
from occi.model import AttributeValue, CategoryDefinition, check_value

#: GFD.221 §3.1: "the base URL http://schemas.ogf.org/occi/ is reserved".
RESERVED_SCHEME = "http://schemas.ogf.org/occi/"

_VALUE_TYPES: dict[type, AttributeType] = {
    bool: AttributeType.BOOLEAN,
    int: AttributeType.INTEGER,
    float: AttributeType.FLOAT,
    str: AttributeType.STRING,
    list: AttributeType.LIST,
    dict: AttributeType.HASH,
}


def known_attributes() -> dict[str, Attribute]:
    """Every attribute GFD.224 defines on Kinds and Mixins, by name."""
    known: dict[str, Attribute] = {}
    for category in (*KINDS, IPNETWORK, IPNETWORKINTERFACE, SSH_KEY, USER_DATA):
        for attribute in category.rendered_attributes():
            known.setdefault(attribute.name, attribute)
    return known


def provider_scheme(provider: str, name: str) -> str:
    """``<provider>/occi/<name>#``, e.g. ``http://cloud.example.org/occi/os_tpl#``.

    :param provider: the provider's base URL (``http://host``) or host name.
    :raises ValueError: for a scheme under the reserved OGF base (GFD.221 §3.1).
    """
    base = provider if "://" in provider else f"http://{provider}"
    scheme = f"{base.rstrip('/')}/occi/{name}#"
    if scheme.startswith(RESERVED_SCHEME):
        raise ValueError(f"{RESERVED_SCHEME} is reserved for OCCI itself (GFD.221 §3.1)")
    return scheme


def provider_template(
    parent: Mixin,
    term: str,
    *,
    provider: str,
    title: str = "",
    defaults: Mapping[str, AttributeValue] | None = None,
    attributes: Iterable[Attribute] = (),
    applies: Iterable[str] = (COMPUTE.type_id,),
    location: str | None = None,
) -> Mixin:
    """A provider template Mixin that depends on ``parent`` (os_tpl or resource_tpl).

    :param term: the provider's identifier for the template (see :func:`make_term`).
    :param defaults: attribute values the template sets, e.g.
        ``{"occi.compute.cores": 2}``; each becomes an attribute definition (a
        known GFD.224 one, or one typed from the value) with that default.
    :param attributes: definitions for provider attributes not in GFD.224.
    :param location: defaults to ``<parent location><term>/``.
    """
    extra = {attribute.name: attribute for attribute in attributes}
    known = {**known_attributes(), **extra}
    templated = []
    for name, value in (defaults or {}).items():
        check_value(value, name)
        base = known.get(name) or Attribute(
            name, _VALUE_TYPES.get(type(value), AttributeType.STRING)
        )
        templated.append(replace(base, default=value, required=False))
    names = {attribute.name for attribute in templated}
    templated += [attribute for name, attribute in extra.items() if name not in names]
    return Mixin(
        term,
        provider_scheme(provider, parent.term),
        title,
        tuple(templated),
        depends=(parent.type_id,),
        applies=tuple(applies),
        location=location or f"{parent.location}{term}/",
    )


def os_template(term: str, *, provider: str, **options: Any) -> Mixin:
    """An OS template (GFD.224 §3.5.1); see :func:`provider_template` for ``options``."""
    return provider_template(OS_TPL, term, provider=provider, **options)


def resource_template(term: str, *, provider: str, **options: Any) -> Mixin:
    """A resource template (GFD.224 §3.5.2); see :func:`provider_template` for ``options``."""
    return provider_template(RESOURCE_TPL, term, provider=provider, **options)


def template_from_data(parent: Mixin, data: Mapping[str, Any], *, provider: str) -> Mixin:
    """A provider template from a plain mapping, as the engine's catalog provides.

    Keys: ``term`` (or ``id``, passed through :func:`make_term`), ``title``
    (or ``name``), ``attributes`` (defaults by attribute name), ``applies`` and
    ``location`` (optional).

    :raises ValueError: when the data cannot make a valid template.
    """
    raw_term = data.get("term") or data.get("id")
    if not raw_term:
        raise ValueError("a template needs a term or an id")
    options: dict[str, Any] = {
        "title": str(data.get("title") or data.get("name") or ""),
        "defaults": dict(data.get("attributes") or {}),
    }
    if data.get("applies"):
        options["applies"] = tuple(data["applies"])
    if data.get("location"):
        options["location"] = str(data["location"])
    return provider_template(parent, make_term(str(raw_term)), provider=provider, **options)


def tag_scheme(provider: str, tenant: str) -> str:
    """The per-tenant scheme of user tags, ``<provider>/occi/tags/<tenant>#`` (GFD.221 §3.6)."""
    return provider_scheme(provider, f"tags/{quote(tenant, safe='')}")


def tag_mixin(
    term: str,
    *,
    provider: str,
    tenant: str,
    title: str = "",
    scheme: str | None = None,
    location: str | None = None,
    depends: Iterable[str] = (),
    applies: Iterable[str] = (),
) -> Mixin:
    """A user-defined tag: a Mixin with no attributes or actions (GFD.221 §3.2.4).

    :param scheme: the scheme the user chose; defaults to :func:`tag_scheme`.
    :param location: the path the user chose (occi.md §10 item 17); defaults
        to ``/mixin/tags/<tenant>/<term>/`` so tenants never collide.
    :raises ValueError: for an invalid term or a scheme under the OGF base.
    """
    chosen = scheme or tag_scheme(provider, tenant)
    if chosen.startswith(RESERVED_SCHEME):
        raise ValueError(f"{RESERVED_SCHEME} is reserved for OCCI itself (GFD.221 §3.1)")
    path = location or f"/mixin/tags/{quote(tenant, safe='')}/{term}/"
    return Mixin(
        term,
        chosen,
        title,
        depends=tuple(depends),
        applies=tuple(applies),
        location=path,
    )


def tag_from_definition(definition: CategoryDefinition, *, provider: str, tenant: str) -> Mixin:
    """The tag a client asked for in ``POST /-/`` (GFD.223 §3.4.1).

    GFD.185 (1.1) lets clients define tags only: term, scheme, location and
    optionally title and depends; attributes and actions are refused, and the
    location is required (occi.md §10 item 17; erocci answered 500 without it).

    :raises ValueError: when the definition is not a plain mixin with a location.
    """
    if definition.cls != "mixin":
        raise ValueError(f"only mixins can be defined by clients, not a {definition.cls}")
    if not definition.location:
        raise ValueError("a user-defined mixin needs a location")
    if definition.attributes or definition.actions:
        raise ValueError("a user-defined mixin cannot define attributes or actions")
    return tag_mixin(
        definition.term,
        provider=provider,
        tenant=tenant,
        title=definition.title or "",
        scheme=definition.scheme,
        location=definition.location,
        depends=definition.depends,
        applies=definition.applies,
    )
