"""No import cycles between the modules of Concord's packages.

Two modules that import each other work only in one import order, and neither
can be understood, tested or moved without the other. The fix is a design one
(move the shared piece down, or invert the dependency), so a cycle counts
wherever its imports are: at the top, under ``if TYPE_CHECKING:`` or inside a
function (an import deferred into a function still ties the two modules
together; it only hides the cycle from the interpreter).

As in ``test_import_rule`` every ``.py`` file is parsed with :mod:`ast` and
nothing is imported; both tests share what an import statement is. The graph
has one node per module and an edge for each import: ``import a.b`` and
``from a import b`` (``b`` a module) lead to ``a.b``; ``from a.b import name``
leads to ``a.b``; relative imports resolve against the importing module.
Imports of anything outside the scanned packages are left out. A parent
package is not an implicit edge: Python runs ``a/__init__.py`` before
``a.b``, but that is not a dependency the importing module chose.

``engine`` is scanned too: its package-order test
(``tests/unit/engine/test_package_order.py``) keeps its capability packages
acyclic, and this one the modules inside each of them.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable
from pathlib import Path

import pytest
from test_import_rule import REPO, import_statements

#: The packages scanned, those of them that exist (``federation`` is written later).
PACKAGES = ("engine", "concord", "occi", "cimi", "conformance", "signing", "federation")

#: module -> {imported module: "path:line" of the first import statement}
Graph = dict[str, dict[str, str]]


def module_name(path: Path, root: Path) -> str:
    """``root/a/b/c.py`` is ``a.b.c``; ``root/a/b/__init__.py`` is ``a.b``."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _known(name: str, modules: Iterable[str]) -> str | None:
    # The module that defines ``name``: itself, or its longest prefix that is a module.
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    # The absolute dotted name of each thing the statement imports (a module, or
    # a name in one); relative imports are resolved against ``module``.
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    return [f"{base}.{alias.name}" if base else alias.name for alias in node.names]


def import_graph(packages: Iterable[str], root: Path = REPO) -> Graph:
    """The module import graph of ``root/<package>`` for each package that exists."""
    files = {
        module_name(path, root): path
        for package in packages
        if (root / package).is_dir()
        for path in sorted((root / package).rglob("*.py"))
    }
    graph: Graph = {module: {} for module in files}
    for module, path in files.items():
        where = path.relative_to(root)
        source = path.read_text(encoding="utf-8")
        # By line, so that an edge names the first statement that makes it.
        for node in sorted(import_statements(source, str(path)), key=lambda n: n.lineno):
            for name in _targets(node, module, path.name == "__init__.py"):
                target = _known(name, files)
                if target is not None and target != module:
                    graph[module].setdefault(target, f"{where}:{node.lineno}")
    return graph


