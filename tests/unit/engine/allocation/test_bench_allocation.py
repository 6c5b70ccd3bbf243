"""A smoke run of bench/allocation.py with 50 hosts: it runs, and says what it measured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.allocation import run
from engine.allocation.allocators import BUILT_IN


def test_the_allocation_benchmark_runs_small() -> None:
    lines = run(None, [50], placements=3)
    assert lines[0].startswith("database sqlite")
    assert lines[1].startswith("50 hosts: floor")
    measured = {line.split()[0] for line in lines[2:]}
    assert measured == set(BUILT_IN)
    assert all("x the floor   (before commit " in line for line in lines[2:])


def test_the_openstack_placement_comparison_runs_small() -> None:
    pytest.importorskip("placement.direct", reason="the bench extra is not installed")
    lines = run(None, [50], placements=2, openstack=True)
    compared = lines[lines.index(next(x for x in lines if "openstack placement" in x)) + 1 :]
    assert {line.split()[0] for line in compared} == set(BUILT_IN)
    assert all(line.endswith("x") and float(line.split()[1][:-1]) > 0 for line in compared)


def test_the_comparison_runs_as_the_script_the_results_name() -> None:
    """``python bench/allocation.py``: bench/ comes first on sys.path, where its
    requests.py would shadow the ``requests`` package placement's keystoneauth1 imports."""
    pytest.importorskip("placement.direct", reason="the bench extra is not installed")
    root = Path(__file__).resolve().parents[4]
    script = ["bench/allocation.py", "--hosts", "50", "--placements", "2", "--openstack"]
    done = subprocess.run(
        [sys.executable, *script],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "50 hosts: openstack placement candidates + claim" in done.stdout
