"""The application/occi+json parser, on GFD.226's examples (occi.md §5.4).

GFD.226's examples are not valid JSON as printed (a misplaced quote in
``"location:"``, a missing comma after ``"description"``); they appear here
corrected, and the errata that are *content* (1.1 attribute names, actions
Infrastructure 1.2 never defines) are kept, since clients send them.
"""

from __future__ import annotations

import json

import pytest

from occi.model import (
    ActionInvocation,
    AttributeDefinition,
    CategoryDefinition,
    EntityCollection,
    EntityRendering,
    LinkRendering,
    Locations,
)
from occi.parsing import JsonParser, Message, ParseError, parser_for

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
BASE = "http://example.com"
parser = JsonParser()


def message(data: object, base_url: str | None = BASE) -> Message:
    return Message(body=json.dumps(data).encode(), base_url=base_url)


GFD226_RESOURCE = {
    "kind": "http://schemas.ogf.org/occi/infrastructure#compute",
    "mixins": [
        "http://example.com/occi/infrastructure/os_tpl#debian9",
        "http://example.com/occi/infrastructure/resource_tpl#medium",
    ],
    "attributes": {"occi.compute.speed": 2, "occi.compute.memory": 4, "occi.compute.cores": 2},
    "actions": ["http://schemas.ogf.org/occi/infrastructure/compute/action#start"],
    "id": "urn:uuid:996ad860-2a9a-504f-8861-aeafd0b2ae29",
    "links": [
        {
            "kind": "http://schemas.ogf.org/occi/infrastructure#networkinterface",
            "mixins": [
                "http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface"
            ],
            "attributes": {"occi.infrastructure.networkinterface.interface": "eth0"},
            "actions": [
                "http://schemas.ogf.org/occi/infrastructure/networkinterface/action#up",
                "http://schemas.ogf.org/occi/infrastructure/networkinterface/action#down",
            ],
            "id": "urn:uuid:22fe83ae-a20f-54fc-b436-cec85c94c5e8",
            "target": {
                "location": "/network/b7d55bf4-7057-5113-85c8-141871bf7635",
                "kind": "http://schemas.ogf.org/occi/infrastructure#network",
            },
            "source": {
                "location": "/compute/996ad860-2a9a-504f-8861-aeafd0b2ae29",
                "kind": "http://schemas.ogf.org/occi/infrastructure#compute",
            },
        }
    ],
}


def test_gfd226_resource_example():
    entity = parser.entity(message(GFD226_RESOURCE))
    assert entity == EntityRendering(
        kind=INFRA + "compute",
        mixins=tuple(GFD226_RESOURCE["mixins"]),
        attributes={
            "occi.compute.speed": 2,
            "occi.compute.memory": 4,
            "occi.compute.cores": 2,
            "occi.core.id": "urn:uuid:996ad860-2a9a-504f-8861-aeafd0b2ae29",
        },
        actions=("http://schemas.ogf.org/occi/infrastructure/compute/action#start",),
        links=(
            LinkRendering(
                target="/network/b7d55bf4-7057-5113-85c8-141871bf7635",
                kind=INFRA + "networkinterface",
                mixins=(
                    "http://schemas.ogf.org/occi/infrastructure/networkinterface#"
                    "ipnetworkinterface",
                ),
                attributes={
                    "occi.infrastructure.networkinterface.interface": "eth0",
                    "occi.core.id": "urn:uuid:22fe83ae-a20f-54fc-b436-cec85c94c5e8",
                },
                actions=(
                    "http://schemas.ogf.org/occi/infrastructure/networkinterface/action#up",
                    "http://schemas.ogf.org/occi/infrastructure/networkinterface/action#down",
                ),
                target_kind=INFRA + "network",
                source="/compute/996ad860-2a9a-504f-8861-aeafd0b2ae29",
                source_kind=INFRA + "compute",
            ),
        ),
    )


