"""Load and compile the CIMI schemas under ``schemas/cimi`` once.

JSON Schemas are compiled with :mod:`jsonschema` (draft 2020-12), their
cross-file ``$ref`` resolved through an in-memory :mod:`referencing` registry
(never the network). XSDs are compiled with :class:`lxml.etree.XMLSchema`; a
Collection document is checked against its own schema (``<Collection>`` has
different content per Collection type), everything else against ``cimi.xsd``.

The schemas describe what Concord *sends* (full representations) and the
request bodies (``Action``, ``<Type>Create``). Client bodies are validated by
the codecs, whose messages name the offending attribute.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast

from jsonschema import Draft202012Validator
from lxml import etree
from referencing import Registry, Resource

from cimi.resources import TABLES, Role, Table

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "cimi"
JSON_DIR = SCHEMA_DIR / "json"
XSD_DIR = SCHEMA_DIR / "xsd"


@cache
def _registry() -> Registry[Any]:
    resources = []
    for path in sorted(JSON_DIR.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        resources.append((document["$id"], Resource.from_contents(document)))
    registry: Registry[Any] = Registry().with_resources(resources)
    return registry.crawl()


@cache
def json_validator(name: str) -> Draft202012Validator:
    """The compiled JSON Schema validator of the type called *name*.

    :raises FileNotFoundError: when there is no schema of that name.
    """
    document = json.loads((JSON_DIR / f"{name}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document, registry=_registry())


@cache
def xml_schema(name: str) -> etree.XMLSchema:
    """The compiled XSD that validates documents of the type called *name*."""
    file = f"{name}.xsd" if name.endswith("Collection") else "cimi.xsd"
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(XSD_DIR / file), parser))


def json_errors(table: Table, document: Mapping[str, Any]) -> list[str]:
    """Messages for every way *document* breaks *table*'s JSON Schema (empty when valid)."""
    validator = json_validator(table.name)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def xml_errors(table: Table, root: etree._Element) -> list[str]:
    """Messages for every way the XML document *root* breaks the XSD (empty when valid)."""
    schema = xml_schema(table.name if table.role is Role.COLLECTION else "cimi")
    if schema.validate(root):
        return []
    log = cast("Iterable[Any]", schema.error_log)  # lxml-stubs lack _ErrorLog.__iter__
    return [f"line {e.line}: {e.message}" for e in log]


def load_all() -> None:
    """Compile every schema now (at start-up) rather than on first use."""
    for table in TABLES.values():
        json_validator(table.name)
        if table.role is Role.COLLECTION:
            xml_schema(table.name)
    xml_schema("cimi")
