"""The text/plain and text/occi parsers, on the spec's and implementations' examples.

Examples are from occi.md §4.3-4.4 (GFD.229 and rOCCI-core's rendering
examples), written out here by hand.
"""

from __future__ import annotations

import pytest

from occi.model import (
    ActionInvocation,
    AttributeDefinition,
    CategoryDefinition,
    EntityRendering,
    LinkRendering,
    Locations,
)
from occi.parsing import HeaderParser, Message, ParseError, PlainParser, parser_for

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE = INFRA + "compute"
ACTIONS = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
BASE = "http://example.com"

plain = PlainParser()
headers = HeaderParser()


def body(*lines: str, newline: str = "\r\n") -> Message:
    return Message(body=newline.join(lines).encode("utf-8"), base_url=BASE)


# --------------------------------------------------------------- GFD.229 §3.2 example

GFD229_COMPUTE = (
    'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind";',
    "Link: </users/foo/compute/b9ff813e-fee5-4a9d-b839-673f39746096?action=start>; "
    'rel="http://schemas.ogf.org/occi/infrastructure/compute/action#start"',
    'X-OCCI-Attribute: occi.core.id="urn:uuid:b9ff813e-fee5-4a9d-b839-673f39746096"',
    'X-OCCI-Attribute: occi.core.title="My Dummy VM"',
    'X-OCCI-Attribute: occi.compute.state="inactive"',
    "X-OCCI-Attribute: occi.compute.memory=2.0",
    "X-OCCI-Attribute: occi.compute.cores=2",
)
GFD229_EXPECTED = EntityRendering(
    kind=COMPUTE,
    attributes={
        "occi.core.id": "urn:uuid:b9ff813e-fee5-4a9d-b839-673f39746096",
        "occi.core.title": "My Dummy VM",
        "occi.compute.state": "inactive",
        "occi.compute.memory": 2.0,
        "occi.compute.cores": 2,
    },
    actions=(ACTIONS + "start",),
)


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_gfd229_compute_example_as_text_plain(newline):
    entity = plain.entity(body(*GFD229_COMPUTE, newline=newline))
    assert entity == GFD229_EXPECTED
    assert type(entity.attributes["occi.compute.cores"]) is int
    assert type(entity.attributes["occi.compute.memory"]) is float


def test_gfd229_compute_example_as_repeated_headers():
    pairs = tuple(tuple(line.split(": ", 1)) for line in GFD229_COMPUTE)
    assert headers.entity(Message(headers=pairs)) == GFD229_EXPECTED


def test_gfd229_compute_example_as_comma_joined_headers():
    # What a WSGI server hands over when a client repeats a header (occi.md §10 item 4).
    joined: dict[str, list[str]] = {}
    for line in GFD229_COMPUTE:
        name, value = line.split(": ", 1)
        joined.setdefault(name, []).append(value)
    pairs = tuple((name, ", ".join(values)) for name, values in joined.items())
    assert headers.entity(Message(headers=pairs)) == GFD229_EXPECTED


def test_text_occi_ignores_other_http_headers():
    message = Message(
        headers=(
            ("Host", "example.com"),
            ("Accept", "text/plain, */*"),
            ("Category", 'compute; scheme="' + INFRA + '"; class=kind'),
        )
    )
    assert headers.entity(message) == EntityRendering(kind=COMPUTE)


# ------------------------------------------------------- rOCCI-core examples (§4.4)

