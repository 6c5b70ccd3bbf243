"""Sanity of the field tables: the shape DSP0263 gives every resource, Collection and request."""

from __future__ import annotations

import re

import pytest

from cimi import schemagen
from cimi.resources import (
    CEP_COLLECTIONS,
    COLLECTION_KEYS,
    NS,
    NS_ALT,
    TABLES,
    Access,
    Field,
    Kind,
    Place,
    Role,
    Table,
    by_uri,
    collection_of,
    create_table,
    table,
)
from cimi.resources._common import XML_WRAPPERS

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # 5.2
COMMON = ["resourceURI", "id", "name", "description", "created", "updated", "parent", "properties"]

RESOURCES = sorted(n for n, t in TABLES.items() if t.role is Role.RESOURCE)
COLLECTIONS = sorted(n for n, t in TABLES.items() if t.role is Role.COLLECTION)


def get(t: Table, name: str) -> Field:
    """The field *name* of *t*, which must exist."""
    found = t.get(name)
    assert found is not None, f"{t.name} has no {name}"
    return found


def every_table() -> list[Table]:
    """Every table, nested structures included."""
    found: dict[int, Table] = {}
    pending = list(TABLES.values())
    while pending:
        current = pending.pop()
        if id(current) in found:
            continue
        found[id(current)] = current
        pending.extend(f.table for f in current.fields if f.table is not None)
    return list(found.values())


def test_the_brief_types_are_all_modelled() -> None:
    expected = {
        "CloudEntryPoint", "Machine", "MachineTemplate", "MachineConfiguration", "MachineImage",
        "Credential", "CredentialTemplate", "MachineVolume", "MachineNetworkInterface",
        "MachineNetworkInterfaceAddress", "Volume", "VolumeTemplate", "VolumeConfiguration",
        "VolumeImage", "Network", "NetworkTemplate", "NetworkConfiguration", "NetworkPort",
        "Address", "AddressTemplate", "Job", "ResourceMetadata", "Action",
    }  # fmt: skip
    assert expected <= set(TABLES)
    for name in expected - {"CloudEntryPoint", "Action"}:
        assert collection_of(name).member == name


@pytest.mark.parametrize("name", RESOURCES)
def test_resources_open_with_the_common_attributes_and_close_with_operations(name: str) -> None:
    fields = [f.name for f in table(name).fields]
    common = [c for c in COMMON if name != "CloudEntryPoint" or c != "parent"]  # 5.12
    assert fields[: len(common)] == common
    assert fields[-1] == "operations"
    assert get(table(name), "id").required


@pytest.mark.parametrize("name", sorted(TABLES))
def test_type_uris_are_in_the_cimi_1_namespace(name: str) -> None:
    t = table(name)
    assert NS == "http://schemas.dmtf.org/cimi/1"  # DSP0263 1.x 4.1.1, what clients speak
    assert t.uri == f"{NS}/{name}"
    assert by_uri(t.uri) is t
    assert by_uri(f"{NS_ALT}/{name}") is t  # DSP0263 2.0 clients
    assert t.fields[0].name == "resourceURI"
    assert t.fields[0].place is Place.IMPLIED


@pytest.mark.parametrize("t", every_table(), ids=lambda t: t.name)
def test_names_are_identifiers_and_xml_names_are_unique(t: Table) -> None:
    names = [f.name for f in t.fields]
    assert len(names) == len(set(names)), "a wire name appears twice"
    elements: list[str] = []
    for f in t.fields:
        assert IDENTIFIER.fullmatch(f.name), f.name
        if f.place is Place.ELEMENT:
            elements.append(f.name)
            if f.many or f.kind is Kind.MAP:
                assert f.item and IDENTIFIER.fullmatch(f.item)
                assert f.item != f.name
                elements.append(f.item)
    assert len(elements) == len(set(elements)), "an XML element name is ambiguous"


