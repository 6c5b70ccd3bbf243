"""The engine's capability packages depend on each other in one order.

``engine/`` holds one package per capability (DESIGN.md, "Layout"). A
capability may import the capabilities *below* it in :data:`ORDER` and the
shared base modules, never one above it: so the packages form no cycle, and a
newcomer reads them bottom-up. The base modules (:data:`BASE`) import no
capability at all, except :mod:`engine.scope`'s reads of tenancy's tables,
which go through table names, not the models.

A module whose name starts with ``_`` is private to its package: only modules
of the same package import it (tests may, to test it).

Every file is parsed with :mod:`ast`; nothing is imported. Imports inside
functions and under ``if TYPE_CHECKING:`` count: a dependency is a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

#: The capability packages, lowest first. A package may import those before it.
ORDER = (
    "tenancy",
    "events",
    "jobs",
    "resources",
    "inventory",
    "catalog",
    "allocation",
    "storage",
    "network",
    "compute",
    "ha",
    "templates",
    "usage",
    "federation",
)
#: Shared by every capability; they import none.
BASE = frozenset({"db", "errors", "scope", "prepared", "naming", "lifecycle", "drivers", "schema"})
#: Assemble every capability (all tables, all job handlers): above them all.
TOP = frozenset({"tables", "handlers", "migrations"})


def engine_imports(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line, dotted module)`` for every ``engine.*`` import in ``path``.

    ``from engine.x import y`` yields ``engine.x.y`` when ``y`` is a module or
    package under ``root``, else ``engine.x``; relative imports are resolved
    against the file's own package.
    """
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "engine":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module.split(".")[0] != "engine":
                continue
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                as_path = root.joinpath(*candidate.split("."))
                if as_path.is_dir() or as_path.with_suffix(".py").is_file():
                    yield node.lineno, candidate
                else:
                    yield node.lineno, module


def layer(module: str) -> str | None:
    """The first component under ``engine`` (``compute`` for ``engine.compute.models``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def violations(root: Path = REPO) -> list[str]:
    """Every import that breaks the package order or reaches into another package's privates."""
    found = []
    for path in sorted((root / "engine").rglob("*.py")):
        if "versions" in path.parts:
            continue  # generated migrations import nothing of the engine's
        own_parts = path.relative_to(root).with_suffix("").parts
        own = own_parts[1] if len(own_parts) > 1 else None
        for line, module in engine_imports(path, root):
            where = f"{path.relative_to(root)}:{line} imports {module}"
            target = layer(module)
            if target is None or target == own:
                continue
            private = [p for p in module.split(".")[2:] if p.startswith("_")]
            if private:
                found.append(f"{where} (private to engine.{target})")
            if own in TOP or target in BASE:
                continue
            if own in BASE:
                found.append(f"{where} (a base module imports no capability)")
            elif target in TOP:
                found.append(f"{where} (only the assembly modules import {target})")
            elif own in ORDER and target in ORDER and ORDER.index(target) > ORDER.index(own):
                found.append(f"{where} ({target} is above {own})")
            elif own not in ORDER or target not in ORDER:
                found.append(f"{where} (unknown package: add it to ORDER, BASE or TOP)")
    return found


def test_capabilities_import_only_the_capabilities_below_them() -> None:
    assert violations() == []


def test_every_engine_package_is_placed() -> None:
    packages = {p.name for p in (REPO / "engine").iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in (REPO / "engine").glob("*.py") if p.stem != "__init__"}
    assert packages | modules == set(ORDER) | BASE | TOP


def test_every_capability_says_what_it_is_and_uses() -> None:
    for name in ORDER:
        docstring = ast.get_docstring(
            ast.parse((REPO / "engine" / name / "__init__.py").read_text())
        )
        assert docstring and "Uses:" in docstring and "Entry points:" in docstring, name


def test_no_engine_module_is_long() -> None:
    # Small modules (DESIGN.md, "Style"): split before ~400 lines. The
    # autogenerated initial migration is the one exception.
    long = [
        f"{p.relative_to(REPO)}: {n}"
        for p in sorted((REPO / "engine").rglob("*.py"))
        if "versions" not in p.parts and (n := len(p.read_text().splitlines())) > 420
    ]
    assert long == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, source in {"engine/__init__.py": "", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("files", "culprit"),
    [
        (
            {
                "engine/tenancy/__init__.py": "",
                "engine/tenancy/service.py": "from engine.compute.models import Compute\n",
                "engine/compute/__init__.py": "",
                "engine/compute/models.py": "",
            },
            "compute is above tenancy",
        ),
        (
            {
                "engine/storage/__init__.py": "",
                "engine/storage/state.py": "def f():\n    from engine.network import ipam\n",
                "engine/network/__init__.py": "",
                "engine/network/ipam.py": "",
            },
            "network is above storage",
        ),
        (
            {
                "engine/scope.py": "from engine.tenancy.models import Domain\n",
                "engine/tenancy/__init__.py": "",
                "engine/tenancy/models.py": "",
            },
            "a base module imports no capability",
        ),
        (
            {
                "engine/templates/__init__.py": "",
                "engine/templates/service.py": "from engine.compute import _guest\n",
                "engine/compute/__init__.py": "",
                "engine/compute/_guest.py": "",
            },
            "private to engine.compute",
        ),
        (
            {"engine/compute/__init__.py": "", "engine/compute/x.py": "import engine.tables\n"},
            "only the assembly modules import tables",
        ),
    ],
)
def test_the_checker_finds_violations(tmp_path: Path, files: dict[str, str], culprit: str) -> None:
    found = violations(_tree(tmp_path, files))
    assert len(found) == 1 and culprit in found[0], found


def test_the_checker_accepts_downward_and_relative_imports(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "engine/tenancy/__init__.py": "",
            "engine/tenancy/models.py": "from engine.db import Base\n",
            "engine/compute/__init__.py": "",
            "engine/compute/_guest.py": "",
            "engine/compute/service.py": (
                "from engine.tenancy.models import Account\n"
                "from . import _guest\n"
                "from engine.compute._guest import x\n"
            ),
            "engine/tables.py": "from engine.compute import service\n",
        },
    )
    assert violations(root) == []