ROCCI_MODEL = (
    'Category: entity;scheme="http://schemas.ogf.org/occi/core#";class="kind";title="entity";'
    'location="/entity/";attributes="occi.core.id{immutable required} occi.core.title"',
    'Category: os_tpl;scheme="http://schemas.ogf.org/occi/infrastructure#";class="mixin";'
    'title="operating system template";location="/mixin/os_tpl/"',
    "Category: uuid_egi_centos_7_fedcloud_warg_149;"
    'scheme="http://occi.localhost/occi/infrastructure/os_tpl#";class="mixin";'
    'title="EGI-CentOS-7@fedcloud-warg";rel="http://schemas.ogf.org/occi/infrastructure#os_tpl '
    'http://schemas.ogf.org/occi/infrastructure#compute";'
    'location="/mixin/os_tpl/uuid_egi_centos_7_fedcloud_warg_149/"',
    'Category: stop;scheme="http://schemas.ogf.org/occi/infrastructure/compute/action#";'
    'class="action";title="stop compute instance";attributes="method"',
)


def test_rocci_model_example():
    entity, os_tpl, template, stop = plain.categories(body(*ROCCI_MODEL)).categories
    assert entity == CategoryDefinition(
        term="entity",
        scheme="http://schemas.ogf.org/occi/core#",
        cls="kind",
        title="entity",
        location="/entity/",
        attributes=(
            AttributeDefinition("occi.core.id", mutable=False, required=True),
            AttributeDefinition("occi.core.title"),
        ),
    )
    assert os_tpl.location == "/mixin/os_tpl/"
    # rOCCI puts depends and applies in rel; text cannot tell them apart (§10 item 7).
    assert template.depends == (INFRA + "os_tpl", INFRA + "compute")
    assert template.title == "EGI-CentOS-7@fedcloud-warg"
    assert stop == CategoryDefinition(
        term="stop",
        scheme=ACTIONS,
        cls="action",
        title="stop compute instance",
        attributes=(AttributeDefinition("method"),),
    )


ROCCI_INSTANCE = (
    'Category: compute;scheme="http://schemas.ogf.org/occi/infrastructure#";class="kind";',
    'X-OCCI-Attribute: occi.core.id="89878"',
    "X-OCCI-Attribute: occi.compute.cores=1",
    "X-OCCI-Attribute: occi.compute.memory=1.0",
    'X-OCCI-Attribute: occi.compute.state="active"',
    "Link: </compute/89878?action=stop>;"
    'rel="http://schemas.ogf.org/occi/infrastructure/compute/action#stop"',
    'Link: </storage/5401>;rel="http://schemas.ogf.org/occi/infrastructure#storage";'
    'self="/storagelink/compute_89878_disk_0";'
    'category="http://schemas.ogf.org/occi/infrastructure#storagelink";'
    'occi.core.id="compute_89878_disk_0";occi.core.target="/storage/5401";'
    'occi.core.source="/compute/89878";occi.storagelink.deviceid="/dev/vda";'
    'occi.storagelink.state="active"',
)


def test_rocci_instance_example():
    entity = plain.entity(body(*ROCCI_INSTANCE))
    assert entity.actions == (ACTIONS + "stop",)
    assert entity.links == (
        LinkRendering(
            target="/storage/5401",
            kind=INFRA + "storagelink",
            attributes={
                "occi.core.id": "compute_89878_disk_0",
                "occi.storagelink.deviceid": "/dev/vda",
                "occi.storagelink.state": "active",
            },
            location="/storagelink/compute_89878_disk_0",
            target_kind=INFRA + "storage",
            source="/compute/89878",
        ),
    )


# ----------------------------------------------------- actions, locations, user mixins


def test_action_invocation_example():
    invocation = plain.action(
        body(
            'Category: suspend;scheme="http://schemas.ogf.org/occi/infrastructure/compute/action#";'
            'class="action"',
            'X-OCCI-Attribute: method="suspend"',
        )
    )
    assert invocation == ActionInvocation(ACTIONS + "suspend", {"method": "suspend"})


def test_mixin_association_locations_become_paths():
    message = Message(
        headers=(
            ("X-OCCI-Location", "http://example.com/vms/foo/vm1, http://example.com/vms/foo/vm2"),
            ("X-OCCI-Location", "/compute/3"),
            ("X-OCCI-Location", "http://elsewhere.example/compute/4"),
        ),
        base_url=BASE,
    )
    assert headers.locations(message) == Locations(
        ("/vms/foo/vm1", "/vms/foo/vm2", "/compute/3", "http://elsewhere.example/compute/4")
    )


