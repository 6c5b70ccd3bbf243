"""Hypothesis strategies for the neutral OCCI structures, and format-aware comparisons.

Imported as ``unit.occi.strategies`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from occi.model import (
    SOURCE,
    SOURCE_KIND,
    TARGET,
    TARGET_KIND,
    ActionInvocation,
    AttributeDefinition,
    CategoryDefinition,
    CategoryDefinitions,
    EntityCollection,
    EntityRendering,
    LinkRendering,
)

BASE_URL = "http://cloud.example.org:8787/occi"

#: Rich documents take tens of milliseconds to draw on a small CI machine:
#: no per-example deadline (it made runs flaky), no "too slow" health check.
occi_settings = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

ENDPOINTS = {SOURCE, TARGET, SOURCE_KIND, TARGET_KIND}
# GFD.229 link-value parameters: an inline link's attributes cannot use these names.
LINK_PARAMETERS = {"rel", "self", "category"}

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"


def _words(first: str, rest: str, max_size: int) -> st.SearchStrategy[str]:
    return st.builds(
        lambda a, b: a + b,
        st.sampled_from(first),
        st.text(st.sampled_from(rest), max_size=max_size),
    )


# GFD.229 term and attribute-name: ( ALPHA | DIGIT ) *( ALPHA | DIGIT | "-" | "_" | "." ).
terms = _words(_ALNUM, _ALNUM + "._-", 10)
hosts = _words(_LOWER, _LOWER + ".-", 12)
scheme_paths = st.sampled_from(["", "/occi", "/occi/infrastructure/compute/action", "/a_b.c"])
schemes = st.builds(lambda host, path: f"http://{host}{path}#", hosts, scheme_paths)
type_ids = st.builds(lambda scheme, term: scheme + term, schemes, terms)
attribute_names = (
    _words(_ALNUM, _ALNUM + "._-", 14)
    | st.sampled_from(
        [
            "occi.core.id",
            "occi.core.title",
            "occi.core.summary",
            "occi.compute.cores",
            "method",
            "Rel",
        ]
    )
).filter(lambda name: name not in ENDPOINTS)
#: Any Unicode text that can be encoded (no lone surrogates).
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
paths = st.builds(lambda kind, ident: f"/{kind}/{ident}", terms, terms)
external = st.builds(lambda host, path: f"https://{host}{path or '/'}", hosts, scheme_paths)
locations = paths | external

scalars = (
    texts
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)


def attribute_maps(values: st.SearchStrategy[Any] = scalars, names=attribute_names):
    """Attribute dictionaries."""
    return st.dictionaries(names, values, max_size=5)


def unique_ids(max_size: int = 2) -> st.SearchStrategy[tuple[str, ...]]:
    """Distinct type identifiers (JSON arrays of them are ``uniqueItems``)."""
    return st.lists(type_ids, unique=True, max_size=max_size).map(tuple)


@st.composite
def links(draw, values=scalars, standalone=False) -> LinkRendering:
    """A link; inline links avoid attribute names that are link-value parameters."""
    names = (
        attribute_names
        if standalone
        else attribute_names.filter(lambda name: name.lower() not in LINK_PARAMETERS)
    )
    source = draw(st.none() | paths)
    return LinkRendering(
        target=draw(locations),
        kind=draw(type_ids),
        mixins=draw(unique_ids()),
        attributes=draw(attribute_maps(values, names)),
        actions=draw(unique_ids()),
        location=draw(st.none() | paths),
        target_kind=draw(type_ids),
        source=source,
        # JSON has nowhere to put a source's kind without its location.
        source_kind=draw(st.none() | type_ids) if source else None,
    )


@st.composite
def resources(draw, values=scalars) -> EntityRendering:
    """A resource with inline links and actions."""
    return EntityRendering(
        kind=draw(st.none() | type_ids),
        mixins=draw(unique_ids()),
        attributes=draw(attribute_maps(values)),
        links=tuple(draw(st.lists(links(values), max_size=2))),
        actions=draw(unique_ids()),
        location=draw(st.none() | paths),
    )


def entities(values=scalars):
    """Resources and standalone links."""
    return resources(values) | links(values, standalone=True)


@st.composite
def collections(draw, values=scalars) -> EntityCollection:
    """Collections whose members all have locations (text lists locations)."""
    members = draw(st.lists(resources(values), max_size=2))
    link_members = draw(st.lists(links(values, standalone=True), max_size=2))
    return EntityCollection(
        resources=tuple(dataclasses.replace(r, location=draw(paths)) for r in members),
        links=tuple(dataclasses.replace(link, location=draw(paths)) for link in link_members),
    )


invocations = st.builds(ActionInvocation, type_ids, attribute_maps())


def _default_for(json_type: str | None) -> st.SearchStrategy[Any]:
    by_type: dict[str | None, st.SearchStrategy[Any]] = {
        "string": texts,
        "number": st.integers(-1000, 1000) | st.floats(allow_nan=False, allow_infinity=False),
        "boolean": st.booleans(),
        "array": st.lists(scalars, max_size=2),
        "object": st.dictionaries(texts, scalars, max_size=2),
        None: st.nothing(),
    }
    return st.none() | by_type[json_type]


@st.composite
def attribute_definitions(draw) -> AttributeDefinition:
    """Attribute descriptions whose default matches their type (GFD.226 §4.4)."""
    json_type = draw(st.sampled_from(["string", "number", "boolean", "array", "object", None]))
    return AttributeDefinition(
        name=draw(attribute_names),
        type=json_type,
        mutable=draw(st.booleans()),
        required=draw(st.booleans()),
        default=draw(_default_for(json_type)),
        pattern=draw(st.none() | st.just({"type": "string", "pattern": "^[a-z]+$"})),
        description=draw(st.none() | texts),
    )


@st.composite
def category_definitions(draw) -> CategoryDefinition:
    """A Kind, Mixin or Action with the members its class may have."""
    cls = draw(st.sampled_from(["kind", "mixin", "action"]))
    attributes = draw(st.lists(attribute_definitions(), max_size=3, unique_by=lambda a: a.name))
    return CategoryDefinition(
        term=draw(terms),
        scheme=draw(schemes),
        cls=cls,
        title=draw(st.none() | texts),
        parent=draw(st.none() | type_ids) if cls == "kind" else None,
        depends=draw(unique_ids()) if cls == "mixin" else (),
        applies=draw(unique_ids()) if cls == "mixin" else (),
        location=draw(st.none() | paths.map(lambda p: p + "/")) if cls != "action" else None,
        attributes=tuple(attributes),
        actions=draw(unique_ids()) if cls != "action" else (),
    )


category_collections = st.lists(category_definitions(), max_size=4).map(
    lambda items: CategoryDefinitions(tuple(items))
)


# ----------------------------------------------------------------- comparisons


def typed(value: Any) -> Any:
    """A value with its types made visible, so ``True != 1`` and ``1 != 1.0``."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [typed(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            {f.name: typed(getattr(value, f.name)) for f in dataclasses.fields(value)},
        )
    return (type(value).__name__, value)


