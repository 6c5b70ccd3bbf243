"""The OCCI JSON Schemas (``schemas/occi/*.json``), loaded and compiled once.

The schemas are data written from GFD.226 (see each file's ``description`` for
where they deliberately differ from it). Each file has an ``$id`` under
:data:`BASE_URI` and refers to its siblings by relative ``$ref``; they resolve
through one :class:`referencing.Registry`, never over the network.

They are checked by jsonschema's Draft 2020-12 validator with one keyword
replaced: jsonschema's ``uniqueItems`` compares every pair of items it cannot
sort (an array mixing strings and objects), quadratic in a client's array;
Concord's (:func:`unique_items`) hashes each item once, with JSON Schema's
equality, so validation stays linear in the document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
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


def _key(value: Any) -> Any:
    """A hashable key equal for, and only for, values JSON Schema calls equal.

    Numbers are equal by value (``1`` is ``1.0``), a boolean is not a number,
    objects are equal whatever their member order. The depth is bounded by the
    parser before validation (:mod:`occi.parsing.limits`).
    """
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_key(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((name, _key(item)) for name, item in value.items()))
    return (type(value).__name__, value)


def unique_items(
    validator: Any, unique: bool, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """The ``uniqueItems`` keyword in time linear in the array (see the module docstring)."""
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[Any] = set()
    for item in instance:
        key = _key(item)
        if key in seen:
            yield ValidationError(f"the array has non-unique elements: {item!r:.80} is repeated")
            return
        seen.add(key)


#: Draft 2020-12 with the linear ``uniqueItems``.
Validator = validators.extend(Draft202012Validator, {"uniqueItems": unique_items})


@cache
def registry() -> Registry[Any]:
    """Every schema file, checked against the 2020-12 meta-schema, by its ``$id``.

    Each is registered without its ``$schema`` member (it is Draft 2020-12,
    checked here): following a ``$ref`` into a schema that names its
    ``$schema``, jsonschema would switch to the stock validator of that draft
    and so drop :data:`Validator`'s linear ``uniqueItems``.

    :raises jsonschema.exceptions.SchemaError: for a broken schema file.
    """
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(contents)
        if contents.get("$id") != BASE_URI + path.name:
            raise ValueError(f"{path.name}: $id must be {BASE_URI + path.name}")
        contents.pop("$schema", None)
        resources.append((contents["$id"], Resource.from_contents(contents, DRAFT202012)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Any:
    """The compiled validator of schema ``name`` (see :data:`SCHEMAS`).

    :raises KeyError: for an unknown name.
    """
    if name not in SCHEMAS:
        raise KeyError(f"no OCCI schema named {name!r}")
    schema = registry().contents(BASE_URI + f"{name}.json")
    return Validator(schema, registry=registry())


def compile_all() -> None:
    """Load, check and compile every schema now (at application start-up)."""
    for name in SCHEMAS:
        validator(name)


#: How many errors :func:`first_error` chooses the most relevant from: a body
#: with thousands of bad values is refused for one of its first few.
ERRORS_CONSIDERED = 64


def first_error(name: str, instance: object) -> ValidationError | None:
    """The most relevant reason ``instance`` fails schema ``name``, or None when valid.

    Validation stops after :data:`ERRORS_CONSIDERED` errors (jsonschema finds
    them lazily), so a body full of errors costs no more than a valid one.
    """
    return best_match(islice(validator(name).iter_errors(instance), ERRORS_CONSIDERED))


def is_valid(name: str, instance: object) -> bool:
    """Whether ``instance`` is valid against schema ``name``."""
    return validator(name).is_valid(instance)
