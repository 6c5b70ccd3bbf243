"""The codecs on client bodies: modes, validation messages, leniency in form."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from lxml import etree

from cimi import codec
from cimi.codec import Mode
from cimi.codec import json as json_codec
from cimi.codec import xml as xml_codec
from cimi.errors import DecodeError, EncodeError
from cimi.resources import NS, collection_of, create_table, table
from engine.errors import InvalidInput

MACHINE = table("Machine")
TEMPLATE = table("MachineTemplate")
CREATE = create_table("Machine")


def from_json(doc: dict[str, Any], t: Any = MACHINE, **kw: Any) -> dict[str, Any]:
    return json_codec.decode(json.dumps(doc).encode(), t, **kw)


def from_xml(text: str, t: Any = MACHINE, **kw: Any) -> dict[str, Any]:
    return xml_codec.decode(text.encode(), t, **kw)


def xml_doc(root: str, body: str, ns: str = NS) -> str:
    xmlns = f' xmlns="{ns}"' if ns else ""
    return f"<{root}{xmlns}>{body}</{root}>"


# ---------------------------------------------------------------- modes


def test_create_drops_read_only_attributes() -> None:
    body = {
        "id": "x",
        "state": "STARTED",
        "name": "t",
        "machineConfig": {"href": "c"},
        "machineImage": {"href": "i"},
        "operations": [{"rel": "edit", "href": "x"}],
    }
    assert from_json(body, TEMPLATE, mode=Mode.CREATE) == {
        "name": "t",
        "machineConfig": {"href": "c"},
        "machineImage": {"href": "i"},
    }


def test_edit_drops_create_only_attributes() -> None:
    image = table("MachineImage")
    body = {"name": "n", "imageLocation": "http://x/img", "type": "IMAGE", "state": "AVAILABLE"}
    assert from_json(body, image, mode=Mode.EDIT) == {"name": "n"}
    assert from_json(body, image, mode=Mode.CREATE) == {
        "name": "n",
        "imageLocation": "http://x/img",
        "type": "IMAGE",
    }


def test_representation_keeps_everything() -> None:
    body = {"id": "x", "state": "STARTED", "cpu": 1}
    assert from_json(body) == body


def test_create_requires_consumer_mandatory_attributes() -> None:
    with pytest.raises(DecodeError, match=r"^machineTemplate: required attribute is missing$"):
        from_json({"name": "m"}, CREATE, mode=Mode.CREATE)


def test_a_template_by_value_must_be_complete() -> None:
    body = {"machineTemplate": {"machineConfig": {"cpu": 1}}}
    with pytest.raises(DecodeError, match=r"machineTemplate\.machineConfig\.memory: required"):
        from_json(body, CREATE, mode=Mode.CREATE)


def test_a_template_by_reference_may_override_some_attributes() -> None:
    body = {
        "machineTemplate": {"href": "t", "machineConfig": {"href": "c"}, "initialState": "STOPPED"}
    }
    assert from_json(body, CREATE, mode=Mode.CREATE) == body


def test_nested_structures_check_their_own_required_attributes() -> None:
    body = {"machineConfig": {"href": "c"}, "machineImage": {"href": "i"},
            "volumes": [{"initialLocation": "/dev/vdb"}]}  # fmt: skip
    with pytest.raises(DecodeError, match=r"^volumes\[0\]\.volume: required attribute is missing"):
        from_json(body, TEMPLATE, mode=Mode.CREATE)


def test_an_action_body() -> None:
    action = table("Action")
    body = {"action": "http://schemas.dmtf.org/cimi/2/action/stop", "force": True}
    assert from_json(body, action, mode=Mode.CREATE) == body
    with pytest.raises(DecodeError, match="action: required"):
        from_json({"force": True}, action, mode=Mode.CREATE)


# ---------------------------------------------------------------- validation messages


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"cpu": "two"}, "cpu: expected an integer, got 'two'"),
        ({"cpu": True}, "cpu: expected an integer, got True"),
        ({"cpu": 2.0}, "cpu: expected an integer, got 2.0"),
        ({"cpu": -1}, r"cpu: -1 is out of range \[0, "),
        ({"cpu": 2**63}, "cpu: 9223372036854775808 is out of range"),
        ({"state": "RUNNING"}, "state: 'RUNNING' is not one of CREATING, "),
        ({"created": "2016-07-27T10:00:00"}, "created: expected a dateTime with a time zone"),
        ({"created": "2016-02-30T10:00:00Z"}, "created: invalid dateTime"),
        ({"created": 5}, "created: expected a dateTime string"),
        ({"name": 5}, "name: expected a string, got 5"),
        ({"name": "a\x00b"}, "name: character U[+]0000 is not allowed"),
        ({"id": "has space"}, "id: expected a URI without spaces"),
        ({"properties": {"k": 1}}, r"properties\['k'\]: expected a string value"),
        ({"properties": {"": "v"}}, r"properties\[''\]: a key must be a non-empty string"),
        ({"properties": []}, "properties: expected an object"),
        ({"disks": "d"}, "disks: expected an object"),
        ({"disks": {}}, "disks: a reference needs an href"),
        ({"operations": {"rel": "edit"}}, "operations: expected an array"),
        ({"operations": [{"rel": "edit", "href": 3}]}, r"operations\[0\]\.href: expected a string"),
    ],
)
def test_json_validation_messages_name_the_attribute(body: dict[str, Any], message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        from_json(body)


def test_decode_errors_are_invalid_input() -> None:
    assert issubclass(DecodeError, InvalidInput)


def test_userdata_must_be_base64() -> None:
    assert from_json({"userData": "aGk="}, TEMPLATE) == {"userData": "aGk="}
    with pytest.raises(DecodeError, match="userData: 'not base64!' does not match"):
        from_json({"userData": "not base64!"}, TEMPLATE)


def test_datetimes_keep_their_instant() -> None:
    value = from_json({"created": "2012-05-25T13:30:15.1234567-05:00"})
    assert value["created"] == dt.datetime(2012, 5, 25, 18, 30, 15, 123456, tzinfo=dt.UTC)
    assert json.loads(json_codec.encode(MACHINE, value))["created"] == (
        "2012-05-25T13:30:15.123456-05:00"
    )
    utc = from_json({"created": "2012-05-25T13:30:15Z"})["created"]
    assert json.loads(json_codec.encode(MACHINE, {"created": utc}))["created"].endswith("Z")


# ---------------------------------------------------------------- empties, nulls, unknowns


def test_empty_values_and_null_mean_absent() -> None:
    body: dict[str, Any] = {
        "name": "",
        "description": None,
        "properties": {},
        "operations": [],
        "cpu": 1,
    }
    assert from_json(body) == {"cpu": 1}
    assert from_xml(
        xml_doc("Machine", "<name/><description></description><properties/><cpu>1</cpu>")
    ) == {"cpu": 1}


def test_unknown_attributes_are_ignored_unless_strict() -> None:
    assert from_json({"cpu": 1, "flavour": "x"}) == {"cpu": 1}
    with pytest.raises(DecodeError, match="flavour: unknown attribute of Machine"):
        from_json({"cpu": 1, "flavour": "x"}, strict=True)
    text = xml_doc("Machine", "<cpu>1</cpu><flavour>x</flavour>")
    assert from_xml(text) == {"cpu": 1}
    with pytest.raises(DecodeError, match="flavour: unknown element of Machine"):
        from_xml(text, strict=True)


def test_resource_uri_must_match() -> None:
    assert from_json({"resourceURI": f"{NS}/Machine", "cpu": 1}) == {"cpu": 1}
    cimi1 = {"resourceURI": "http://schemas.dmtf.org/cimi/1/Machine", "cpu": 1}
    assert from_json(cimi1) == {"cpu": 1}
    with pytest.raises(DecodeError, match="does not match the expected type"):
        from_json({"resourceURI": f"{NS}/Volume"})
    create = {"resourceURI": f"{NS}/MachineCreate", "machineTemplate": {"href": "t"}}
    assert from_json(create, CREATE, mode=Mode.CREATE) == {"machineTemplate": {"href": "t"}}


# ---------------------------------------------------------------- JSON form


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "malformed JSON"),
        (b"[]", "must be an object"),
        (b'{"cpu": 1, "cpu": 2}', "duplicate key 'cpu'"),
        (b'{"cpu": NaN}', "NaN is not a JSON number"),
        (b'{"cpu": Infinity}', "Infinity is not a JSON number"),
        (b'{"name": "\xff"}', "must be UTF-8"),
        (b'{"cpu": ' + b"9" * 5000 + b"}", "malformed JSON"),
        (b'{"a": ' * 40 + b"1" + b"}" * 40, "nested too deeply"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply|must be an object"),
    ],
)
def test_malformed_json_is_a_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        json_codec.decode(data, MACHINE)


def test_json_size_limit() -> None:
    limits = codec.Limits(max_bytes=10)
    with pytest.raises(DecodeError, match="body too large: 11 bytes"):
        json_codec.decode(b'{"cpu": 10}', MACHINE, limits=limits)


def test_json_members_of_one_object_are_bounded() -> None:
    limits = codec.Limits(max_attributes=3)
    assert json_codec.decode(b'{"cpu": 1, "a": 1, "b": 1}', MACHINE, limits=limits) == {"cpu": 1}
    with pytest.raises(DecodeError, match="a JSON object: more than 3 members"):
        json_codec.decode(b'{"cpu": 1, "a": 1, "b": 1, "c": 1}', MACHINE, limits=limits)
    flood = json.dumps({"properties": {f"k{i}": "v" for i in range(20_000)}}).encode()
    with pytest.raises(DecodeError, match="more than 256 members"):
        json_codec.decode(flood, MACHINE)


def test_json_values_are_bounded() -> None:
    limits = codec.Limits(max_elements=10)
    # The object, cpu, x and its items: ten values.
    assert json_codec.decode(b'{"cpu": 1, "x": [1, 2, 3, 4, 5, 6, 7]}', MACHINE, limits=limits)
    with pytest.raises(DecodeError, match="more than 10 JSON values"):
        json_codec.decode(b'{"cpu": 1, "x": [1, 2, 3, 4, 5, 6, 7, 8]}', MACHINE, limits=limits)


def test_json_byte_order_mark_is_tolerated() -> None:
    assert json_codec.decode(b'\xef\xbb\xbf{"cpu": 1}', MACHINE) == {"cpu": 1}


# ---------------------------------------------------------------- XML form


def test_xml_scalars_are_collapsed_except_strings() -> None:
    text = xml_doc("Machine", "<name>  spaced  </name><cpu> +4 </cpu><state> STARTED </state>")
    assert from_xml(text) == {"name": "  spaced  ", "cpu": 4, "state": "STARTED"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<cpu>4.0</cpu>", "cpu: expected an integer, got '4.0'"),
        ("<cpu/>", "cpu: expected an integer, got ''"),
        ("<cpu><x/></cpu>", "cpu: expected text, found child elements"),
        ("<cpu>1</cpu><cpu>2</cpu>", "cpu: given more than once"),
        ("hello<cpu>1</cpu>", "Machine: unexpected text 'hello'"),
        ("<disks>d</disks>", "disks: unexpected text 'd'"),
        ("<properties><property>v</property></properties>", "needs a key attribute"),
        (
            '<properties><property key="k">1</property><property key="k">2</property></properties>',
            "key 'k' given more than once",
        ),
    ],
)
def test_xml_validation_messages(body: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        from_xml(xml_doc("Machine", body))


def test_xml_booleans_are_only_true_and_false() -> None:
    volume = table("Volume")
    assert from_xml(xml_doc("Volume", "<bootable>true</bootable>"), volume) == {"bootable": True}
    for bad in ("True", "1", "yes"):
        with pytest.raises(DecodeError, match="expected true or false"):
            from_xml(xml_doc("Volume", f"<bootable>{bad}</bootable>"), volume)


def test_xml_root_and_namespace() -> None:
    assert from_xml(xml_doc("Machine", "<cpu>1</cpu>", ns="")) == {"cpu": 1}
    assert from_xml(xml_doc("Machine", "<cpu>1</cpu>", ns="http://schemas.dmtf.org/cimi/1")) == {
        "cpu": 1
    }
    with pytest.raises(DecodeError, match="expected a <Machine> root"):
        from_xml(xml_doc("Volume", "<cpu>1</cpu>"))
    with pytest.raises(DecodeError, match=r"in http://example\.com"):
        from_xml(xml_doc("Machine", "<cpu>1</cpu>", ns="http://example.com"))
    with pytest.raises(DecodeError, match="expected a <MachineCreate> root"):
        from_xml(xml_doc("machineCreate", ""), CREATE, mode=Mode.CREATE)


def test_create_bodies_may_use_the_create_wrapper() -> None:
    image = table("MachineImage")
    text = xml_doc("MachineImageCreate", "<imageLocation>http://x/m/1</imageLocation>")
    assert from_xml(text, image, mode=Mode.CREATE) == {"imageLocation": "http://x/m/1"}
    with pytest.raises(DecodeError, match="root"):
        from_xml(text, image)  # only when creating


def test_xml_extensions_in_other_namespaces_are_ignored() -> None:
    text = xml_doc(
        "Machine",
        '<ext:zone xmlns:ext="http://concord.test/x">eu</ext:zone><cpu xmlns:ext="urn:x"'
        ' ext:hint="1">2</cpu><!-- a comment --><?pi x?>',
    )
    assert from_xml(text, strict=True) == {"cpu": 2}


def test_cimi_1_style_bare_array_entries_are_accepted() -> None:
    text = xml_doc(
        "Machine",
        '<property key="a">b</property><operation rel="edit" href="e"/>',
        ns="http://schemas.dmtf.org/cimi/1",
    )
    assert from_xml(text) == {
        "properties": {"a": "b"},
        "operations": [{"rel": "edit", "href": "e"}],
    }
    collection = collection_of("Machine")
    legacy = (
        f'<Collection xmlns="{NS}"><id>c</id><count>1</count>'
        "<Machine><id>m</id></Machine></Collection>"
    )
    assert xml_codec.decode(legacy.encode(), collection) == {
        "id": "c",
        "count": 1,
        "machines": [{"id": "m"}],
    }


def test_wrapped_reference_arrays_are_accepted_too() -> None:
    job = table("Job")
    text = xml_doc("Job", '<affectedResources><affectedResource href="a"/></affectedResources>')
    assert from_xml(text, job) == {"affectedResources": [{"href": "a"}]}


def test_xml_collection_root_carries_the_resource_uri() -> None:
    collection = collection_of("Volume")
    root = etree.fromstring(xml_codec.encode(collection, {"id": "v", "count": 0}))
    assert root.tag == f"{{{NS}}}Collection"
    assert root.get("resourceURI") == f"{NS}/VolumeCollection"
    machine = etree.fromstring(xml_codec.encode(MACHINE, {"id": "m"}))
    assert machine.get("resourceURI") is None  # implied by the root QName
    bad = xml_doc("Collection", "<id>v</id>").replace("<Collection", '<Collection resourceURI="x"')
    with pytest.raises(DecodeError, match="resourceURI 'x' does not match"):
        xml_codec.decode(bad.encode(), collection)


def test_xml_elements_follow_the_table_order() -> None:
    value = {
        "operations": [{"rel": "edit", "href": "m"}],
        "eventLog": {"href": "l"},
        "state": "STOPPED",
        "cpuArch": "ARM",
        "cpu": 1,
        "properties": {"k": "v"},
        "id": "m",
    }
    root = etree.fromstring(xml_codec.encode(MACHINE, value))
    names = [etree.QName(child).localname for child in root]
    # CIMI 1.x array form (XML_WRAPPERS is False): one <property>/<operation>
    # element per entry, in the place of the attribute.
    assert names == ["id", "property", "state", "cpu", "cpuArch", "eventLog", "operation"]


# ---------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"flavour": "x"}, "Machine: unknown attribute"),
        ({"cpu": "1"}, "cpu: expected an integer"),
        ({"created": dt.datetime(2016, 1, 1)}, "created: a dateTime needs a time zone"),
        ({"created": "2016-01-01T00:00:00Z"}, "created: expected a dateTime"),
        ({"disks": "d"}, "disks: expected a mapping"),
        ({"disks": {"href": "d", "count": 1, "x": 2}}, "disks: unknown attribute"),
        ({"operations": {"rel": "edit"}}, "operations: expected a list"),
        ({"properties": {"k": 1}}, "properties: keys must be non-empty strings"),
        ({"resourceURI": "x"}, "unknown attribute"),
    ],
)
def test_encoding_checks_the_neutral_value(value: dict[str, Any], message: str) -> None:
    for encode in (json_codec.encode, xml_codec.encode):
        with pytest.raises(EncodeError, match=message):
            encode(MACHINE, value)


def test_by_media_type() -> None:
    value = {"id": "m", "cpu": 1}
    for media_type in ("application/json", "application/xml"):
        data = codec.encode(MACHINE, value, media_type)
        assert codec.decode(data, MACHINE, media_type + "; charset=utf-8") == value
    assert codec.decode(xml_codec.encode(MACHINE, value), MACHINE, "text/xml") == value
    with pytest.raises(DecodeError, match="unsupported media type 'text/plain'"):
        codec.decode(b"", MACHINE, "text/plain")
    with pytest.raises(ValueError, match="no CIMI encoder"):
        codec.encode(MACHINE, value, "text/plain")


def test_both_codecs_report_the_first_error_in_document_order() -> None:
    # Found by the equivalence property test: in the bare 1.x form, XML used to
    # gather array entries after the singular elements, so for a body with two
    # faults it reported the later one while JSON reported the earlier one.
    value = {"networkInterfaces": [{"addresses": [{"ip": "0"}], "network": {"id": "0"}}]}
    as_json = json_codec.encode(TEMPLATE, value)
    as_xml = xml_codec.encode(TEMPLATE, value)
    message = r"networkInterfaces\[0\]\.addresses\[0\]: a reference needs an href"
    with pytest.raises(DecodeError, match=message):
        json_codec.decode(as_json, TEMPLATE, mode=Mode.CREATE)
    with pytest.raises(DecodeError, match=message):
        xml_codec.decode(as_xml, TEMPLATE, mode=Mode.CREATE)