def test_user_mixin_definition():
    (mixin,) = plain.categories(
        body(
            'Category: my_stuff; scheme="http://example.com/occi/my_stuff#"; class="mixin"; '
            'rel="http://example.com/occi/tags#tag"; location="/my_stuff/"'
        )
    ).categories
    assert mixin == CategoryDefinition(
        term="my_stuff",
        scheme="http://example.com/occi/my_stuff#",
        cls="mixin",
        depends=("http://example.com/occi/tags#tag",),
        location="/my_stuff/",
    )


def test_standalone_link_creation():
    link = plain.entity(
        body(
            'Category: networkinterface; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
            'class="kind"',
            'X-OCCI-Attribute: occi.core.source="http://example.com/compute/1"',
            'X-OCCI-Attribute: occi.core.target="/network/2"',
        )
    )
    assert link == LinkRendering(
        target="/network/2", kind=INFRA + "networkinterface", source="/compute/1"
    )


# ------------------------------------------------------------------ tolerance (§10)


@pytest.mark.parametrize(
    "line",
    [
        'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"',
        'Category: compute;scheme="http://schemas.ogf.org/occi/infrastructure#";class=kind',
        'category:   compute ;  class = "kind" ; '
        'scheme = "http://schemas.ogf.org/occi/infrastructure#" ;',
        'X-OCCI-Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="KIND"',  # noqa: E501  (a wire line kept whole)
        'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"; '
        'title="Compute, the \\"kind\\"; with separators"; location="/compute/"',
        'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"; x=1',  # noqa: E501  (a wire line kept whole)
    ],
)
def test_category_variants(line):
    assert plain.entity(body(line)) == EntityRendering(kind=COMPUTE)


def test_quoted_strings_keep_separators_and_escapes():
    entity = plain.entity(
        body(
            'X-OCCI-Attribute: a="x, y; z", b="say \\"hi\\"", c="back\\\\slash", d="caf\u00e9 \u2603"',  # noqa: E501  (a wire line kept whole)
            'X-OCCI-Attribute: e="line\\nbreak\\ttab\\u0001", f="\\q is q (RFC 7230 quoted-pair)"',
        )
    )
    assert dict(entity.attributes) == {
        "a": "x, y; z",
        "b": 'say "hi"',
        "c": "back\\slash",
        "d": "caf\u00e9 \u2603",
        "e": "line\nbreak\ttab\x01",
        "f": "q is q (RFC 7230 quoted-pair)",
    }


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("FALSE", False),
        ('"true"', "true"),
        ("2", 2),
        ("-3", -3),
        ("2.", 2.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("active", "active"),
        ("/compute/1", "/compute/1"),
        ('""', ""),
    ],
)
def test_attribute_values_are_typed(raw, value):
    parsed = plain.entity(body(f"X-OCCI-Attribute: x={raw}")).attributes["x"]
    assert (type(parsed), parsed) == (type(value), value)


def test_continuation_lines_and_blank_lines():
    entity = plain.entity(
        body(
            "",
            "Category: compute;",
            '  scheme="http://schemas.ogf.org/occi/infrastructure#";',
            "\tclass=kind",
            "",
        )
    )
    assert entity == EntityRendering(kind=COMPUTE)


def test_wsgi_headers_are_read_as_utf8():
    latin1 = 'occi.core.title="caf\u00e9"'.encode().decode("latin-1")
    message = Message.from_wsgi([("X-OCCI-Attribute", latin1)])
    assert headers.entity(message).attributes["occi.core.title"] == "caf\u00e9"


