"""Usage through CIMI's monitoring model (DSP0263 5.17.3): Meters, Samples, MeterConfigurations.

A tenant creates, stops and starts a Machine through CIMI; its events are
then placed at chosen moments (so that the usage has figures worth
checking), usage is aggregated, and the tenant reads its Meters in JSON and
in XML: the totals are exactly those ``concord usage report`` prints. A
tenant of another domain sees no Meter and gets 404 for alice's.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from functional.cimi.conftest import Cloud
from functional.cimi.flows import create_machine
from functional.cimi.support import Cimi
from functional.usage_support import cli_report, retime_and_aggregate


def used_machine(alice: Cimi, cloud: Cloud) -> str:
    """A Machine created running, stopped and started again; its events 20 minutes apart."""
    url = create_machine(alice, cloud)
    alice.act(url, "stop")
    cloud.run()
    alice.act(url, "start")
    cloud.run()
    retime_and_aggregate(cloud.database)
    return url


def test_a_tenant_reads_exactly_the_cli_figures_as_meters(
    alice: Cimi,
    carol: Cimi,
    cloud: Cloud,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    machine = used_machine(alice, cloud)
    expected = {
        (row["type"], row["offering"]): (row["quantity"], row["amount"])
        for row in cli_report(cloud.database, monkeypatch, capsys)
    }
    assert {kind for kind, _ in expected} == {"allocated_vm", "running_vm", "cpu", "memory"}
    meters = alice.entries("meters")
    assert len(meters) == len(expected)
    seen = {}
    for meter in meters:
        key = (meter["usageType"], meter.get("offering", ""))
        seen[key] = (meter["quantity"], str(Decimal(meter["total"]).quantize(Decimal("0.000001"))))
        assert meter["targetResource"] == {"href": machine}
        assert meter["aspect"] == "urn:x-concord:usage:" + meter["usageType"]
        assert (meter["timeScope"], meter["intervalDuration"]) == ("Interval", "PT1H")
        samples = alice.entries(meter["samples"]["href"])
        assert sum(Decimal(s["value"]) for s in samples) == Decimal(meter["total"])
        assert sum(s["quantity"] for s in samples) == meter["quantity"]
        assert Decimal(meter["minValue"]) == min(Decimal(s["value"]) for s in samples)
        alice.get(samples[0]["id"])
    assert seen == expected
    # alice's usage is invisible to carol: none listed, 404 by id.
    assert carol.entries("meters") == []
    carol.request("GET", meters[0]["id"], status=404)
    carol.request("GET", meters[0]["samples"]["href"], status=404)
    alice.request("GET", alice.collection("meters") + "/nothing.cpu", status=404)


def test_meters_cannot_be_created_or_changed(alice: Cimi, cloud: Cloud) -> None:
    used_machine(alice, cloud)
    meter = alice.entries("meters")[0]
    assert "operations" not in meter
    alice.request("DELETE", meter["id"], status=405)


def test_meter_configurations_describe_every_usage_type(alice: Cimi, cloud: Cloud) -> None:
    configs = {c["name"]: c for c in alice.entries("meterConfigs")}
    assert set(configs) == {
        "running_vm", "allocated_vm", "cpu", "memory", "ip_address", "volume", "template",
        "snapshot", "network",
    }  # fmt: skip
    assert configs["memory"]["units"] == "GiB-hour"
    assert configs["cpu"]["sampleInterval"] == 3600


def test_administrators_see_every_tenants_meters(alice: Cimi, admin: Cimi, cloud: Cloud) -> None:
    used_machine(alice, cloud)
    assert len(admin.entries("meters")) == len(alice.entries("meters"))
