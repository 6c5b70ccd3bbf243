"""Render -> parse -> equal, for arbitrary documents in every OCCI format.

Each text format carries less than the model (occi.md §4.2, §10 items 7-8):
:func:`text_view` and :func:`json_view` state exactly what is lost, and
everything else must come back with the same types (``True`` is not ``1``).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from unit.occi.strategies import (
    BASE_URL,
    category_collections,
    collections,
    entities,
    invocations,
    json_values,
    json_view,
    occi_settings,
    resources,
    text_view,
    typed,
)

from occi.model import EntityCollection, Locations
from occi.parsing import Message, parser_for
from occi.rendering import render, wsgi_headers

TEXT_TYPES = ("text/plain", "text/occi+plain", "text/occi")
JSON_TYPES = ("application/occi+json", "application/json")
base_urls = st.sampled_from([None, BASE_URL, BASE_URL + "/"])


def _message(media_type: str, document: object, base_url: str | None) -> Message:
    """What a client would send back: the rendering as body and headers."""
    rendered = render(media_type, document, base_url)
    return Message(body=rendered.body.encode("utf-8"), headers=rendered.headers, base_url=base_url)


@occi_settings
@given(entities(), st.sampled_from(TEXT_TYPES), base_urls)
def test_entities_round_trip_in_text(entity, media_type, base_url):
    parsed = parser_for(media_type).entity(_message(media_type, entity, base_url))
    assert typed(parsed) == typed(text_view(entity))


@occi_settings
@given(entities(json_values), st.sampled_from(JSON_TYPES), base_urls)
def test_entities_round_trip_in_json(entity, media_type, base_url):
    parsed = parser_for(media_type).entity(_message(media_type, entity, base_url))
    assert typed(parsed) == typed(json_view(entity))


@occi_settings
@given(entities(), st.sampled_from(TEXT_TYPES))
def test_text_creation_carries_one_entity(entity, media_type):
    parsed = parser_for(media_type).entities(_message(media_type, entity, BASE_URL))
    assert typed(parsed) == typed(EntityCollection.of((text_view(entity),)))


@occi_settings
@given(collections(json_values), st.sampled_from(JSON_TYPES), base_urls)
def test_collections_round_trip_in_json(collection, media_type, base_url):
    parsed = parser_for(media_type).entities(_message(media_type, collection, base_url))
    assert typed(parsed) == typed(json_view(collection))


@occi_settings
@given(collections(), st.sampled_from(TEXT_TYPES), base_urls)
def test_collections_are_locations_in_text(collection, media_type, base_url):
    # GFD.229 entity_collection_rendering = *( Location CRLF ).
    parsed = parser_for(media_type).locations(_message(media_type, collection, base_url))
    assert parsed == Locations(tuple(e.location for e in collection.entities))


@occi_settings
@given(
    st.lists(st.sampled_from(["/compute/1", "/storage/x", "https://other.example/a"]))
    .map(tuple)
    .map(Locations),
    st.sampled_from(TEXT_TYPES + JSON_TYPES),
    base_urls,
)
def test_locations_round_trip(locations, media_type, base_url):
    assert parser_for(media_type).locations(_message(media_type, locations, base_url)) == locations


@occi_settings
@given(invocations, st.sampled_from(TEXT_TYPES + JSON_TYPES))
def test_action_invocations_round_trip(invocation, media_type):
    parsed = parser_for(media_type).action(_message(media_type, invocation, BASE_URL))
    assert typed(parsed) == typed(invocation)


@occi_settings
@given(category_collections, st.sampled_from(TEXT_TYPES), base_urls)
def test_categories_round_trip_in_text(definitions, media_type, base_url):
    parsed = parser_for(media_type).categories(_message(media_type, definitions, base_url))
    assert typed(parsed) == typed(text_view(definitions))


@occi_settings
@given(category_collections, st.sampled_from(JSON_TYPES), base_urls)
def test_categories_round_trip_in_json(definitions, media_type, base_url):
    parsed = parser_for(media_type).categories(_message(media_type, definitions, base_url))
    # JSON groups categories by class (kinds, mixins, actions).
    order = {"kind": 0, "mixin": 1, "action": 2}
    expected = json_view(definitions)
    expected_sorted = sorted(expected.categories, key=lambda c: order[c.cls])
    assert typed(parsed.categories) == typed(expected_sorted)


@occi_settings
@given(resources())
def test_text_occi_and_text_plain_carry_the_same_lines(entity):
    # GFD.229 §3.2: text/plain is the header rendering moved into the body, one
    # line per header, separated by LF (docs/occi.rst, "Robustness choices").
    headers = render("text/occi", entity, BASE_URL).headers
    body = render("text/plain", entity, BASE_URL).body
    assert body == "\n".join(f"{name}: {value}" for name, value in headers)


@occi_settings
@given(entities())
def test_text_occi_round_trips_through_wsgi_headers(entity):
    # PEP 3333 headers are latin-1 text holding UTF-8 bytes (occi.rendering.wsgi_headers).
    rendered = render("text/occi", entity, BASE_URL)
    message = Message.from_wsgi(wsgi_headers(rendered.headers), base_url=BASE_URL)
    assert typed(parser_for("text/occi").entity(message)) == typed(text_view(entity))