def test_no_content_type_reads_headers_and_parameters_are_ignored():
    assert isinstance(parser_for(None), HeaderParser)
    assert isinstance(parser_for("text/plain; charset=utf-8"), PlainParser)
    assert isinstance(parser_for("TEXT/OCCI+PLAIN"), PlainParser)


# --------------------------------------------------------------- precise errors


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (("Category: compute; class=kind",), "line 1: category 'compute' needs a scheme URI"),
        (('Category: compute; scheme="s#"',), "line 1: category 'compute' needs a class"),
        (('Category: compute; scheme="s#"; class=thing',), "needs a class: kind, mixin or action"),
        (('Category: -bad; scheme="s#"; class=kind',), "line 1: invalid term '-bad'"),
        (('Category: a; scheme="s#"; scheme="t#"; class=kind',), "parameter 'scheme' given twice"),
        (("", 'X-OCCI-Attribute: a="unterminated'), "line 2: unterminated quoted string"),
        (("X-OCCI-Attribute: a=b c",), "line 1: invalid value 'b c'"),
        (("X-OCCI-Attribute: a=",), "line 1: missing value"),
        (("X-OCCI-Attribute: noequals",), "expected name=value"),
        (("X-OCCI-Attribute: a=1", "X-OCCI-Attribute: a=2"), "line 2: attribute 'a' given twice"),
        (("Link: /compute/1",), "a link starts with <URI>"),
        (("Link: <http://a/b>; rel=x; rel=y",), "parameter 'rel' given twice"),
        (("Bogus: value",), "line 1: 'Bogus' is not an OCCI rendering line"),
        (("no colon here",), "line 1: expected 'Name: value'"),
        ((" leading continuation",), "line 1: a continuation line with nothing to continue"),
        (
            ('Category: a; scheme="s#"; class=kind', 'Category: b; scheme="s#"; class=kind'),
            "line 2: an entity has exactly one kind",
        ),
        (('Category: a; scheme="s#"; class=action',), "cannot contain an action category"),
        (('X-OCCI-Attribute: occi.core.source="/compute/1"',), "a link needs a target"),
        (("X-OCCI-Attribute: occi.core.target=2",), "occi.core.target must be a non-empty string"),
    ],
)
def test_entity_errors_say_where(lines, message):
    with pytest.raises(ParseError) as caught:
        plain.entity(body(*lines))
    assert message in str(caught.value)


def test_header_errors_name_the_header_and_value():
    message = Message(headers=(("Category", 'a; scheme="s#"; class=kind, b; class=kind'),))
    with pytest.raises(ParseError, match=r"^Category header, value 2: category 'b' needs a scheme"):
        headers.entity(message)


def test_parse_error_is_invalid_input():
    from engine.errors import InvalidInput

    with pytest.raises(InvalidInput):
        plain.entity(body("nonsense"))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((), "exactly one category, of class action"),
        (('Category: a; scheme="s#"; class=kind',), "of class action"),
        (
            ('Category: a; scheme="s#"; class=action', 'Category: b; scheme="s#"; class=action'),
            "line 2: an action invocation has exactly one category",
        ),
        (
            ('Category: a; scheme="s#"; class=action', 'Link: <http://x/y>; rel="s#t"'),
            "cannot contain links",
        ),
    ],
)
def test_action_errors(lines, message):
    with pytest.raises(ParseError, match=message):
        plain.action(body(*lines))


def test_bad_attribute_list_in_a_category():
    with pytest.raises(ParseError, match="unknown attribute property 'sticky'"):
        plain.categories(body('Category: a; scheme="s#"; class=kind; attributes="x{sticky}"'))
    with pytest.raises(ParseError, match="invalid attribute list"):
        plain.categories(body('Category: a; scheme="s#"; class=kind; attributes="x{y"'))


def test_invalid_body_encoding():
    with pytest.raises(ParseError, match="not valid utf-8"):
        plain.entity(Message(body=b"Category: \xff"))
