"""The neutral structures: invariants, type identifiers and URL conventions."""

from __future__ import annotations

import pytest

from occi.model import (
    ActionInvocation,
    AttributeDefinition,
    CategoryDefinition,
    CategoryRef,
    EntityCollection,
    EntityRendering,
    LinkRendering,
    absolute,
    relative,
    split_type_id,
)

BASE = "http://cloud.example.org:8787/occi"


@pytest.mark.parametrize(
    ("type_id", "parts"),
    [
        (
            "http://schemas.ogf.org/occi/infrastructure#compute",
            ("http://schemas.ogf.org/occi/infrastructure#", "compute"),
        ),
        ("http://example.com/a/b/term", ("http://example.com/a/b/", "term")),
        ("urn:x#y#z", ("urn:x#y#", "z")),
        ("term", ("", "term")),
    ],
)
def test_split_type_id(type_id, parts):
    assert split_type_id(type_id) == parts
    assert CategoryRef.from_type_id(type_id, "kind").type_id == type_id


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("/compute/1", BASE + "/compute/1"),
        ("/compute/1?action=stop", BASE + "/compute/1?action=stop"),
        ("https://elsewhere.example/x", "https://elsewhere.example/x"),
        ("urn:uuid:1", "urn:uuid:1"),
    ],
)
def test_absolute_and_relative_are_inverse(path, url):
    assert absolute(BASE, path) == url
    assert absolute(BASE + "/", path) == url
    assert relative(BASE, url) == path
    assert absolute(None, path) == path


@pytest.mark.parametrize(
    "url",
    [
        "http://cloud.example.org:8787/occix/compute/1",  # a sibling path is not under the base
        "http://other.example:8787/occi/compute/1",
        "http://[::1/broken",
    ],
)
def test_relative_leaves_foreign_urls_alone(url):
    assert relative(BASE, url) == url


def test_relative_ignores_case_of_scheme_and_host():
    assert relative(BASE, "HTTP://Cloud.Example.ORG:8787/occi/storage/2") == "/storage/2"
    assert relative(BASE, BASE) == "/"


def test_structures_are_frozen_and_normalised():
    entity = EntityRendering(mixins=["a#b"], attributes={"x": 1})
    assert entity.mixins == ("a#b",)
    with pytest.raises(TypeError):
        entity.attributes["y"] = 2  # type: ignore[index]
    with pytest.raises(AttributeError):
        entity.kind = "k#k"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: EntityRendering(attributes={"occi.core.target": "/x"}), "no source or target"),
        (lambda: LinkRendering("/x", attributes={"occi.core.source": "/y"}), "belong in fields"),
        (lambda: EntityRendering(attributes={"bad name": 1}), "invalid attribute name"),
        (lambda: ActionInvocation("a#b", {"x": float("nan")}), "not a finite number"),
        (lambda: ActionInvocation("a#b", {"x": "\ud800"}), "not valid Unicode"),
        (lambda: ActionInvocation("a#b", {"x": object()}), "not an OCCI attribute value"),
        (lambda: ActionInvocation("a#b", {"x": {1: 2}}), "keys must be strings"),
        (lambda: CategoryDefinition("t", "s#", "tag"), "category class"),
        (lambda: AttributeDefinition("a", default=float("inf")), "not a finite number"),
    ],
)
def test_invalid_structures(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_collections_sort_resources_from_links():
    resource, link = EntityRendering(kind="k#r"), LinkRendering("/x")
    collection = EntityCollection.of([link, resource])
    assert (collection.resources, collection.links) == ((resource,), (link,))
    assert collection.entities == (resource, link)
