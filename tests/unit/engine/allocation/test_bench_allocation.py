"""A smoke run of bench/allocation.py with 50 hosts: it runs, and says what it measured."""

from __future__ import annotations

from bench.allocation import run
from engine.allocation.allocators import BUILT_IN


def test_the_allocation_benchmark_runs_small() -> None:
    lines = run(None, [50], placements=3)
    assert lines[0].startswith("database sqlite")
    assert lines[1].startswith("50 hosts: floor")
    measured = {line.split()[0] for line in lines[2:]}
    assert measured == set(BUILT_IN)
    assert all(line.endswith("x the floor") for line in lines[2:])
