"""Usage through OCCI: Concord's ``meter`` Kind at ``/meter/`` (docs/occi.rst, "Usage").

alice creates a compute through OCCI, stops and starts it; its events are
then placed at chosen moments and usage is aggregated. alice reads her
meters in text/plain and in JSON and sees exactly the figures
``concord usage report`` prints for her account; bob (another account of
her domain) and carol (another domain) see none of them, and a meter of
hers is a 404 for them, as a meter that does not exist is. Meters are read
only; a bad filter is a 400 in OCCI's rendering.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from functional.occi.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    OCCI_JSON,
    RESOURCE_TPL_SCHEME,
    TEXT_PLAIN,
    OcciClient,
    categories_of,
    collection_of,
)
from functional.usage_support import cli_report, retime_and_aggregate
from unit.engine.cloud import Cloud

METER = "http://schemas.concord.invalid/occi/usage#meter"
SIX = Decimal("0.000001")


def used_compute(occi: OcciClient, cloud: Cloud) -> str:
    """A compute created running, stopped and started again; its events 20 minutes apart."""
    path = occi.create(
        COMPUTE, {"occi.core.title": "web"}, mixins=[RESOURCE_TPL_SCHEME + cloud.ids["small"]]
    )
    cloud.run_jobs()
    occi.invoke(path, COMPUTE_ACTION + "stop")
    cloud.run_jobs()
    occi.invoke(path, COMPUTE_ACTION + "start")
    cloud.run_jobs()
    retime_and_aggregate(cloud.database)
    return path


def figures(attributes: dict[str, object]) -> tuple[object, str]:
    """A meter's exact quantity and its total to the CLI's six places."""
    total = Decimal(str(attributes["concord.usage.total"])).quantize(SIX)
    return attributes["concord.usage.quantity"], str(total)


def test_a_tenant_reads_exactly_the_cli_figures_as_meters(
    occi: OcciClient,
    cloud: Cloud,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    compute = used_compute(occi, cloud)
    expected = {
        (row["type"], row["offering"]): (row["quantity"], row["amount"])
        for row in cli_report(cloud.database, monkeypatch, capsys)
    }
    assert {kind for kind, _ in expected} == {"allocated_vm", "running_vm", "cpu", "memory"}
    # text/plain: the listing gives locations, each meter is read on its own.
    locations = occi.listing("/meter/")
    assert len(locations) == len(expected)
    seen_text = {}
    for location in locations:
        meter = occi.read(location)
        assert meter.kind == METER
        values = dict(meter.attributes)
        assert values["concord.usage.resource.location"] == compute
        assert location == "/meter/" + str(values["occi.core.id"])
        seen_text[(values["concord.usage.type"], values["concord.usage.offering"])] = figures(
            values
        )
    assert seen_text == expected
    # JSON: the listing renders the meters in full.
    listed = collection_of(occi.request("GET", "/meter/", accept=OCCI_JSON, status=200))
    seen_json = {
        (m.attributes["concord.usage.type"], m.attributes["concord.usage.offering"]): figures(
            dict(m.attributes)
        )
        for m in listed.resources
    }
    assert seen_json == expected
    one = occi.read(locations[0], OCCI_JSON)
    assert one.attributes["concord.usage.seconds"] > 0
    # A filter on an attribute of the Kind selects among them.
    cpu = occi.listing("/meter/?concord.usage.type=cpu")
    assert len(cpu) == 1
    assert occi.read(cpu[0]).attributes["concord.usage.type"] == "cpu"
    # Other tenants see none of them, and a meter of alice's is their 404.
    for other in ("bob", "carol"):
        them = occi.as_user(other)
        assert them.listing("/meter/") == []
        json_listing = collection_of(them.request("GET", "/meter/", accept=OCCI_JSON, status=200))
        assert json_listing.resources == ()
        made_up = "/meter/00000000-0000-4000-8000-000000000000.cpu"
        unknown = them.request("GET", made_up, status=404).text
        for location in locations:
            # The same answer as for a meter that does not exist, but for the id.
            answer = them.request("GET", location, status=404).text
            assert answer.replace(location.rsplit("/", 1)[1], "ID") == unknown.replace(
                made_up.rsplit("/", 1)[1], "ID"
            )
        filtered = f"/meter/?concord.usage.resource.id={compute.rsplit('/', 1)[1]}"
        assert them.listing(filtered) == []
    # The root administrator sees every tenant's.
    assert len(occi.as_user("admin").listing("/meter/")) == len(expected)


def test_meters_are_read_only(occi: OcciClient, cloud: Cloud) -> None:
    used_compute(occi, cloud)
    location = occi.listing("/meter/")[0]
    for method, path in (
        ("POST", "/meter/"),
        ("PUT", location),
        ("POST", location),
        ("DELETE", location),
        ("DELETE", "/meter/"),
        ("POST", location + "?action=stop"),
    ):
        response = occi.request(method, path, status=405)
        assert response.headers["Allow"] == "GET, HEAD"
    assert occi.listing("/meter/")[0] == location
    assert occi.request("HEAD", location, status=200).body == b""
    # Nor can a user Mixin be associated with a meter.
    occi.define_tag("billing", "/billing/")
    occi.members("/billing/", [location], "POST", status=404)
    assert occi.listing("/billing/") == []


def test_bad_requests_are_the_clients_errors_in_occi(occi: OcciClient, cloud: Cloud) -> None:
    response = occi.request("GET", "/meter/?concord.usage.type=nothing", status=400)
    assert "concord.usage.type" in response.text
    occi.request("GET", "/meter/?page=1", status=400)
    occi.request("GET", "/meter/a/b", status=404)
    occi.request("GET", "/meter/nothing", status=404)
    occi.request("GET", "/meter/", accept="application/pdf", status=406)


def test_the_meter_kind_is_discoverable(occi: OcciClient, cloud: Cloud) -> None:
    for media in (TEXT_PLAIN, OCCI_JSON):
        found = categories_of(occi.request("GET", "/-/", accept=media, status=200))
        kinds = {c.scheme + c.term: c for c in found.categories}
        meter = kinds[METER]
        assert meter.location == "/meter/"
        assert meter.parent == "http://schemas.ogf.org/occi/core#resource"
        attributes = {a.name: a for a in meter.attributes}
        assert not attributes["concord.usage.quantity"].mutable
        assert meter.actions == ()