def text_view(document: Any) -> Any:
    """What the text renderings can carry of a document (occi.md §4.2, §10 items 7, 8)."""
    if isinstance(document, EntityRendering):
        return dataclasses.replace(
            document,
            location=None,
            # an inline link-value has no place for actions (GFD.229 Link ABNF)
            links=tuple(dataclasses.replace(link, actions=()) for link in document.links),
        )
    if isinstance(document, LinkRendering):
        return dataclasses.replace(document, location=None)
    if isinstance(document, CategoryDefinitions):
        return CategoryDefinitions(tuple(text_view(c) for c in document.categories))
    if isinstance(document, CategoryDefinition):
        return dataclasses.replace(
            document,
            depends=document.depends[:1],  # only the first depends (GFD.229 §3.1.1)
            applies=(),
            attributes=tuple(
                AttributeDefinition(a.name, mutable=a.mutable, required=a.required)
                for a in document.attributes
            ),
        )
    return document


def json_view(document: Any) -> Any:
    """What the JSON rendering can carry of a document (GFD.226 has no locations)."""
    if isinstance(document, EntityRendering):
        return dataclasses.replace(
            document, location=None, links=tuple(json_view(link) for link in document.links)
        )
    if isinstance(document, LinkRendering):
        return dataclasses.replace(document, location=None)
    if isinstance(document, EntityCollection):
        return EntityCollection(
            tuple(json_view(r) for r in document.resources),
            tuple(json_view(link) for link in document.links),
        )
    if isinstance(document, CategoryDefinitions):
        return CategoryDefinitions(tuple(json_view(c) for c in document.categories))
    if isinstance(document, CategoryDefinition):
        return dataclasses.replace(
            document,
            attributes=tuple(
                dataclasses.replace(a, type=a.type or "string") for a in document.attributes
            ),
        )
    return document
