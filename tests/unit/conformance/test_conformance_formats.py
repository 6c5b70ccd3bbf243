"""The harness's own readers and writers of the OCCI and CIMI wire formats."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from conformance.formats import cimi, occi_build, occi_json, occi_text
from conformance.formats.occi_model import OCCI_JSON, TEXT_OCCI, TEXT_PLAIN, Category, Model

COMPUTE = Category("compute", "http://schemas.ogf.org/occi/infrastructure#", "kind")

VALID_CATEGORY = (
    'compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"; '
    'title="Compute Resource"; rel="http://schemas.ogf.org/occi/core#resource"; '
    'location="/compute/"; attributes="occi.compute.cores occi.compute.state{immutable} '
    'occi.core.id{immutable required}"; '
    'actions="http://schemas.ogf.org/occi/infrastructure/compute/action#start"'
)


def test_a_valid_category_parses_without_problems() -> None:
    message = occi_text.parse_fields([("Category", VALID_CATEGORY)])
    assert message.problems == []
    (category,) = message.categories
    assert category.type_id == "http://schemas.ogf.org/occi/infrastructure#compute"
    assert category.rel == ["http://schemas.ogf.org/occi/core#resource"]
    assert category.attributes["occi.compute.state"].mutable is False
    assert category.attributes["occi.core.id"].required is True
    assert category.actions == ["http://schemas.ogf.org/occi/infrastructure/compute/action#start"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ('compute; scheme=http://x#; class="kind"', "scheme must be quoted"),
        ('compute; class="kind"; scheme="http://x#"', "out of ABNF order"),
        ('compute; scheme="http://x#"', "missing class"),
        ('compute; scheme="http://x#"; class="thing"', "not kind/mixin/action"),
        ('-compute; scheme="http://x#"; class="kind"', "invalid term"),
        ('compute; scheme="http://x#"; class="kind"; colour="red"', "unknown parameter"),
        ('compute; scheme="http://x#"; class="kind"; attributes="a{mutable}"', "unknown attr"),
    ],
)
def test_category_defects_are_reported(value: str, fragment: str) -> None:
    problems = occi_text.parse_fields([("Category", value)]).problems_for("abnf.category")
    assert any(fragment in p.message for p in problems), problems


def test_a_trailing_semicolon_is_tolerated() -> None:
    message = occi_text.parse_fields([("Category", 'x; scheme="http://x#"; class="mixin";')])
    assert message.problems == [] and message.categories[0].term == "x"


def test_entity_rendering_links_action_links_and_attributes() -> None:
    body = (
        'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
        'Link: </storage/1>; rel="http://schemas.ogf.org/occi/infrastructure#storage"; '
        'self="/storagelink/9"; category="http://schemas.ogf.org/occi/infrastructure#storagelink";'
        ' occi.storagelink.deviceid="vdb"\n'
        "Link: </compute/1?action=stop>; "
        'rel="http://schemas.ogf.org/occi/infrastructure/compute/action#stop"\n'
        'X-OCCI-Attribute: occi.core.id="urn:uuid:1"\n'
        "X-OCCI-Attribute: occi.compute.cores=2, occi.compute.memory=1.5\n"
        "X-OCCI-Attribute: flag=true\n"
    )
    message = occi_text.parse_plain(body)
    assert message.problems == []
    entity = message.entity()
    assert entity.kind == COMPUTE.type_id and entity.id == "urn:uuid:1"
    assert entity.attributes["occi.compute.cores"] == 2
    assert entity.attributes["occi.compute.memory"] == 1.5 and entity.attributes["flag"] is True
    assert entity.links[0].self_location == "/storagelink/9"
    assert entity.actions == ["http://schemas.ogf.org/occi/infrastructure/compute/action#stop"]


@pytest.mark.parametrize(
    ("line", "requirement"),
    [
        ("X-OCCI-Attribute: occi.core.title=bare words", "abnf.attribute"),
        ('Link: /storage/1; rel="x"', "abnf.link"),
        ('Link: </c/1?action=stop>; rel="http://x#start"', "abnf.action-link"),
        ("X-OCCI-Location: not a uri", "abnf.location"),
        ("this line has no colon", "plain.body"),
    ],
)
def test_line_defects_are_tagged_with_their_requirement(line: str, requirement: str) -> None:
    assert occi_text.parse_plain(line).problems_for(requirement)


values = st.one_of(
    st.booleans(),
    st.integers(min_value=0, max_value=10**9),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
)


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){0,3}", fullmatch=True),
        values,
        max_size=6,
    ),
    st.sampled_from([TEXT_PLAIN, TEXT_OCCI]),
)
def test_what_the_builder_writes_the_parser_reads(
    attributes: dict[str, object], rendering: str
) -> None:
    payload = occi_build.entity(rendering, COMPUTE, attributes=attributes)
    if rendering == TEXT_OCCI:
        message = occi_text.parse_fields(payload.headers)
    else:
        message = occi_text.parse_plain(payload.body.decode("utf-8"))
    assert message.problems == []
    assert message.entity().kind == COMPUTE.type_id
    assert message.attributes == attributes


def test_json_categories_and_entities() -> None:
    doc = {
        "kinds": [
            {
                "term": "compute",
                "scheme": COMPUTE.scheme,
                "location": "/compute/",
                "parent": "http://schemas.ogf.org/occi/core#resource",
                "attributes": {
                    "occi.compute.cores": {"type": "number", "default": 1, "mutable": True}
                },
            }
        ],
        "mixins": [
            {
                "term": "small",
                "scheme": "http://p#",
                "depends": ["a#b"],
                "applies": [COMPUTE.type_id],
                "location": "/small/",
            }
        ],
        "actions": [{"term": "start", "scheme": "http://a#"}],
    }
    found, problems = occi_json.categories(doc)
    assert problems == []
    kind, mixin, action = found
    assert kind.rel == ["http://schemas.ogf.org/occi/core#resource"]
    assert kind.attributes["occi.compute.cores"].default == 1
    assert mixin.applies == [COMPUTE.type_id] and action.cls == "action"
    link = {
        "kind": "k#l",
        "id": "urn:uuid:2",
        "source": {"location": "/c/1"},
        "target": {"location": "/s/1", "kind": "k#s"},
    }
    entity = occi_json.entity({"kind": COMPUTE.type_id, "id": "urn:uuid:1", "links": [link]})
    assert entity.id == "urn:uuid:1"
    assert entity.links[0].target == "/s/1" and entity.links[0].rel == ["k#s"]
    assert occi_json.matches_type(True, "number") is False


def test_model_templates_and_inheritance() -> None:
    os_tpl = Category("os_tpl", "http://schemas.ogf.org/occi/infrastructure#", "mixin")
    debian = Category("debian", "http://p/os#", "mixin", rel=[os_tpl.type_id])
    model = Model({c.type_id: c for c in (os_tpl, debian, COMPUTE)})
    assert model.templates(os_tpl.type_id) == [debian]


def test_json_payloads_are_json() -> None:
    payload = occi_build.action(OCCI_JSON, Category("stop", "http://a#", "action"), {"m": "x"})
    assert json.loads(payload.body) == {"action": "http://a#stop", "attributes": {"m": "x"}}


NS = "http://schemas.dmtf.org/cimi/2"


def test_cimi_xml_reads_like_json() -> None:
    xml = (
        f'<Collection xmlns="{NS}" resourceURI="{NS}/MachineCollection"><id>m</id>'
        f"<count>1</count><Machine><id>m/1</id><state>STARTED</state>"
        '<property key="a">b</property><volumes href="m/1/volumes"/>'
        '<operation rel="edit" href="m/1"/></Machine>'
        '<operation rel="add" href="m"/></Collection>'
    ).encode()
    document = cimi.parse(cimi.XML, xml)
    assert document.resource_uri == f"{NS}/MachineCollection"
    assert document.entries_key == "Machine" and document.get("count") == "1"
    (entry,) = document.entries
    assert entry["properties"] == {"a": "b"} and entry["volumes"] == {"href": "m/1/volumes"}
    assert entry["operations"] == [{"rel": "edit", "href": "m/1"}]
    assert document.operation("add") == "m"


def test_cimi_json_finds_entries_under_the_plural_key() -> None:
    body = json.dumps(
        {
            "resourceURI": f"{NS}/MachineConfigurationCollection",
            "id": "c",
            "count": 1,
            "machineConfigurations": [{"id": "c/1"}],
        }
    ).encode()
    document = cimi.parse(cimi.JSON, body)
    assert document.entries_key == "machineConfigurations" and document.entries == [{"id": "c/1"}]


def test_cimi_request_bodies_in_both_renderings() -> None:
    fields = {
        "name": "n",
        "properties": {"k": "v"},
        "machineTemplate": {"machineConfig": {"href": "c/1"}},
    }
    xml = etree.fromstring(cimi.body(cimi.XML, NS, "MachineCreate", fields))
    assert xml.tag == f"{{{NS}}}MachineCreate"
    assert [etree.QName(c).localname for c in xml] == ["name", "property", "machineTemplate"]
    assert json.loads(cimi.body(cimi.JSON, NS, "MachineCreate", fields))["resourceURI"] == (
        f"{NS}/MachineCreate"
    )
    renamed = cimi.with_name(cimi.XML, b'<Machine xmlns="x"><id>1</id></Machine>', "new")
    assert b"<name>new</name>" in renamed


def test_cimi_operations_match_full_or_short_action_uris() -> None:
    document = cimi.Document(
        cimi.JSON,
        {"operations": [{"rel": "http://schemas.dmtf.org/cimi/1/Action/stop", "href": "s"}]},
    )
    assert document.operation("http://schemas.dmtf.org/cimi/2/action/stop") == "s"
    assert document.operation("start") is None


def test_malformed_cimi_documents_are_value_errors() -> None:
    with pytest.raises(ValueError):
        cimi.parse(cimi.XML, b"<Machine")
    with pytest.raises(ValueError):
        cimi.parse(cimi.JSON, b"[1]")
