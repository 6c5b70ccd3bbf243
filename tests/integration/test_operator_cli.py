"""The operator's view of a live demo: compute, volume, job and event lists, host remove.

A real ``concord serve --demo`` runs in a temporary directory; a tenant creates a machine
and a volume through CIMI; the commands run as processes beside it (``CONCORD_DEMO=true``,
the demo's database), as an operator would run them.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from integration.processes import (
    ManagedProcess,
    basic_auth,
    concord_argv,
    demo_env,
    http,
    start_demo,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEMO = basic_auth("demo", "demo")
JSON = {**DEMO, "Accept": "application/json", "Content-Type": "application/json"}


@dataclass
class Demo:
    server: ManagedProcess
    work: Path
    env: dict[str, str]
    machine: str  # its id
    volume: str

    def concord(self, *args: str, status: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            concord_argv(*args),
            env={**self.env, "CONCORD_DEMO": "true"},
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == status, (args, result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> object:
        return json.loads(self.concord(*args, "--format", "json").stdout)


def _cimi(server: ManagedProcess, method: str, path: str, body: object = None) -> dict[str, object]:
    reply = http(
        method,
        server.url + path,
        headers=JSON,
        body=None if body is None else json.dumps(body),
    )
    assert reply.status < 300, reply
    return json.loads(reply.text) if reply.text else {}


def _first_id(server: ManagedProcess, collection: str, key: str, name: str) -> str:
    found = _cimi(server, "GET", f"/cimi/{collection}?$filter=name='{name}'")
    return str(found[key][0]["id"])  # type: ignore[index]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("operator")
    (root / "home").mkdir()
    work = root / "work"
    work.mkdir()
    env = demo_env(root / "home")
    server = start_demo(work, env, root / "demo.log")
    try:
        config = _first_id(server, "machineConfigs", "machineConfigurations", "small")
        image = _first_id(server, "machineImages", "machineImages", "alpine-3.20")
        job = _cimi(
            server,
            "POST",
            "/cimi/machines",
            {
                "name": "web1",
                "machineTemplate": {
                    "machineConfig": {"href": config},
                    "machineImage": {"href": image},
                },
            },
        )
        machine = str(job["targetResource"]["href"]).rsplit("/", 1)[1]  # type: ignore[index]
        volume_job = _cimi(
            server,
            "POST",
            "/cimi/volumes",
            {"name": "data", "volumeTemplate": {"volumeConfig": {"capacity": 1048576}}},
        )
        volume = str(volume_job["targetResource"]["href"]).rsplit("/", 1)[1]  # type: ignore[index]

        def done() -> bool:
            m = _cimi(server, "GET", f"/cimi/machines/{machine}")
            v = _cimi(server, "GET", f"/cimi/volumes/{volume}")
            return m["state"] == "STARTED" and v["state"] == "AVAILABLE"

        wait_until(done, 60, "the machine to start and the volume to be available", server.tail)
        yield Demo(server, work, env, machine, volume)
    finally:
        server.stop()


def test_compute_list_and_show_see_the_tenants_machine(demo: Demo) -> None:
    (row,) = demo.json("compute", "list")
    assert row["id"] == demo.machine and row["name"] == "web1"
    assert row["account"] == "ROOT/demo/demo" and row["state"] == "running"
    assert row["host"].startswith("demo-host-") and row["zone"] == "demo-zone"
    table = demo.concord("compute", "list").stdout.splitlines()
    assert table[0].split()[:4] == ["NAME", "ACCOUNT", "STATE", "HOST"]
    assert table[1].split()[:3] == ["web1", "ROOT/demo/demo", "running"]
    assert demo.json("compute", "list", "--account", "demo", "--domain", "ROOT/demo") == [row]
    assert demo.json("compute", "list", "--state", "stopped") == []
    other = "demo-host-1" if row["host"] != "demo-host-1" else "demo-host-2"
    assert demo.json("compute", "list", "--host", other) == []
    assert demo.json("compute", "list", "--host", row["host"]) == [row]

    shown = demo.json("compute", "show", "web1")
    assert shown["id"] == demo.machine and shown["power_state"] is not None
    assert shown["jobs"] and all(j["state"] == "success" for j in shown["jobs"])
    text = demo.concord("compute", "show", demo.machine).stdout
    assert "id:" in text and demo.machine in text and "jobs:" in text
    missing = demo.concord("compute", "show", "nope", status=1)
    assert missing.stderr.strip() == "concord: error: no compute 'nope'"


def test_volume_list(demo: Demo) -> None:
    (row,) = demo.json("volume", "list")
    assert (row["id"], row["name"], row["account"]) == (demo.volume, "data", "ROOT/demo/demo")
    assert row["size_gib"] == 1.0 and row["attached_to"] is None and row["pool"]
    assert "data" in demo.concord("volume", "list").stdout


def test_job_list_and_show(demo: Demo) -> None:
    jobs = demo.json("job", "list")
    targets = {j["target"].split("/", 1)[1] for j in jobs}
    assert {demo.machine, demo.volume} <= targets
    assert all(j["account"] == "ROOT/demo/demo" for j in jobs)
    machine_jobs = demo.json("job", "list", "--target", demo.machine)
    assert machine_jobs and all(j["target"].endswith(demo.machine) for j in machine_jobs)
    assert demo.json("job", "list", "--state", "failed") == []
    shown = demo.json("job", "show", machine_jobs[-1]["id"])
    assert shown["state"] == "success" and shown["started"] is not None
    assert demo.json("job", "list", "--limit", "1") == jobs[:1]


def test_event_list_filters_by_account_host_and_time(demo: Demo) -> None:
    events = demo.json("event", "list")
    resources = {e["resource"].split("/", 1)[1] for e in events}
    assert demo.machine in resources and demo.volume in resources
    assert [e["seq"] for e in events] == sorted((e["seq"] for e in events), reverse=True)
    mine = demo.json("event", "list", "--account", "demo", "--domain", "ROOT/demo")
    assert mine and all(e["account"] == "ROOT/demo/demo" for e in mine)
    (host,) = {r["host"] for r in demo.json("compute", "list")}
    on_host = demo.json("event", "list", "--host", host)
    assert on_host and {e["resource"].split("/", 1)[1] for e in on_host} <= resources
    assert demo.volume not in {e["resource"].split("/", 1)[1] for e in on_host}
    assert demo.json("event", "list", "--since", "2999-01-01") == []
    assert demo.json("event", "list", "--until", "2000-01-01") == []
    assert len(demo.json("event", "list", "--since", "2000-01-01")) == len(events)
    bad = demo.concord("event", "list", "--since", "yesterday", status=2)
    assert "not an ISO 8601 time" in bad.stderr


def test_host_remove_names_the_guests_that_block_it(demo: Demo) -> None:
    (row,) = demo.json("compute", "list")
    result = demo.concord("host", "remove", row["host"], status=1)
    assert result.stderr.startswith(
        f"concord: error: host '{row['host']}' still has 1 compute(s) placed on it: "
        f"web1 ({demo.machine}, ROOT/demo/demo, running)"
    )
    assert row["host"] in demo.concord("host", "list").stdout


def test_lists_are_empty_tables_or_empty_json_elsewhere(tmp_path: Path) -> None:
    """On a database with nothing of the kind, table and JSON say so."""
    env = demo_env(tmp_path)
    env["CONCORD_DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    run = {"env": env, "cwd": tmp_path, "capture_output": True, "text": True, "check": True}
    subprocess.run(concord_argv("init"), **run)  # type: ignore[call-overload]
    for command in (["compute", "list"], ["volume", "list"], ["job", "list"], ["event", "list"]):
        out = subprocess.run(concord_argv(*command), **run).stdout  # type: ignore[call-overload]
        assert out.strip() == "(none)"
        out = subprocess.run(concord_argv(*command, "--format", "json"), **run).stdout  # type: ignore[call-overload]
        assert json.loads(out) == []
