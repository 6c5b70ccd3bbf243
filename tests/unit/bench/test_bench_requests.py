"""A smoke run of bench/requests.py: tiny, both transports, every scenario.

Each scenario first asserts that Concord and the minimal-correct server
answer byte-identical bodies (bench.requests.check_identical); this test
makes that assertion run in the suite, and checks the table names every
scenario with a ratio.
"""

from __future__ import annotations

from bench.requests import run


def test_the_request_benchmark_runs_small_with_identical_answers() -> None:
    lines = run(None, computes=20, seconds=0.01, transports=("wsgi", "http"))
    assert lines[0].startswith("python ") and "load average" in lines[0]
    rows = lines[2:-1]
    assert len(rows) == 12 * 2  # 5 single, 5 listings, a create, an action
    for row in rows:
        ours, theirs, ratio = row.split("  (")[0].split()[-3:]
        assert float(ours) > 0 and float(theirs) > 0
        assert abs(float(ratio) - float(ours) / float(theirs)) < 0.01
    assert {row.split("  (")[0].split()[-4] for row in rows} == {"wsgi", "http"}
    assert lines[-1].startswith("load average at the end")
