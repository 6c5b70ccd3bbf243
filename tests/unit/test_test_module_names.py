"""No two test modules share a file name.

The test tree has no packages (pytest's default "prepend" import mode), so
each test module is imported by its bare name: a second module of the same
name anywhere under tests/ is an "import file mismatch" collection error as
soon as one run collects both, which a run of one directory never shows.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_name_is_unique() -> None:
    where: defaultdict[str, list[str]] = defaultdict(list)
    for path in sorted(TESTS.rglob("test_*.py")):
        where[path.name].append(str(path.relative_to(TESTS)))
    shared = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert not shared, f"test modules sharing a name: {shared}"
