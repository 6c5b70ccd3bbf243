"""/metrics reports the engine (jobs, their latency, hosts, capacity) and labels CIMI requests
by type and operation, from closed sets."""

from __future__ import annotations

import re

import pytest
from functional.cimi.conftest import Cloud
from functional.cimi.flows import template
from functional.cimi.support import Cimi
from webtest import TestApp


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    found = re.findall(r"^" + re.escape(name) + r"\{([^}]*)\} (\S+)$", text, re.MULTILINE)
    return [(dict(re.findall(r'(\w+)="([^"]*)"', labels)), float(v)) for labels, v in found]


def _value(text: str, name: str, **labels: str) -> float:
    return sum(
        v for found, v in _samples(text, name) if all(found.get(k) == w for k, w in labels.items())
    )


@pytest.mark.parametrize("fmt", ["json"])
def test_engine_series_follow_jobs_hosts_and_capacity(
    app: TestApp, alice: Cimi, cloud: Cloud
) -> None:
    before = app.get("/metrics").text
    assert _value(before, "concord_hosts", state="up") == 1
    assert _value(before, "concord_hosts", state="down") == 0
    assert _value(before, "concord_capacity", zone="z1", resource="vcpus", figure="total") == 16
    assert _value(before, "concord_capacity", zone="z1", resource="vcpus", figure="allocated") == 0

    body = {"name": "web", "machineTemplate": template(alice)}
    alice.add(alice.collection("machines"), "MachineCreate", body, status=202)
    queued = app.get("/metrics").text
    waiting = {
        k["action"]: v for k, v in _samples(queued, "concord_jobs") if k["state"] == "queued"
    }
    assert sum(waiting.values()) == 1
    (action,) = [a for a, v in waiting.items() if v == 1]
    assert action != "other"  # a job action the handler registry knows
    cloud.run()
    after = app.get("/metrics").text
    assert sum(v for k, v in _samples(after, "concord_jobs") if k["state"] == "queued") == 0
    assert _value(after, "concord_capacity", zone="z1", resource="vcpus", figure="allocated") == 1
    finished = _value(after, "concord_job_duration_seconds_gcount", action=action)
    assert finished == 1
    inf = _value(after, "concord_job_duration_seconds_bucket", action=action, le="+Inf")
    assert inf == finished


@pytest.mark.parametrize("fmt", ["json"])
def test_cimi_requests_are_labelled_by_type_and_operation(
    app: TestApp, alice: Cimi, cloud: Cloud
) -> None:
    alice.entries("machines")
    alice.get(alice.collection("machineConfigs"))
    for i in range(30):  # made-up paths add no kind
        alice.request("GET", f"/cimi/nothing{i}/x", status=404)
    text = app.get("/metrics").text
    series = _samples(text, "concord_http_requests_total")
    assert _value(text, "concord_http_requests_total", kind="Machine", operation="query") == 1
    assert (
        _value(text, "concord_http_requests_total", kind="MachineConfiguration", operation="query")
        == 1
    )
    kinds = {labels["kind"] for labels, _ in series}
    assert not any(k.startswith("nothing") for k in kinds)
    assert _value(text, "concord_http_requests_total", route="cimi.path", kind="-") == 30
    assert len(series) < 20