@pytest.mark.parametrize("t", every_table(), ids=lambda t: t.name)
def test_fields_are_consistent(t: Table) -> None:
    texts = [f for f in t.fields if f.place is Place.TEXT]
    assert len(texts) <= 1
    if texts:
        assert all(f.place is not Place.ELEMENT for f in t.fields)
    for f in t.fields:
        if f.place in (Place.ATTRIBUTE, Place.TEXT):
            assert f.kind.scalar and not f.many, f.name
        if f.kind is Kind.ENUM:
            assert f.values
        if f.kind in (Kind.STRUCT, Kind.RESOURCE):
            assert f.table is not None
        if f.kind in (Kind.REF, Kind.COLLECTION) and f.target is not None:
            assert f.target in TABLES
        if f.kind is Kind.COLLECTION and f.target is not None:
            assert collection_of(f.target)
        if f.create_required:
            assert f.access is not Access.READ_ONLY, f"{f.name} is required but not writable"
        if f.pattern:
            re.compile(f.pattern)
        if f.many and f.kind is Kind.REF:
            assert not f.wrapped, "arrays of references are never wrapped (5.5.11)"
        elif f.many or f.kind is Kind.MAP:
            # CIMI 1.x form: bare <operation/>*, <property key=..>*, <Member>* entries.
            assert f.wrapped is XML_WRAPPERS, f.name


@pytest.mark.parametrize("name", COLLECTIONS)
def test_collection_wrappers_are_consistent(name: str) -> None:
    t = table(name)
    assert t.member is not None
    member = table(t.member)
    assert name == t.member + "Collection"
    assert t.xml_root == "Collection"
    assert [f.name for f in t.fields] == [
        "resourceURI", "id", "updated", "parent", "count", COLLECTION_KEYS[t.member], "operations",
    ]  # fmt: skip
    items = t.items_field
    assert items is not None
    assert items.many
    assert items.wrapped is XML_WRAPPERS is False  # 1.x: <Member>* directly in <Collection>
    assert items.item == member.name
    assert items.table is member
    assert get(t, "count").required


def test_collection_keys_follow_cimi_1() -> None:
    # cimi.md 2.1 and 6.2: long entry keys, and two exceptions to "add an s".
    assert COLLECTION_KEYS["MachineConfiguration"] == "machineConfigurations"
    assert COLLECTION_KEYS["Address"] == "addresses"
    assert COLLECTION_KEYS["ResourceMetadata"] == "resourceMetadata"


def test_cloud_entry_point_lists_collections_in_spec_order() -> None:
    cep = table("CloudEntryPoint")
    keys = [f.name for f in cep.fields if f.kind is Kind.COLLECTION]
    assert keys == [key for key, _ in CEP_COLLECTIONS]
    assert keys[:6] == ["resourceMetadata", "systems", "systemTemplates", "machines",
                        "machineTemplates", "machineConfigs"]  # fmt: skip
    assert get(cep, "baseURI").required
    # Short CEP keys, long entry keys (cimi.md 2.1).
    assert get(cep, "machineConfigs").target == "MachineConfiguration"
    assert get(collection_of("MachineConfiguration"), "machineConfigurations").many
    for _, member in CEP_COLLECTIONS:
        if member is not None:
            assert collection_of(member)


def test_element_order_follows_the_spec() -> None:
    def specific(name: str) -> list[str]:
        return [f.name for f in table(name).fields if f.name not in [*COMMON, "operations"]]

    # The spec's order, then Concord's extension attributes (docs/cimi.rst).
    assert specific("Machine") == [
        "state", "cpu", "memory", "disks", "cpuArch", "volumes", "networkInterfaces", "eventLog",
        "placementGroup", "placementPolicy", "highlyAvailable", "stateMessage", "zone",
    ]  # fmt: skip
    assert specific("MachineConfiguration") == ["cpu", "memory", "disks", "cpuArch"]
    assert specific("VolumeConfiguration") == ["type", "format", "capacity"]
    assert specific("Job")[:4] == ["state", "targetResource", "affectedResources", "action"]


def test_create_tables() -> None:
    assert create_table("Machine").name == "MachineCreate"
    assert create_table("Volume").name == "VolumeCreate"
    assert create_table("MachineTemplate").name == "MachineTemplate"
    machine_create = table("MachineCreate")
    assert machine_create.role is Role.REQUEST
    template = get(machine_create, "machineTemplate")
    assert template.create_required
    assert template.target == "MachineTemplate"
    assert get(table("Action"), "action").create_required


def test_by_uri_of_an_unknown_type() -> None:
    assert by_uri(f"{NS}/System") is None
    assert by_uri("http://example.com/Machine") is None


def test_the_checked_in_schemas_are_up_to_date() -> None:
    assert schemagen.stale() == [], "run: python -m cimi.schemagen"
