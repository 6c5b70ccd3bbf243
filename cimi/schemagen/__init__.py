"""Generate ``schemas/cimi`` (JSON Schemas and XSDs) from the field tables.

The schemas are data, checked in and loaded by :mod:`cimi.schemas`; this
module rewrites them after a table changes, and a unit test fails while they
are stale::

    python -m cimi.schemagen            # rewrite schemas/cimi
    python -m cimi.schemagen --check    # exit 1 if anything would change

The schemas and the codecs are two independent walks of the same tables, so
validating encoded documents against the schemas checks the codecs; fixtures
transcribed from the DSP0263 pseudo-schemas check the tables themselves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cimi.resources import TABLES, Role
from cimi.schemagen import jsonschema, xsd
from cimi.schemas import SCHEMA_DIR


def _json(document: object) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def render() -> dict[str, bytes]:
    """Every generated file: path relative to ``schemas/cimi`` -> content."""
    files = {"json/common.json": _json(jsonschema.COMMON)}
    for table in TABLES.values():
        files[f"json/{table.name}.json"] = _json(jsonschema.document(table))
    files[f"xsd/{xsd.MAIN}"] = xsd.serialise(xsd.main_schema())
    for table in TABLES.values():
        if table.role is Role.COLLECTION:
            files[f"xsd/{table.name}.xsd"] = xsd.serialise(xsd.collection_schema(table))
    return files


def stale(root: Path = SCHEMA_DIR) -> list[str]:
    """Generated files that are missing, different, or no longer generated, under *root*."""
    files = render()
    out = [name for name, data in files.items() if _read(root / name) != data]
    for folder in ("json", "xsd"):
        for path in sorted((root / folder).glob("*")):
            name = f"{folder}/{path.name}"
            if name not in files:
                out.append(name)
    return sorted(out)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write(root: Path = SCHEMA_DIR) -> list[str]:
    """Rewrite the generated files under *root*; return those that changed."""
    changed = stale(root)
    files = render()
    for folder in ("json", "xsd"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name in changed:
        path = root / name
        if name in files:
            path.write_bytes(files[name])
        else:
            path.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    """Command line: rewrite the schemas, or with ``--check`` report stale ones."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        names = stale()
        for name in names:
            print(f"stale: schemas/cimi/{name}")
        return 1 if names else 0
    if args:
        print("usage: python -m cimi.schemagen [--check]", file=sys.stderr)
        return 2
    for name in write():
        print(f"wrote schemas/cimi/{name}")
    return 0