def test_gfd226_misprinted_example_is_a_located_error():
    # GFD.226 prints '"location:"/network/…"' (occi.md §5.4): invalid JSON.
    body = b'{\n  "target": {\n    "location:"/network/b7d55bf4"\n  }\n}'
    with pytest.raises(ParseError, match=r"^line 3 column 16: invalid JSON: Expecting .:."):
        parser.entity(Message(body=body))


def test_gfd226_missing_comma_is_a_located_error():
    # The GFD.226 Kind example lacks a comma after "description" (occi.md §5.4).
    body = b'{"kinds": [{"term": "compute",\n "description": "x"\n "location": "/compute/"}]}'
    with pytest.raises(ParseError, match=r"^line 3 column 2: invalid JSON: Expecting ','"):
        parser.categories(Message(body=body))


def test_gfd226_action_invocation_example():
    invocation = parser.action(
        message(
            {
                "action": "http://schemas.ogf.org/occi/infrastructure/compute/action#stop",
                "attributes": {"method": "graceful"},
            }
        )
    )
    assert invocation == ActionInvocation(
        "http://schemas.ogf.org/occi/infrastructure/compute/action#stop", {"method": "graceful"}
    )


def test_gfd226_category_examples():
    kind = {
        "term": "compute",
        "scheme": "http://schemas.ogf.org/occi/infrastructure#",
        "title": "ComputeResource",
        "parent": "http://schemas.ogf.org/occi/core#resource",
        "attributes": {
            "occi.compute.state": {
                "mutable": False,
                "required": False,
                "type": "string",
                "default": "inactive",
                "description": "State of the compute",
            }
        },
        "actions": ["http://schemas.ogf.org/occi/infrastructure/compute/action#start"],
        "location": "/compute/",
    }
    mixin = {
        "term": "medium",
        "scheme": "http://example.com/template/resource#",
        "depends": ["http://schemas.ogf.org/occi/infrastructure#resource_tpl"],
        "applies": ["http://schemas.ogf.org/occi/infrastructure#compute"],
        "attributes": {"occi.compute.speed": {"type": "number", "default": 2.8}},
        "title": "MediumVM",
        "location": "/template/resource/medium/",
    }
    action = {
        "term": "stop",
        "scheme": "http://schemas.ogf.org/occi/infrastructure/compute/action#",
        "title": "Stop",
        "attributes": {
            "method": {"mutable": True, "required": False, "type": "string", "default": "poweroff"}
        },
    }
    got = parser.categories(message({"kinds": [kind], "mixins": [mixin], "actions": [action]}))
    compute, medium, stop = got.categories
    assert compute.parent == "http://schemas.ogf.org/occi/core#resource"
    assert compute.attributes == (
        AttributeDefinition(
            "occi.compute.state",
            type="string",
            mutable=False,
            required=False,
            default="inactive",
            description="State of the compute",
        ),
    )
    # GFD.226 §4.4 defaults for what the description leaves out: not mutable, not required.
    assert medium == CategoryDefinition(
        term="medium",
        scheme="http://example.com/template/resource#",
        cls="mixin",
        title="MediumVM",
        depends=("http://schemas.ogf.org/occi/infrastructure#resource_tpl",),
        applies=(INFRA + "compute",),
        location="/template/resource/medium/",
        attributes=(
            AttributeDefinition("occi.compute.speed", type="number", mutable=False, default=2.8),
        ),
    )
    assert stop.attributes[0].default == "poweroff"


def test_a_link_on_its_own_and_a_collection():
    link = {
        "kind": INFRA + "storagelink",
        "source": {"location": BASE + "/compute/1"},
        "target": {"location": BASE + "/storage/2", "kind": INFRA + "storage"},
        "attributes": {"occi.storagelink.deviceid": "/dev/vdb"},
    }
    resource = {"kind": INFRA + "storage", "attributes": {"occi.storage.size": 10.0}}
    expected_link = LinkRendering(
        target="/storage/2",
        kind=INFRA + "storagelink",
        attributes={"occi.storagelink.deviceid": "/dev/vdb"},
        target_kind=INFRA + "storage",
        source="/compute/1",
    )
    assert parser.entity(message(link)) == expected_link
    collection = parser.entities(message({"resources": [resource], "links": [link]}))
    assert collection == EntityCollection(
        resources=(
            EntityRendering(kind=INFRA + "storage", attributes={"occi.storage.size": 10.0}),
        ),
        links=(expected_link,),
    )
    assert parser.entities(message(resource)).resources[0].kind == INFRA + "storage"


