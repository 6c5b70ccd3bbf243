"""The JSON Schemas (schemas/occi) load, and every JSON rendering is valid against them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from jsonschema import Draft202012Validator
from unit.occi.strategies import (
    BASE_URL,
    category_collections,
    collections,
    entities,
    invocations,
    json_values,
    links,
    occi_settings,
    resources,
)

from occi.categories import infrastructure_registry, os_template, resource_template
from occi.model import Locations
from occi.rendering.json import render_json
from occi.schemas import SCHEMA_DIR, SCHEMAS, first_error, is_valid, validator


def assert_valid(name: str, instance: object) -> None:
    error = first_error(name, instance)
    assert error is None, f"{name}: {error.message} at {list(error.absolute_path)}"


def test_every_schema_file_is_listed_and_valid():
    names = {path.stem for path in SCHEMA_DIR.glob("*.json")} - {"common"}
    assert names == set(SCHEMAS)
    for path in SCHEMA_DIR.glob("*.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_validators_are_compiled_once():
    assert validator("entity") is validator("entity")


def test_an_unknown_schema_is_a_key_error():
    with pytest.raises(KeyError):
        validator("nothing")


def test_the_query_interface_renders_valid_json():
    registry = infrastructure_registry()
    registry.add(os_template("debian9", provider="cloud.example.org", title="Debian 9"))
    registry.add(
        resource_template(
            "small",
            provider="cloud.example.org",
            defaults={"occi.compute.cores": 1, "occi.compute.memory": 1.0},
        )
    )
    model = render_json(registry.definitions())
    assert_valid("category-collection", model)
    # GFD.226 §4.1: every Kind but Entity's has a location; §4.2: every Mixin has one.
    for kind in model["kinds"]:
        assert ("location" in kind) == (kind["term"] != "entity")
    assert all("location" in mixin for mixin in model["mixins"])
    for category in registry:
        schema = category.category_class
        assert_valid(schema, render_json(category))


@occi_settings
@given(resources(json_values))
def test_resources_render_valid_json(resource):
    data = render_json(resource, BASE_URL)
    assert_valid("resource", data)
    assert_valid("entity", data)


@occi_settings
@given(links(json_values, standalone=True))
def test_links_render_valid_json(link):
    data = render_json(link, BASE_URL)
    assert_valid("link", data)
    assert_valid("entity", data)


@occi_settings
@given(collections(json_values))
def test_collections_render_valid_json(collection):
    data = render_json(collection, BASE_URL)
    assert_valid("entity-collection", data)
    assert_valid("entities", data)


@occi_settings
@given(invocations)
def test_action_invocations_render_valid_json(invocation):
    assert_valid("action-invocation", render_json(invocation))


@occi_settings
@given(category_collections)
def test_categories_render_valid_json(definitions):
    assert_valid("category-collection", render_json(definitions))


def test_locations_render_valid_json():
    assert_valid("locations", render_json(Locations(("/compute/1", "/storage/2")), BASE_URL))


@occi_settings
@given(entities(json_values))
def test_resource_and_link_schemas_exclude_each_other(entity):
    data = render_json(entity, BASE_URL)
    assert is_valid("resource", data) != is_valid("link", data)


@pytest.mark.parametrize(
    ("name", "instance", "message"),
    [
        ("resource", {"kind": "http://a#b", "attributs": {}}, "Additional properties"),
        ("resource", {"kind": "not a type id"}, "does not match"),
        ("resource", {"attributes": {"bad name": 1}}, "does not match"),
        ("link", {"kind": "http://a#b"}, "'target' is a required property"),
        ("link", {"target": {"kind": "http://a#b"}}, "'location' is a required property"),
        ("action-invocation", {"attributes": {}}, "'action' is a required property"),
        ("kind", {"term": "-x", "scheme": "http://a#"}, "does not match"),
        (
            "mixin",
            {"term": "x", "scheme": "http://a#", "depends": ["http://a#y", "http://a#y"]},
            "non-unique",
        ),
        (
            "kind",
            {
                "term": "x",
                "scheme": "http://a#",
                "attributes": {"a": {"type": "number", "default": "2"}},
            },
            "is not of type",
        ),
        (
            "kind",
            {"term": "x", "scheme": "http://a#", "attributes": {"a": {"type": "int"}}},
            "is not one of",
        ),
        ("category-collection", {"resources": []}, "Additional properties"),
        ("entity-collection", {}, "should be non-empty"),
        ("locations", ["/a", "has space"], "does not match"),
    ],
)
def test_schemas_reject(name, instance, message):
    error = first_error(name, instance)
    assert error is not None
    assert message in error.message
