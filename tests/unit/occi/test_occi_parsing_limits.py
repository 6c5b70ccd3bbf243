"""Hostile OCCI renderings: every parser refuses or finishes within a bound linear in its size.

The limits (:mod:`occi.parsing.limits`) are checked before the values are
interpreted, each a :class:`ParseError` (400) naming the limit; time is
compared with a valid rendering of the same size, never measured absolutely.
"""

from __future__ import annotations

import json

import pytest
from helpers import cost_ratio

from occi.parsing import HeaderParser, JsonParser, Message, ParseError, PlainParser
from occi.parsing.limits import Limits
from occi.schemas import Validator, validator

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
KIND_LINE = 'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"'

json_parser = JsonParser()
plain = PlainParser()
headers = HeaderParser()


def _refused(call: object, *args: object) -> object:
    def run() -> None:
        with pytest.raises(ParseError):
            call(*args)  # type: ignore[operator]

    return run


# -- JSON ---------------------------------------------------------------------------------


def test_json_members_of_one_object_are_bounded() -> None:
    limits = Limits(max_attributes=3)
    ok = {"kind": COMPUTE, "attributes": {"a.a": 1, "a.b": 2, "a.c": 3}}
    json_parser.entity(Message(json.dumps(ok).encode(), limits=limits))
    ok["attributes"]["a.d"] = 4  # type: ignore[index]
    with pytest.raises(ParseError, match="a JSON object has more than 3 members"):
        json_parser.entity(Message(json.dumps(ok).encode(), limits=limits))


def test_json_values_are_bounded() -> None:
    limits = Limits(max_elements=5)
    data = {"kind": COMPUTE, "mixins": ["a#b", "c#d", "e#f"]}  # object, kind, list, 3 items
    with pytest.raises(ParseError, match="more than 5 JSON values"):
        json_parser.entity(Message(json.dumps(data).encode(), limits=limits))
    data["mixins"] = ["a#b", "c#d"]
    json_parser.entity(Message(json.dumps(data).encode(), limits=limits))


def test_json_depth_is_the_limit_given() -> None:
    with pytest.raises(ParseError, match="nested more than 4 levels"):
        json_parser.locations(Message(b"[" * 5 + b"]" * 5, limits=Limits(max_depth=4)))


def test_a_json_attribute_flood_is_refused_naming_the_limit() -> None:
    data = {"kind": COMPUTE, "attributes": {f"a.b{i}": i for i in range(20_000)}}
    with pytest.raises(ParseError, match="more than 256 members"):
        json_parser.entity(Message(json.dumps(data).encode()))


def _mixins(items: list[object]) -> bytes:
    return json.dumps({"kind": COMPUTE, "mixins": items}).encode()


def _valid_json_of_size(size: int) -> bytes:
    """A valid entity of about ``size`` bytes: many attributes, as a real client sends."""
    attributes: dict[str, object] = {}
    data = {"kind": COMPUTE, "attributes": attributes}
    while len(json.dumps(data)) < size:
        attributes[f"org.example.attr{len(attributes)}"] = "a value " * 8
    return json.dumps(data).encode()


def test_json_unique_items_costs_what_a_valid_body_of_its_size_costs() -> None:
    # jsonschema's uniqueItems compares every pair of items it cannot sort
    # (mixed types): 4,000 mixins took seconds. Concord checks it by hashing.
    hostile = _mixins([i if i % 2 else {"a": i} for i in range(2_000)])
    valid = _valid_json_of_size(len(hostile))
    json_parser.entity(Message(valid, limits=Limits(max_attributes=10_000)))
    ratio = cost_ratio(
        _refused(json_parser.entity, Message(hostile)),
        lambda: json_parser.entity(Message(valid, limits=Limits(max_attributes=10_000))),
    )
    assert ratio <= 10, f"refusing {len(hostile)} bytes cost {ratio:.1f}x a valid body's parse"


def test_unique_items_is_linear_for_items_that_do_not_sort() -> None:
    # Numbers and strings do not sort together: jsonschema compared every pair.
    mixed = [i if i % 2 else str(i) for i in range(1_000)]
    strings = [str(i) for i in range(1_000)]
    check = Validator({"uniqueItems": True})
    assert not list(check.iter_errors(mixed)) and not list(check.iter_errors(strings))
    ratio = cost_ratio(
        lambda: list(check.iter_errors(mixed)), lambda: list(check.iter_errors(strings))
    )
    assert ratio <= 10, f"uniqueItems over mixed items cost {ratio:.1f}x over strings"


