"""Arbitrary input never makes a parser raise anything but ParseError.

Three kinds of input: random text and bytes; random headers built from the
characters that matter to the grammar; and valid renderings with random edits
(the inputs most likely to reach deep into a parser).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.occi.strategies import BASE_URL, entities, invocations, json_values, occi_settings

from occi.model import (
    ActionInvocation,
    CategoryDefinitions,
    EntityCollection,
    EntityRendering,
    LinkRendering,
    Locations,
)
from occi.parsing import Message, ParseError, parser_for
from occi.rendering import render

METHODS = ("entity", "entities", "action", "locations", "categories")
RESULTS = {
    "entity": (EntityRendering, LinkRendering),
    "entities": (EntityCollection,),
    "action": (ActionInvocation,),
    "locations": (Locations,),
    "categories": (CategoryDefinitions,),
}
MEDIA_TYPES = ("text/occi", "text/plain", "application/occi+json")

# The characters the text grammar and JSON care about, and a few that hurt.
GRAMMAR = '"\\;,=<>{}:[]#?&/ \t\r\n' + "aZ09._-" + "é\u2028\x00\x7f"
grammar_text = st.text(st.sampled_from(GRAMMAR), max_size=60)
header_names = st.sampled_from(
    [
        "Category",
        "Link",
        "X-OCCI-Attribute",
        "X-OCCI-Location",
        "x-occi-category",
        "LOCATION",
        "Host",
        "Content-Type",
        "",
    ]
)
OCCI_LINE_PREFIXES = st.sampled_from(
    ["Category: ", "Link: ", "X-OCCI-Attribute: ", "X-OCCI-Location: ", " ", ""]
)


def _parse(media_type: str, method: str, message: Message) -> None:
    """Call the parser; the only exception allowed out is ParseError."""
    try:
        result = getattr(parser_for(media_type), method)(message)
    except ParseError as exc:
        assert str(exc)  # every error says something
        return
    assert isinstance(result, RESULTS[method])


@occi_settings
@given(
    st.binary(max_size=200) | grammar_text.map(str.encode),
    st.sampled_from(MEDIA_TYPES),
    st.sampled_from(METHODS),
)
def test_any_body(body, media_type, method):
    _parse(media_type, method, Message(body=body, base_url=BASE_URL))


@occi_settings
@given(st.lists(st.tuples(header_names, grammar_text), max_size=6), st.sampled_from(METHODS))
def test_any_headers(headers, method):
    _parse("text/occi", method, Message(headers=tuple(headers), base_url=BASE_URL))


@occi_settings
@given(
    st.lists(st.tuples(OCCI_LINE_PREFIXES, grammar_text), max_size=6).map(
        lambda lines: "\r\n".join(p + v for p, v in lines)
    ),
    st.sampled_from(METHODS),
)
def test_any_plain_lines(body, method):
    _parse("text/plain", method, Message(body=body, base_url=BASE_URL))


@occi_settings
@given(json_values, st.sampled_from(METHODS))
def test_any_json_value(value, method):
    body = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    _parse("application/occi+json", method, Message(body=body, base_url=BASE_URL))


def _mutate(text: str, edits: list[tuple[int, int, str]]) -> str:
    for position, length, insert in edits:
        at = position % (len(text) + 1)
        text = text[:at] + insert + text[at + length :]
    return text


edits = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 4), grammar_text), max_size=4)


@occi_settings
@given(entities() | invocations, st.sampled_from(MEDIA_TYPES), edits, st.sampled_from(METHODS))
def test_mutated_renderings(document, media_type, changes, method):
    rendered = render(media_type, document, BASE_URL)
    if media_type == "text/occi":
        headers = tuple((name, _mutate(value, changes)) for name, value in rendered.headers)
        message = Message(headers=headers, base_url=BASE_URL)
    else:
        message = Message(
            body=_mutate(rendered.body, changes).encode("utf-8", "surrogatepass"), base_url=BASE_URL
        )
    _parse(media_type, method, message)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"attributes": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        b'{"action": "http://a#b", "attributes": {"x": 1e999}}',
        b'{"action": "http://a#b", "attributes": {"x": NaN}}',
        b'{"action": "http://a#b", "attributes": {"x": ' + b"9" * 5000 + b"}}",
        b'{"action": "http://a#b", "action": "http://a#c"}',
        b'{"action": "http://a#b", "attributes": {"x": "\\ud800"}}',
        b"\xff\xfe{}",
    ],
)
def test_hostile_json(body):
    for method in METHODS:
        _parse("application/occi+json", method, Message(body=body))


@pytest.mark.parametrize(
    "value",
    [
        '"' * 10_001,
        "<" * 10_000,
        'a; scheme="' + "\\" * 10_001,
        "x=" + "9" * 5000,
        "x=" + "1" * 400 + "e99999",
        'x="\\ud800"',
        "a" * 100_000 + ";scheme=" + "?" * 100_000,
    ],
)
def test_hostile_headers(value):
    for name in ("Category", "Link", "X-OCCI-Attribute", "X-OCCI-Location"):
        for method in METHODS:
            _parse("text/occi", method, Message(headers=((name, value),)))


@pytest.mark.parametrize("charset", ["utf-8", "latin-1", "no-such-charset", "rot13", "utf\x00"])
def test_any_charset(charset):
    _parse("text/plain", "entity", Message(body=b"Category: \xe9", charset=charset))
