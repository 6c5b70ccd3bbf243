"""A smoke run of bench/scale.py: two tiny sizes, every scenario, its checks on each answer.

Each scenario checks what it got (the tenant's entries only, one entry for
the filters, 201 then 200 or 204 for the write), so a run that completes is
one in which the tenant never saw another tenant's guests.
"""

from __future__ import annotations

from pathlib import Path

from bench.requests_setup import seed
from bench.scale import count_guests, grow, run
from engine.db import Database
from engine.schema import upgrade


def test_the_scale_benchmark_runs_small() -> None:
    lines = run(None, sizes=(12, 40), tenant_guests=5, requests=1, repeats=1)
    assert lines[0].startswith("python ") and "tenant guests 5" in lines[0]
    assert lines[1].startswith("measured at ") and lines[2].startswith("measured at ")
    assert int(lines[2].split()[2]) >= 40
    assert lines[3].split()[-1] == "40/12"
    rows = lines[4:]
    assert len(rows) == 8
    for row in rows:
        first, last, ratio = row.split()[-3:]
        assert float(first) > 0 and float(last) > 0
        assert abs(float(ratio.rstrip("x")) - float(last) / float(first)) < 0.02


def test_growing_adds_other_tenants_guests_up_to_the_size(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'grow.sqlite'}")
    upgrade(database)
    seed(database, tmp_path, 3)
    grow(database, 17, per_tenant=5)
    assert count_guests(database) == 17
    grow(database, 10, per_tenant=5)  # never shrinks
    assert count_guests(database) == 17
    database.dispose()
