"""The OCCI JSON Schemas (``schemas/occi/*.json``), loaded and compiled once.

The schemas are data written from GFD.226 (see each file's ``description`` for
where they deliberately differ from it). Each file has an ``$id`` under
:data:`BASE_URI` and refers to its siblings by relative ``$ref``; they resolve
through one :class:`referencing.Registry`, never over the network.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "occi"
BASE_URI = "https://concord.invalid/schemas/occi/"

#: The schema names (file names without ``.json``) and what they validate.
SCHEMAS = {
    "entity": "one resource or link",
    "entities": "one entity or an entity collection (creation requests)",
    "resource": "a resource (GFD.226 §3.1.1)",
    "link": "a link (GFD.226 §3.1.2)",
    "entity-collection": "resources and links (GFD.226 §3.4)",
    "action-invocation": "an action invocation (GFD.226 §3.2)",
    "kind": "a Kind (GFD.226 §4.1)",
    "mixin": "a Mixin (GFD.226 §4.2)",
    "action": "an Action (GFD.226 §4.3)",
    "category-collection": "the query interface model (GFD.226 §4.5)",
    "locations": "a list of locations",
    "error": "an error answer in the JSON renderings (not in GFD.226: Concord's own)",
}


@cache
def registry() -> Registry[Any]:
    """Every schema file, checked against the 2020-12 meta-schema, by its ``$id``.

    :raises jsonschema.exceptions.SchemaError: for a broken schema file.
    """
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(contents)
        if contents.get("$id") != BASE_URI + path.name:
            raise ValueError(f"{path.name}: $id must be {BASE_URI + path.name}")
        resources.append((contents["$id"], Resource.from_contents(contents, DRAFT202012)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """The compiled validator of schema ``name`` (see :data:`SCHEMAS`).

    :raises KeyError: for an unknown name.
    """
    if name not in SCHEMAS:
        raise KeyError(f"no OCCI schema named {name!r}")
    schema = registry().contents(BASE_URI + f"{name}.json")
    return Draft202012Validator(schema, registry=registry())


def compile_all() -> None:
    """Load, check and compile every schema now (at application start-up)."""
    for name in SCHEMAS:
        validator(name)


def first_error(name: str, instance: object) -> ValidationError | None:
    """The most relevant reason ``instance`` fails schema ``name``, or None when valid."""
    return best_match(validator(name).iter_errors(instance))


def is_valid(name: str, instance: object) -> bool:
    """Whether ``instance`` is valid against schema ``name``."""
    return validator(name).is_valid(instance)
