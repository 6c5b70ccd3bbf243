"""A smoke run of bench/ha.py with 3 guests: a host dies and its guests run elsewhere."""

from __future__ import annotations

import pytest

from bench.ha import run
from engine.ha.config import HaConfig


def test_the_ha_benchmark_runs_small() -> None:
    figures = run(3)
    assert figures["down_after"] == HaConfig().down_after
    # Declared down only after down_after of silence, counted from the last answer,
    # which came at most one check interval before the death.
    assert figures["detection"] >= HaConfig().down_after - HaConfig().check_interval
    assert figures["total"] == pytest.approx(figures["detection"] + figures["recovery"])
    assert figures["recovery"] > 0 and figures["baseline"] > 0
