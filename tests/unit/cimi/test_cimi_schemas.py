"""The schema loader: every checked-in schema compiles, and finds its documents."""

from __future__ import annotations

import pytest
from lxml import etree

from cimi import schemas
from cimi.resources import TABLES, Role, table


def test_every_schema_compiles() -> None:
    schemas.load_all()
    for name in TABLES:
        assert schemas.json_validator(name) is schemas.json_validator(name)  # compiled once


def test_schemas_are_found_relative_to_the_repository() -> None:
    assert schemas.SCHEMA_DIR.name == "cimi"
    assert schemas.SCHEMA_DIR.parent.name == "schemas"
    assert (schemas.XSD_DIR / "cimi.xsd").is_file()
    collections = [n for n, t in TABLES.items() if t.role is Role.COLLECTION]
    for name in collections:
        assert (schemas.XSD_DIR / f"{name}.xsd").is_file()
        assert (schemas.JSON_DIR / f"{name}.json").is_file()


def test_each_collection_schema_accepts_only_its_own_entries() -> None:
    volumes = b"""<Collection xmlns="http://schemas.dmtf.org/cimi/1"
        resourceURI="http://schemas.dmtf.org/cimi/1/VolumeCollection">
        <id>v</id><count>1</count><Volume><id>v/1</id></Volume></Collection>"""
    root = etree.fromstring(volumes)
    assert schemas.xml_errors(table("VolumeCollection"), root) == []
    assert schemas.xml_errors(table("MachineCollection"), root)


def test_an_unknown_schema_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        schemas.json_validator("System")