def _reachable(graph: Graph, start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Every strongly connected component of more than one module, each sorted.

    Quadratic (one walk per module), which is nothing at a few hundred modules
    and easier to check by eye than Tarjan's algorithm.
    """
    reach = {module: _reachable(graph, module) for module in graph}
    components: list[list[str]] = []
    placed: set[str] = set()
    for module in sorted(graph):
        if module in placed:
            continue
        component = sorted(m for m in reach[module] if module in reach[m])
        placed.update(component)
        if len(component) > 1:
            components.append(component)
    return components


def describe(component: list[str], graph: Graph) -> str:
    """One shortest cycle through the component's first module, with where each edge is."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        if start in graph[module]:
            break
        for target in sorted(graph[module]):
            if target in members and target not in previous:
                previous[target] = module
                queue.append(target)
    path = [module]
    while path[-1] != start:
        path.append(previous[path[-1]])
    path.reverse()
    steps = [f"{a} -> {b} ({graph[a][b]})" for a, b in zip(path, [*path[1:], start], strict=True)]
    return f"cycle among {', '.join(component)}: " + "; ".join(steps)


def import_cycles(packages: Iterable[str], root: Path = REPO) -> list[str]:
    """A description of every import cycle among the modules of ``packages``."""
    graph = import_graph(packages, root)
    return [describe(component, graph) for component in strongly_connected(graph)]


def test_no_import_cycles() -> None:
    assert import_cycles(PACKAGES) == []


def test_the_packages_that_exist_are_actually_scanned() -> None:
    # A check over an empty graph would pass for nothing.
    graph = import_graph(PACKAGES)
    for package in ("engine", "concord", "occi", "cimi", "conformance"):
        assert sum(m.split(".")[0] == package for m in graph) >= 10, package
    assert "concord.cli.context" in graph["concord.cli.main"]
    assert "concord.cli.admin" in graph["concord.cli.main"]  # from concord.cli import admin
    assert {"concord.errors", "concord.negotiation"} <= set(graph["occi.errors"])  # across
    assert "engine.compute.models" in graph["engine.compute.service"]


def write(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


@pytest.mark.parametrize(
    ("files", "cycle"),
    [
        pytest.param(
            {"pkg/__init__.py": "", "pkg/a.py": "import pkg.b\n", "pkg/b.py": "import pkg.a\n"},
            "pkg.a, pkg.b",
            id="top-level",
        ),
        pytest.param(
            {
                "pkg/__init__.py": "",
                "pkg/a.py": "from pkg.b import f\n",
                "pkg/b.py": "def f():\n    from pkg.a import g\n",
            },
            "pkg.a, pkg.b",
            id="inside-a-function",
        ),
        pytest.param(
            {
                "pkg/__init__.py": "",
                "pkg/a.py": "from pkg import b\n",
                "pkg/b.py": (
                    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\n"
                ),
            },
            "pkg.a, pkg.b",
            id="type-checking",
        ),
        pytest.param(
            {
                "pkg/__init__.py": "",
                "pkg/sub/__init__.py": "from . import x\n",
                "pkg/sub/x.py": "from ..y import f\n",
                "pkg/y.py": "from .sub import z\n",
                "pkg/sub/z.py": "from . import x\n",
            },
            "pkg.sub.x, pkg.sub.z, pkg.y",
            id="relative-three-modules",
        ),
        pytest.param(
            {
                "pkg/__init__.py": "from pkg.impl import Thing\n",
                "pkg/impl.py": "from pkg import helper\n",
            },
            "pkg, pkg.impl",
            id="package-and-its-module",
        ),
        pytest.param(
            {"one/__init__.py": "import two\n", "two/__init__.py": "from one import x\n"},
            "one, two",
            id="across-packages",
        ),
    ],
)
def test_the_checker_finds_cycles(tmp_path: Path, files: dict[str, str], cycle: str) -> None:
    write(tmp_path, files)
    packages = sorted({name.split("/")[0] for name in files})
    found = import_cycles(packages, root=tmp_path)
    assert len(found) == 1, found
    assert found[0].startswith(f"cycle among {cycle}: "), found
    assert ".py:" in found[0], found  # names where each import is


def test_the_graph_resolves_each_form_of_import(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": '"""import pkg.a"""\nfrom pkg.a import A\n',
            "pkg/a.py": (
                "import os\nimport pkg.sub.x\nfrom pkg import b\nfrom pkg.c import f, g\n"
                "from . import c\nimport engine.db  # not scanned\nimport pkg.a  # itself\n"
            ),
            "pkg/b.py": "# import pkg.a\nimport pkg\n",
            "pkg/c.py": "",
            "pkg/sub/__init__.py": "from .x import f\nfrom .. import c\n",
            "pkg/sub/x.py": "from ..b import h\nfrom .. import sub\n",
        },
    )
    assert import_graph(["pkg", "absent"], root=tmp_path) == {
        "pkg": {"pkg.a": "pkg/__init__.py:2"},
        "pkg.a": {
            "pkg.sub.x": "pkg/a.py:2",
            "pkg.b": "pkg/a.py:3",
            "pkg.c": "pkg/a.py:4",
        },
        "pkg.b": {"pkg": "pkg/b.py:2"},
        "pkg.c": {},
        "pkg.sub": {"pkg.sub.x": "pkg/sub/__init__.py:1", "pkg.c": "pkg/sub/__init__.py:2"},
        "pkg.sub.x": {"pkg.b": "pkg/sub/x.py:1", "pkg.sub": "pkg/sub/x.py:2"},
    }


@pytest.mark.parametrize(
    "files",
    [
        pytest.param(
            {
                "pkg/__init__.py": "",
                "pkg/a.py": "import pkg.b\nfrom pkg.c import f\n",
                "pkg/b.py": "from pkg import c\nimport pkg  # the package alone: no cycle\n",
                "pkg/c.py": "import os\n",
            },
            id="a-chain",
        ),
        pytest.param(
            {
                "pkg/__init__.py": "",
                "pkg/sub/__init__.py": "from .x import f\n",
                "pkg/sub/x.py": "from ..y import g\n",
                "pkg/y.py": "def g():\n    from pkg import z\n",
                "pkg/z.py": "",
            },
            id="relative",
        ),
        pytest.param(
            {"one/__init__.py": "import two.m\n", "two/__init__.py": "", "two/m.py": "import os\n"},
            id="across-packages",
        ),
    ],
)
def test_the_checker_accepts_an_acyclic_tree(tmp_path: Path, files: dict[str, str]) -> None:
    write(tmp_path, files)
    packages = sorted({name.split("/")[0] for name in files})
    assert import_cycles(packages, root=tmp_path) == []
    assert len(import_graph(packages, root=tmp_path)) == len(files)  # every module scanned
