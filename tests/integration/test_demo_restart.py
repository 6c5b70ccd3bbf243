"""Restarting the demo keeps its guests: the simulated hosts are saved at shutdown.

``concord serve --demo`` is started in a temporary directory, a tenant creates two
machines through CIMI (one left running, one stopped) and a volume, the server is stopped
with SIGTERM, and a new server on the same directory finds them all, in the same states,
after its start-up reconciliation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from integration.processes import ManagedProcess, basic_auth, demo_env, http, start_demo, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEADERS = {
    **basic_auth("demo", "demo"),
    "Accept": "application/json",
    "Content-Type": "application/json",
}


def _cimi(server: ManagedProcess, method: str, path: str, body: object = None) -> dict:
    url = path if path.startswith("http") else server.url + path
    reply = http(method, url, headers=HEADERS, body=None if body is None else json.dumps(body))
    assert reply.status < 300, (method, path, reply)
    return json.loads(reply.text) if reply.text else {}


def _path(href: str) -> str:
    return "/cimi/" + href.split("/cimi/", 1)[1]


def _wait_state(server: ManagedProcess, path: str, state: str) -> None:
    wait_until(
        lambda: _cimi(server, "GET", path)["state"] == state,
        60,
        f"{path} to be {state}",
        server.tail,
    )


def test_a_restart_keeps_the_guests_in_their_states(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = demo_env(tmp_path / "home")
    first = start_demo(work, env, tmp_path / "first.log")
    try:
        configs = _cimi(first, "GET", "/cimi/machineConfigs?$filter=name='small'")
        images = _cimi(first, "GET", "/cimi/machineImages?$filter=name='alpine-3.20'")
        template = {
            "machineConfig": {"href": configs["machineConfigurations"][0]["id"]},
            "machineImage": {"href": images["machineImages"][0]["id"]},
        }
        machines = {}
        for name in ("web", "batch"):
            job = _cimi(
                first, "POST", "/cimi/machines", {"name": name, "machineTemplate": template}
            )
            machines[name] = _path(job["targetResource"]["href"])
        volume_job = _cimi(
            first,
            "POST",
            "/cimi/volumes",
            {"name": "data", "volumeTemplate": {"volumeConfig": {"capacity": 1048576}}},
        )
        volume = _path(volume_job["targetResource"]["href"])
        for path in machines.values():
            _wait_state(first, path, "STARTED")
        _wait_state(first, volume, "AVAILABLE")
        stop = {
            "resourceURI": "http://schemas.dmtf.org/cimi/1/Action",
            "action": "http://schemas.dmtf.org/cimi/1/action/stop",
        }
        _cimi(first, "POST", machines["batch"], stop)
        _wait_state(first, machines["batch"], "STOPPED")
        before = {name: _cimi(first, "GET", path) for name, path in machines.items()}
    finally:
        first.stop()
    assert first.returncode == 0, first.tail()
    assert "saved the demo hosts (2 guest(s))" in first.log()

    second = start_demo(work, env, tmp_path / "second.log")
    try:
        wait_until(lambda: "reconciled at start" in second.log(), 30, "reconciliation", second.tail)
        for name, path in machines.items():
            after = _cimi(second, "GET", path)
            assert after["state"] == before[name]["state"], (name, after)
            assert after["state"] in ("STARTED", "STOPPED")
        assert _cimi(second, "GET", volume)["state"] == "AVAILABLE"
        # The running one still acts as a running guest: it stops.
        _cimi(second, "POST", machines["web"], {**stop})
        _wait_state(second, machines["web"], "STOPPED")
    finally:
        second.stop()
