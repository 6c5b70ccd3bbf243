"""The renderers: ABNF order, quoting, entity layout, absolute URLs, media-type table."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.occi.strategies import category_definitions, occi_settings, texts

from occi.categories import core_registry, infrastructure_registry
from occi.model import (
    ActionInvocation,
    CategoryDefinition,
    EntityCollection,
    EntityRendering,
    LinkRendering,
    Locations,
)
from occi.parsing.lexer import parse_value, read_quoted
from occi.rendering import MEDIA_TYPES, NotAListing, render, wsgi_headers
from occi.rendering.headers import category_value, render_headers
from occi.rendering.json import render_json
from occi.rendering.values import attribute_value, quote

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
ACTIONS = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
BASE = "http://cloud.example.org/occi"
ABNF_ORDER = ("scheme", "class", "title", "rel", "location", "attributes", "actions")

# The query interface's text rendering of OCCI Core, as GET /-/ has served it
# since the first version (tests/functional/test_edge.py depends on it).
CORE_LINES = [
    'entity; scheme="http://schemas.ogf.org/occi/core#"; class="kind"; title="Entity"; '
    'attributes="occi.core.id{immutable} occi.core.title"',
    'resource; scheme="http://schemas.ogf.org/occi/core#"; class="kind"; title="Resource"; '
    'rel="http://schemas.ogf.org/occi/core#entity"; location="/resource/"; '
    'attributes="occi.core.id{immutable} occi.core.title occi.core.summary"',
    'link; scheme="http://schemas.ogf.org/occi/core#"; class="kind"; title="Link"; '
    'rel="http://schemas.ogf.org/occi/core#entity"; location="/link/"; '
    'attributes="occi.core.id{immutable} occi.core.title occi.core.source{required} '
    'occi.core.target{required} occi.core.target.kind occi.core.source.kind"',
]


def test_core_categories_render_as_before():
    assert [value for _, value in render_headers(core_registry().definitions())] == CORE_LINES


def _parameter_names(value: str) -> list[str]:
    # Parameter names in order; quoted values are skipped so their ';' cannot confuse.
    without_quotes = re.sub(r'"(?:[^"\\]|\\.)*"', '""', value)
    return [part.split("=", 1)[0].strip() for part in without_quotes.split(";")[1:]]


def test_every_registered_category_follows_the_abnf_order():
    for category in infrastructure_registry():
        names = _parameter_names(category_value(category))
        assert names == [n for n in ABNF_ORDER if n in names], category.type_id
        assert names[:2] == ["scheme", "class"]


@occi_settings
@given(category_definitions())
def test_any_category_follows_the_abnf_order(definition):
    names = _parameter_names(category_value(definition))
    assert names == [n for n in ABNF_ORDER if n in names]


def test_compute_kind_rendering():
    compute = infrastructure_registry().get(INFRA + "compute")
    assert compute is not None
    value = category_value(compute)
    assert value.startswith(
        'compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"; '
        'title="Compute Resource"; rel="http://schemas.ogf.org/occi/core#resource"; '
        'location="/compute/"; attributes="occi.core.id{immutable} occi.core.title '
        "occi.core.summary occi.compute.architecture occi.compute.cores"
    )
    assert "occi.compute.state{immutable} occi.compute.state.message{immutable}" in value
    assert value.endswith(
        f'actions="{ACTIONS}start {ACTIONS}stop {ACTIONS}restart {ACTIONS}suspend {ACTIONS}save"'
    )


def test_a_mixin_renders_only_its_first_depends():
    mixin = CategoryDefinition(
        term="m",
        scheme="http://p/occi/os_tpl#",
        cls="mixin",
        depends=(INFRA + "os_tpl", "http://p#other"),
        applies=(INFRA + "compute",),
        location="/mixin/os_tpl/m/",
    )
    assert category_value(mixin) == (
        'm; scheme="http://p/occi/os_tpl#"; class="mixin"; '
        f'rel="{INFRA}os_tpl"; location="/mixin/os_tpl/m/"'
    )


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("a, b; c=d", '"a, b; c=d"'),
        ("two\r\nlines\ttab", '"two\\r\\nlines\\ttab"'),
        ("nul\x00del\x7f", '"nul\\u0000del\\u007f"'),
        ("caf\u00e9 \u2603 \U0001f600", '"caf\u00e9 \u2603 \U0001f600"'),
        ("", '""'),
    ],
)
def test_quoting(text, quoted):
    assert quote(text) == quoted
    assert read_quoted(quoted, 0) == (text, len(quoted))


@given(texts)
def test_quoted_strings_fit_on_one_header_line_and_read_back(text):
    quoted = quote(text)
    assert not re.search(r"[\x00-\x1f\x7f]", quoted)
    assert read_quoted(quoted, 0) == (text, len(quoted))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-7, "-7"),
        (2.0, "2.0"),
        (0.1, "0.1"),
        (1e16, "10000000000000000.0"),
        (1e-7, "0.0000001"),
        (-0.0, "-0.0"),
        ("2", '"2"'),
        ([1, "a"], '"[1,\\"a\\"]"'),
        ({"k": None}, '"{\\"k\\":null}"'),
    ],
)
def test_attribute_values(value, text):
    assert attribute_value(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_render_in_abnf_float_syntax_and_read_back(number):
    text = attribute_value(number)
    assert re.fullmatch(r"-?[0-9]+\.[0-9]+", text)
    assert parse_value(text) == number


def test_a_resource_in_text():
    entity = EntityRendering(
        kind=INFRA + "compute",
        mixins=("http://p/occi/os_tpl#debian",),
        attributes={"occi.core.id": "urn:uuid:1", "occi.compute.cores": 2},
        links=(
            LinkRendering(
                target="/storage/1",
                kind=INFRA + "storagelink",
                attributes={"occi.storagelink.deviceid": "/dev/vda"},
                location="/storagelink/1",
                target_kind=INFRA + "storage",
                source="/compute/1",
            ),
        ),
        actions=(ACTIONS + "stop",),
        location="/compute/1",
    )
    assert render("text/plain", entity, BASE).body == (
        'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
        'Category: debian; scheme="http://p/occi/os_tpl#"; class="mixin"\n'
        f'Link: <{BASE}/storage/1>; rel="{INFRA}storage"; self="{BASE}/storagelink/1"; '
        f'category="{INFRA}storagelink"; occi.core.source="{BASE}/compute/1"; '
        f'occi.core.target="{BASE}/storage/1"; occi.core.target.kind="{INFRA}storage"; '
        'occi.storagelink.deviceid="/dev/vda"\n'
        f'Link: <{BASE}/compute/1?action=stop>; rel="{ACTIONS}stop"\n'
        'X-OCCI-Attribute: occi.core.id="urn:uuid:1"\n'
        "X-OCCI-Attribute: occi.compute.cores=2"
    )


def test_a_link_in_text_carries_its_endpoints_as_attributes():
    link = LinkRendering(
        target="/network/2",
        kind=INFRA + "networkinterface",
        source="/compute/1",
        target_kind=INFRA + "network",
        location="/networkinterface/3",
    )
    assert [value for name, value in render_headers(link, BASE) if name == "X-OCCI-Attribute"] == [
        f'occi.core.source="{BASE}/compute/1"',
        f'occi.core.target="{BASE}/network/2"',
        f'occi.core.target.kind="{INFRA}network"',
    ]


def test_an_unknown_target_kind_is_rendered_as_resource():
    # GFD.229 requires rel; core#resource is what a link target is at least.
    ((_, value),) = render_headers(EntityRendering(links=(LinkRendering(target="/x/1"),)))
    assert (
        value == '</x/1>; rel="http://schemas.ogf.org/occi/core#resource"; occi.core.target="/x/1"'
    )


def test_collections_and_locations():
    collection = EntityCollection(
        resources=(EntityRendering(location="/compute/1"),),
        links=(LinkRendering(target="/n/1", location="/link/2"),),
    )
    assert render_headers(collection, BASE) == [
        ("X-OCCI-Location", f"{BASE}/compute/1"),
        ("X-OCCI-Location", f"{BASE}/link/2"),
    ]
    assert render("text/uri-list", collection, BASE).body == (
        f"{BASE}/compute/1\r\n{BASE}/link/2\r\n"
    )
    assert render("text/uri-list", Locations(("https://elsewhere.example/x",)), BASE).body == (
        "https://elsewhere.example/x\r\n"
    )
    assert render_json(Locations(("/a",)), BASE) == [f"{BASE}/a"]
    assert render_json(EntityCollection()) == {"resources": []}


def test_uri_list_is_for_listings_only():
    with pytest.raises(NotAListing):
        render("text/uri-list", EntityRendering())
    with pytest.raises(ValueError, match="needs a location"):
        render("text/uri-list", EntityCollection(resources=(EntityRendering(),)))


def test_text_occi_puts_everything_in_headers():
    rendered = render("text/occi", ActionInvocation(ACTIONS + "stop", {"method": "graceful"}))
    assert rendered.body == "OK"
    assert rendered.headers == (
        ("Category", f'stop; scheme="{ACTIONS}"; class="action"'),
        ("X-OCCI-Attribute", 'method="graceful"'),
    )


def test_json_entity_members():
    data = render_json(
        EntityRendering(
            kind=INFRA + "compute",
            attributes={
                "occi.core.id": "urn:uuid:1",
                "occi.core.title": "web",
                "occi.core.summary": "s",
            },
        )
    )
    assert data == {
        "kind": INFRA + "compute",
        "id": "urn:uuid:1",
        "title": "web",
        "summary": "s",
        "attributes": {
            "occi.core.id": "urn:uuid:1",
            "occi.core.title": "web",
            "occi.core.summary": "s",
        },
    }


def test_media_type_table():
    assert set(MEDIA_TYPES) == {
        "text/occi",
        "text/plain",
        "text/occi+plain",
        "text/uri-list",
        "application/occi+json",
        "application/json",
    }
    assert render("application/json", Locations()).content_type == "application/json"
    with pytest.raises(KeyError):
        render("application/xml", Locations())


def test_unknown_documents_are_type_errors():
    with pytest.raises(TypeError):
        render_headers(object())
    with pytest.raises(TypeError):
        render_json(object())


def test_wsgi_headers_carry_utf8_bytes():
    ((_name, value),) = wsgi_headers([("X-OCCI-Attribute", 'a="caf\u00e9"')])
    assert value.encode("latin-1") == 'a="caf\u00e9"'.encode()


def test_category_titles_with_separators_and_unicode_round_trip():
    from occi.parsing import Message, PlainParser

    title = 'Caf\u00e9 \u2603, "quoted"; back\\slash = \U0001f600'
    definition = CategoryDefinition(
        term="t", scheme="http://p#", cls="mixin", title=title, location="/t/"
    )
    body = render("text/plain", definition).body
    assert body == (
        'Category: t; scheme="http://p#"; class="mixin"; '
        'title="Caf\u00e9 \u2603, \\"quoted\\"; back\\\\slash = \U0001f600"; '
        'location="/t/"'
    )
    parsed = PlainParser().categories(Message(body=body.encode()))
    assert parsed.categories == (definition,)
