"""A smoke run of bench/serve_workers.py: tiny, one and two real worker processes."""

from __future__ import annotations

import pytest

from bench.serve_workers import run

pytestmark = pytest.mark.integration  # it starts `concord serve` processes


def test_the_workers_benchmark_runs_small() -> None:
    lines = run(None, workers=[1, 2], clients=2, seconds=0.3, threads=2)
    assert lines[0].startswith("python ") and "load average" in lines[0]
    rows = [line.split() for line in lines[2:-1]]
    assert [row[0] for row in rows] == ["1", "2"]
    for row in rows:
        assert float(row[1]) > 0
    assert rows[0][2] == "1.00"
    # The CPU seconds of each worker: one figure, then two.
    assert [len(row) for row in rows] == [5, 6]
    assert lines[-1].startswith("load average at the end")