def test_members_and_attributes_agree():
    entity = parser.entity(
        message(
            {
                "kind": INFRA + "compute",
                "title": "web",
                "summary": "a web server",
                "attributes": {"occi.core.title": "web"},
            }
        )
    )
    assert dict(entity.attributes) == {
        "occi.core.title": "web",
        "occi.core.summary": "a web server",
    }
    with pytest.raises(ParseError, match=r"\$.title: occi.core.title is given twice"):
        parser.entity(message({"title": "a", "attributes": {"occi.core.title": "b"}}))


def test_endpoint_attributes_make_a_link_and_must_agree_with_members():
    link = parser.entity(message({"attributes": {"occi.core.target": "/network/1"}}))
    assert link == LinkRendering(target="/network/1")
    with pytest.raises(ParseError, match="target is given twice"):
        parser.entity(
            message({"target": {"location": "/a"}, "attributes": {"occi.core.target": "/b"}})
        )


def test_tolerated_members():
    # MartServer's "location" and the appendix's "rel" (occi.md §5.1, §8.5).
    entity = parser.entity(message({"kind": INFRA + "compute", "location": BASE + "/compute/9"}))
    assert entity.location == "/compute/9"
    link = parser.entity(message({"target": {"location": "/n/1"}, "rel": INFRA + "network"}))
    assert link.target_kind == INFRA + "network"


def test_locations_are_a_json_array():
    assert parser.locations(message([BASE + "/compute/1", "/storage/2"])) == Locations(
        ("/compute/1", "/storage/2")
    )


def test_application_json_is_an_alias():
    assert isinstance(parser_for("application/json; charset=utf-8"), JsonParser)


@pytest.mark.parametrize(
    ("body", "method", "message_part"),
    [
        (b'{"kind": "http://a#b",}', "entity", "line 1 column 23: invalid JSON"),
        (b'{\n  "kind": 1\n}', "entity", "$.kind: 1 is not of type 'string'"),
        (b'{"kind": "http://a#b", "attributs": {}}', "entity", "Additional properties"),
        (b'{"links": [{"kind": "http://a#b"}]}', "entity", "$.links[0]: 'target' is a required"),
        (b'{"action": "x#y", "attributes": []}', "action", "$.attributes: [] is not of type"),
        (b'{"a": 1, "a": 2}', "entity", "member 'a' appears twice"),
        (b'{"action": "x#y", "attributes": {"n": NaN}}', "action", "NaN is not a JSON number"),
        (b'{"action": "x#y", "attributes": {"n": 1e400}}', "action", "number out of range"),
        (b'{"resources": [{"target": {"location": "/x"}}]}', "entities", "Additional properties"),
        (
            b'{"resources": [{"attributes": {"occi.core.target": "/x"}}]}',
            "entities",
            "$.resources[0]: this entity has a source or target",
        ),
        (
            b'{"target": {"location": "/x"}, "attributes": {"occi.core.source": 3}}',
            "entity",
            "occi.core.source must be a non-empty string",
        ),
        (b'{"kinds": [{"term": "x"}]}', "categories", "$.kinds[0]: 'scheme' is a required"),
        (b"[" * 40 + b"]" * 40, "locations", "nested more than 32 levels"),
        (b"", "entity", "invalid JSON"),
    ],
)
def test_errors_say_where(body, method, message_part):
    with pytest.raises(ParseError) as caught:
        getattr(parser, method)(Message(body=body))
    assert message_part in str(caught.value)


def test_byte_order_mark_is_dropped():
    assert parser.entity(Message(body=b"\xef\xbb\xbf{}")) == EntityRendering()
