"""The repository's schemas, loaded by path (never by importing ``occi`` or ``cimi``).

``schemas/occi/*.json`` (GFD.226), ``schemas/cimi/json/*.json`` and
``schemas/cimi/xsd/*.xsd`` (DSP0263). Each JSON file has an ``$id``; cross-file
``$ref`` resolve through an in-memory registry, never the network. Missing or
broken files do not stop a run: the validation cases skip with the reason.
"""

from __future__ import annotations

import json
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

#: ``schemas/`` next to this package: the repository checkout or the installed tree.
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "schemas"


class SchemaUnavailable(Exception):
    """The schema needed is missing or does not load; the message says why."""


def _registry(directory: Path) -> tuple[Registry[Any], dict[str, str]]:
    resources = []
    ids: dict[str, str] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            contents = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SchemaUnavailable(f"{path} does not load: {exc}") from exc
        schema_id = contents.get("$id") if isinstance(contents, dict) else None
        if not isinstance(schema_id, str):
            raise SchemaUnavailable(f"{path} has no $id")
        ids[path.stem] = schema_id
        resources.append((schema_id, Resource.from_contents(contents, DRAFT202012)))
    return Registry().with_resources(resources), ids


def _messages(validator: Draft202012Validator, instance: Any, limit: int) -> list[str]:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}"
        for e in errors[:limit]
    ]


class Schemas:
    """Validators over one ``schemas/`` directory."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or DEFAULT_ROOT
        self._validators: dict[tuple[str, str], Draft202012Validator] = {}
        self._xsd: dict[str, etree.XMLSchema] = {}

    @staticmethod
    @cache
    def at(root: Path | None = None) -> Schemas:
        """The (shared, compiled once) validators of ``root``."""
        return Schemas(root)

    @cached_property
    def _occi(self) -> tuple[Registry[Any], dict[str, str]]:
        directory = self.root / "occi"
        if not directory.is_dir():
            raise SchemaUnavailable(f"no OCCI schemas at {directory}")
        return _registry(directory)

    @cached_property
    def _cimi(self) -> tuple[Registry[Any], dict[str, str]]:
        directory = self.root / "cimi" / "json"
        if not directory.is_dir():
            raise SchemaUnavailable(f"no CIMI JSON schemas at {directory}")
        return _registry(directory)

    def _validator(self, family: str, name: str) -> Draft202012Validator:
        key = (family, name)
        if key not in self._validators:
            registry, ids = self._occi if family == "occi" else self._cimi
            if name not in ids:
                raise SchemaUnavailable(f"no {family} schema named {name!r} under {self.root}")
            try:
                schema = registry.contents(ids[name])
                Draft202012Validator.check_schema(schema)
            except (SchemaError, Unresolvable) as exc:
                raise SchemaUnavailable(f"{family} schema {name!r} is broken: {exc}") from exc
            self._validators[key] = Draft202012Validator(schema, registry=registry)
        return self._validators[key]

    def occi_errors(self, name: str, instance: Any, limit: int = 5) -> list[str]:
        """Why ``instance`` breaks OCCI schema ``name`` (``category-collection``...); [] if valid.

        :raises SchemaUnavailable: the schema cannot be used.
        """
        return _messages(self._validator("occi", name), instance, limit)

    def cimi_json_errors(self, type_name: str, instance: Any, limit: int = 5) -> list[str]:
        """Why ``instance`` breaks the CIMI JSON schema of ``type_name``; [] if valid.

        :raises SchemaUnavailable: the schema cannot be used.
        """
        return _messages(self._validator("cimi", type_name), instance, limit)

    def cimi_namespace(self) -> str:
        """The XML namespace the CIMI XSD describes.

        :raises SchemaUnavailable: no usable XSD.
        """
        return str(self._xsd_for("cimi").getroot().get("targetNamespace"))

    def _xsd_for(self, file_stem: str) -> Any:
        path = self.root / "cimi" / "xsd" / f"{file_stem}.xsd"
        if not path.is_file():
            raise SchemaUnavailable(f"no XSD at {path}")
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        try:
            return etree.parse(str(path), parser)
        except (OSError, etree.XMLSyntaxError) as exc:
            raise SchemaUnavailable(f"{path} does not load: {exc}") from exc

    def cimi_xml_errors(self, type_name: str, body: bytes, limit: int = 5) -> list[str]:
        """Why an XML document of ``type_name`` breaks the XSD; [] if valid.

        Collections have an XSD of their own (``<Type>Collection.xsd``), every other
        type is checked against ``cimi.xsd``.

        :raises SchemaUnavailable: the XSD cannot be used.
        """
        stem = type_name if type_name.endswith("Collection") else "cimi"
        if stem not in self._xsd:
            try:
                self._xsd[stem] = etree.XMLSchema(self._xsd_for(stem))
            except etree.XMLSchemaParseError as exc:
                raise SchemaUnavailable(f"the XSD {stem}.xsd is broken: {exc}") from exc
        schema = self._xsd[stem]
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        try:
            document = etree.fromstring(body, parser)
        except etree.XMLSyntaxError as exc:
            return [f"not well-formed: {exc}"]
        if schema.validate(document):
            return []
        return [f"line {e.line}: {e.message[:200]}" for e in list(schema.error_log)[:limit]]
