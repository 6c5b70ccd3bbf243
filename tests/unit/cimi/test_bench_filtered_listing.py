"""A smoke run of bench/filtered_listing.py with 30 Machines: it runs, and says what it measured."""

from __future__ import annotations

from bench.filtered_listing import run


def test_the_filtered_listing_benchmark_runs_small() -> None:
    lines = run(None, machines=30, requests=2, repeats=1)
    assert lines[0].startswith("database sqlite, 30 Machines")
    assert lines[1].startswith("GET Machine (baseline): ")
    assert len(lines) == 14
    assert all(line.endswith("x the single GET") for line in lines[1:])
    assert any(line.startswith("$select=name (every entry): ") for line in lines)
    assert any(line.startswith("OCCI DELETE ?occi.core.title=nobody: ") for line in lines)


def test_a_match_keeps_the_baseline_and_the_chosen_scenarios() -> None:
    lines = run(None, machines=12, requests=1, repeats=1, match="OCCI last page")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "GET Machine (baseline)",
        "OCCI last page of 10, text/plain",
        "OCCI last page of 10, JSON",
    ]
