"""``concord host fence-config|fence`` and ``concord ha status|history|resume|fencers``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from unit.concord.test_cli import Run, _fails, _host, _ok, run  # noqa: F401  (the fixture)

from engine.db import Database
from engine.drivers.factory import DriverCache
from engine.ha.config import HaConfig
from engine.ha.recovery import Recovery


def _zone(run: Run, tmp_path: Path) -> None:  # noqa: F811
    _ok(run, "zone", "create", "z1")
    _ok(run, "pod", "create", "p1", "--zone", "z1")
    _ok(run, "cluster", "create", "c1", "--pod", "p1", "--zone", "z1")
    for name in ("node-1", "node-2"):
        _ok(run, "host", "add", _host(tmp_path, name), "--cluster", "c1")


def test_fencing_configuration_and_an_operators_fence(run: Run, tmp_path: Path) -> None:  # noqa: F811
    _zone(run, tmp_path)
    assert _ok(run, "host", "fence-config", "node-1") == (
        "host node-1: fencer libvirt (the default: none configured)\n"
    )
    out = _ok(
        run,
        "host",
        "fence-config",
        "node-1",
        "--fencer",
        "process",
        "--option",
        "pid_file=/run/node-1.pid",
        "--option",
        "guest_pid_dir=/run/q",
    )
    assert out == "host node-1: fencer process guest_pid_dir=/run/q pid_file=/run/node-1.pid\n"
    assert "no option 'pid'" in _fails(
        run, "host", "fence-config", "node-2", "--fencer", "process", "--option", "pid=1"
    )
    assert "needs the option pid_file or pgid" in _fails(
        run, "host", "fence-config", "node-2", "--fencer", "process"
    )
    assert "KEY=VALUE" in _fails(
        run, "host", "fence-config", "node-2", "--fencer", "libvirt", "--option", "uri"
    )
    assert "no host 'node-9'" in _fails(run, "host", "fence-config", "node-9")
    fencers = _ok(run, "ha", "fencers")
    assert "libvirt\n" in fencers and "  pid_file: " in fencers

    status = _ok(run, "ha", "status").splitlines()
    assert status[0].split() == [
        "HOST",
        "STATE",
        "HEALTH",
        "LAST_OK",
        "FENCER",
        "HA_STEP",
        "MESSAGE",
    ]
    assert status[1].split() == ["node-1", "up", "unknown", "process"]

    out = _ok(run, "host", "fence", "node-2")
    assert out.startswith("host node-2: declared down; HA fences and recovers it")
    assert "already being handled" in _fails(run, "host", "fence", "node-2")
    rows = {r["host"]: r for r in json.loads(_ok(run, "ha", "status", "--format", "json"))}
    assert (rows["node-2"]["state"], rows["node-2"]["ha_step"]) == ("down", "detected")
    assert rows["node-1"]["ha_step"] == ""

    out = _ok(run, "host", "fence", "node-2", "--confirm")
    assert out.startswith("host node-2: confirmed off; HA restarts its HA guests")
    (item,) = json.loads(_ok(run, "ha", "history", "--format", "json"))
    assert item["host"] == "node-2" and item["step"] == "fenced"
    assert [h["step"] for h in item["history"]] == ["detected", "fenced", "guests"]
    assert item["history"][1]["detail"] == "confirmed off by an operator"
    text = _ok(run, "ha", "history", "--host", "node-2")
    assert "host of host node-2: fenced" in text and "confirmed off by an operator" in text
    assert _ok(run, "ha", "history", "--host", "node-1") == "(none)\n"
    assert _ok(run, "ha", "resume", "z1") == "zone z1: 0 held host(s) released to HA\n"
    assert "no zone 'z9'" in _fails(run, "ha", "resume", "z9")


def test_a_host_ha_works_on_cannot_be_enabled(run: Run, tmp_path: Path) -> None:  # noqa: F811
    _zone(run, tmp_path)
    _ok(run, "host", "fence", "node-2")
    error = _fails(run, "host", "enable", "node-2")
    assert "host node-2 is being handled by HA (its item is detected)" in error
    assert "concord host fence node-2 --confirm" in error
    _ok(run, "host", "fence", "node-2", "--confirm")
    assert "(its item is fenced)" in _fails(run, "host", "enable", "node-2")
    # Its recovery ends (it had no guests): the host may come back.
    database = Database(os.environ["CONCORD_DATABASE_URL"])
    try:
        Recovery(database, DriverCache(), HaConfig(), worker_id="test").run_once()
    finally:
        database.dispose()
    assert _ok(run, "host", "enable", "node-2") == "host node-2 is up and enabled\n"
    rows = {r["host"]: r for r in json.loads(_ok(run, "ha", "status", "--format", "json"))}
    assert (rows["node-2"]["state"], rows["node-2"]["ha_step"]) == ("up", "")
