"""A smoke run of bench/filtered_listing.py with 30 Machines: it runs, and says what it measured."""

from __future__ import annotations

from bench.filtered_listing import run


def test_the_filtered_listing_benchmark_runs_small() -> None:
    lines = run(None, machines=30, requests=2, repeats=1)
    assert lines[0].startswith("database sqlite, 30 Machines")
    assert lines[1].startswith("GET Machine (baseline): ")
    assert len(lines) == 7
    assert all(line.endswith("x the single GET") for line in lines[1:])