@pytest.mark.parametrize(
    ("items", "unique"),
    [
        (["a#b", "c#d"], True),
        (["a#b", "a#b"], False),
        ([1, 1.0], False),  # JSON Schema: numbers are equal by value
        ([1, True], True),  # but a boolean is not a number
        ([{"a": 1, "b": 2}, {"b": 2, "a": 1}], False),  # nor does member order matter
        ([[1, {"x": 1.0}], [1, {"x": 1}]], False),
        ([0, False, "0", None, [], {}], True),
    ],
)
def test_unique_items_keeps_json_schema_equality(items: list[object], unique: bool) -> None:
    errors = validator("resource").iter_errors({"mixins": items})
    assert all(e.validator != "uniqueItems" for e in errors) is unique


# -- text ---------------------------------------------------------------------------------


def test_text_attributes_of_one_rendering_are_bounded() -> None:
    limits = Limits(max_attributes=2)
    lines = [KIND_LINE, "X-OCCI-Attribute: a.a=1", "X-OCCI-Attribute: a.b=2"]
    plain.entity(Message("\n".join(lines).encode(), limits=limits))
    with pytest.raises(ParseError, match="more than 2 attributes"):
        plain.entity(
            Message("\n".join([*lines, "X-OCCI-Attribute: a.c=3"]).encode(), limits=limits)
        )
    flood = ", ".join(f"a.b{i}={i}" for i in range(5_000))  # under the 10000 values
    with pytest.raises(ParseError, match="more than 256 attributes"):
        headers.entity(Message(headers=(("Category", KIND_LINE[10:]), ("X-OCCI-Attribute", flood))))


def test_text_link_attributes_are_bounded() -> None:
    limits = Limits(max_attributes=2)
    link = 'Link: </x>; rel="http://a#b"; a.a=1; a.b=2'
    plain.entity(Message(f"{KIND_LINE}\n{link}".encode(), limits=limits))
    with pytest.raises(ParseError, match="more than 2 attributes"):
        plain.entity(Message(f"{KIND_LINE}\n{link}; a.c=3".encode(), limits=limits))


def test_text_lines_and_values_are_bounded() -> None:
    limits = Limits(max_elements=3)
    three = "\n".join(f"X-OCCI-Location: /compute/{i}" for i in range(3))
    assert len(plain.locations(Message(three.encode(), limits=limits)).locations) == 3
    with pytest.raises(ParseError, match="more than 3 lines"):
        plain.locations(Message(f"{three}\nX-OCCI-Location: /x".encode(), limits=limits))
    values = ", ".join(f"/compute/{i}" for i in range(4))
    with pytest.raises(ParseError, match="more than 3 values"):
        headers.locations(Message(headers=(("X-OCCI-Location", values),), limits=limits))


def test_text_line_length_is_bounded() -> None:
    limits = Limits(max_line_bytes=100)
    line = "X-OCCI-Location: /" + "x" * 82
    assert len(line) == 100
    plain.locations(Message(line.encode(), limits=limits))
    with pytest.raises(ParseError, match="line 1: longer than 100 bytes"):
        plain.locations(Message((line + "y").encode(), limits=limits))
    # A folded line counts as one line.
    with pytest.raises(ParseError, match="line 1: longer than 100 bytes"):
        plain.locations(Message((line[:60] + "\n " + line[60:]).encode(), limits=limits))


def _valid_text_of_size(size: int) -> bytes:
    lines = [KIND_LINE]
    while sum(len(line) + 1 for line in lines) < size:
        lines.append(f'X-OCCI-Attribute: org.example.attr{len(lines)}="{"a value " * 8}"')
    return "\n".join(lines).encode()


def test_a_text_attribute_flood_costs_what_a_valid_body_of_its_size_costs() -> None:
    flood = (
        KIND_LINE + "\n" + "".join(f"X-OCCI-Attribute: a.b{i}={i}\n" for i in range(20_000))
    ).encode()
    valid = _valid_text_of_size(len(flood))
    generous = Limits(max_attributes=100_000, max_elements=100_000)
    plain.entity(Message(valid, limits=generous))
    ratio = cost_ratio(
        _refused(plain.entity, Message(flood)),
        lambda: plain.entity(Message(valid, limits=generous)),
    )
    assert ratio <= 10, f"refusing {len(flood)} bytes cost {ratio:.1f}x a valid body's parse"
