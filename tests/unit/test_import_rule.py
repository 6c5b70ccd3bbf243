"""The import rule of DESIGN.md: ``engine`` <- ``concord`` <- {``occi``, ``cimi``, ``federation``}.

Every ``.py`` file is parsed with :mod:`ast` (nothing is imported), and every
real ``import`` statement is checked, wherever it is: at the top, inside a
function or under ``if TYPE_CHECKING:``. Strings are not imports: the app
factory includes the renderings by name (``config.include("occi")``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FORBIDDEN: dict[str, set[str]] = {
    "engine": {"pyramid", "webob", "lxml", "occi", "cimi", "federation", "concord", "conformance"},
    "occi": {"cimi", "federation", "conformance"},
    "cimi": {"occi", "federation", "conformance"},
    "federation": {"occi", "cimi", "conformance"},
    "conformance": {"engine", "occi", "cimi", "federation", "concord"},
    "concord": {"occi", "cimi", "federation", "conformance"},
    # The signature profile both the server and the harness sign and verify with:
    # it depends on neither, nor on a web framework.
    "signing": {
        "engine",
        "concord",
        "occi",
        "cimi",
        "federation",
        "conformance",
        "pyramid",
        "webob",
    },
}


def import_statements(source: str, filename: str) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every ``import`` and ``from ... import`` statement in ``source``, wherever it is.

    Shared with ``test_import_cycles``, so that both tests agree on what an
    import is (in a function or under ``if TYPE_CHECKING:`` too; never a string).
    """
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def imported_modules(source: str, filename: str, package: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line, top-level module)`` for every import statement in ``source``.

    Relative imports resolve to ``package`` (the file's top-level package):
    they cannot leave it without ``..`` beyond the top, which Python forbids.
    """
    for node in import_statements(source, filename):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield node.lineno, package
            elif node.module:
                yield node.lineno, node.module.split(".")[0]


def violations(package: str, root: Path = REPO) -> list[str]:
    """Every forbidden import under ``root/package``, as ``path:line imports module``."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for line, module in imported_modules(source, str(path), package):
            if module in FORBIDDEN[package]:
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def python_files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_rule(package: str) -> None:
    assert violations(package) == []


def test_the_packages_that_exist_are_actually_scanned() -> None:
    # A rule checked over zero files would pass for nothing.
    for package in ("engine", "concord", "occi"):
        assert len(python_files(package)) >= 3, package
    engine_imports = {
        module
        for path in python_files("engine")
        for _, module in imported_modules(path.read_text(encoding="utf-8"), str(path), "engine")
    }
    assert {"sqlalchemy", "engine"} <= engine_imports


def test_concord_includes_the_renderings_by_name_only() -> None:
    app = (REPO / "concord" / "app.py").read_text(encoding="utf-8")
    assert 'config.include("occi")' in app
    assert "occi" not in {m for _, m in imported_modules(app, "app.py", "concord")}


@pytest.mark.parametrize(
    ("package", "source", "culprit"),
    [
        ("engine", "import pyramid.config\n", "pyramid"),
        ("engine", "from webob import Request\n", "webob"),
        ("engine", "def f():\n    from lxml import etree\n", "lxml"),
        (
            "engine",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import concord\n",
            "concord",
        ),
        ("engine", "import os, occi.views\n", "occi"),
        ("occi", "from cimi.codecs import x\n", "cimi"),
        ("cimi", "try:\n    import occi\nexcept ImportError:\n    pass\n", "occi"),
        ("conformance", "from engine.errors import NotFound\n", "engine"),
        ("concord", "class A:\n    import cimi\n", "cimi"),
    ],
)
def test_the_checker_finds_violations(
    tmp_path: Path, package: str, source: str, culprit: str
) -> None:
    (tmp_path / package / "sub").mkdir(parents=True)
    (tmp_path / package / "sub" / "bad.py").write_text(source, encoding="utf-8")
    found = violations(package, root=tmp_path)
    assert len(found) == 1 and found[0].endswith(f"imports {culprit}"), found


@pytest.mark.parametrize(
    ("package", "source"),
    [
        ("concord", 'config.include("occi")\nconfig.include("cimi")\n'),
        ("concord", "# import occi\n"),
        ("concord", '"""import cimi"""\n'),
        ("occi", "from . import views\nfrom .categories import Kind\n"),
        ("engine", "import sqlalchemy\nimport engine.db\n"),
        ("occi", "import concord.errors\nimport engine.errors\n"),
    ],
)
def test_the_checker_ignores_what_is_not_a_forbidden_import(
    tmp_path: Path, package: str, source: str
) -> None:
    (tmp_path / package).mkdir()
    (tmp_path / package / "ok.py").write_text(source, encoding="utf-8")
    assert violations(package, root=tmp_path) == []
