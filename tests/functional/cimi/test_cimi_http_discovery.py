"""Discovery from the Cloud Entry Point alone (DSP0263 5.12), negotiation, errors, metadata."""

from __future__ import annotations

import pytest
from functional.cimi.conftest import Cloud, client
from functional.cimi.support import Cimi, check_error, check_schema, operation
from helpers import basic
from lxml import etree
from webtest import TestApp

from cimi.resources import CEP_COLLECTIONS, NS

SERVED = [
    "resourceMetadata",
    "machines",
    "machineTemplates",
    "machineConfigs",
    "machineImages",
    "credentials",
    "credentialTemplates",
    "volumes",
    "volumeTemplates",
    "volumeConfigs",
    "volumeImages",
    "networks",
    "networkTemplates",
    "networkConfigs",
    "networkPorts",
    "addresses",
    "addressTemplates",
    "jobs",
    "meters",
    "meterConfigs",
]


def test_the_cep_lists_every_served_collection_in_spec_order(alice: Cimi) -> None:
    response = alice.request("GET", "/cimi/cloudEntryPoint", status=200)
    cep = alice.decode(response)
    assert cep["baseURI"] == "http://localhost/cimi/"
    assert cep["id"] == "http://localhost/cimi/cloudEntryPoint"
    keys = [k for k, v in cep.items() if isinstance(v, dict) and "href" in v]
    assert keys == SERVED
    # Unsupported collections are absent, not empty (cimi.md 2.1).
    for absent in ("systems", "systemTemplates", "forwardingGroups", "meterTemplates", "eventLogs"):
        assert absent not in cep
    order = [key for key, _ in CEP_COLLECTIONS]
    assert keys == sorted(keys, key=order.index)
    if alice.fmt == "xml":
        root = etree.fromstring(response.body)
        assert root.tag == f"{{{NS}}}CloudEntryPoint"
        names = [etree.QName(child).localname for child in root]
        assert names[names.index("baseURI") + 1 :] == SERVED  # XSD sequence order
    assert "edit" not in {op["rel"] for op in cep.get("operations", [])}


def test_every_collection_is_reachable_from_the_cep(alice: Cimi) -> None:
    for key in SERVED:
        value = alice.get(alice.collection(key))
        assert value["id"] == alice.collection(key)
        assert value["count"] >= 0


def test_the_cep_collections_can_be_expanded_and_selected(alice: Cimi) -> None:
    cep = alice.get("/cimi/cloudEntryPoint", **{"$expand": "machineConfigs"})
    configs = cep["machineConfigs"]
    assert configs["href"] == alice.collection("machineConfigs")
    assert configs["count"] == 2
    assert {c["name"] for c in configs["machineConfigurations"]} == {"small", "large"}
    assert "machineConfigurations" not in cep["machineImages"]
    trimmed = alice.get("/cimi/cloudEntryPoint", **{"$select": "baseURI"})
    assert set(trimmed) == {"id", "baseURI"}


def test_a_bare_prefix_redirects_to_the_cep(app: TestApp, cloud: Cloud) -> None:
    for path in ("/cimi", "/cimi/"):
        response = app.get(path, status=301)
        assert response.headers["Location"] == "http://localhost/cimi/cloudEntryPoint"


@pytest.mark.parametrize(("accept", "params", "media"), [
    (None, {}, "application/json"),
    ("*/*", {}, "application/json"),
    ("application/xml", {}, "application/xml"),
    ("application/xml;q=0.5, application/json", {}, "application/json"),
    ("application/json", {"$format": "xml"}, "application/xml"),
    ("application/xml", {"$format": "json"}, "application/json"),
])  # fmt: skip
def test_negotiation(
    app: TestApp, cloud: Cloud, accept: str | None, params: dict[str, str], media: str
) -> None:
    headers = basic("alice", "alice-password")
    if accept:
        headers["Accept"] = accept
    response = app.get("/cimi/cloudEntryPoint", params=params, headers=headers, status=200)
    assert response.content_type == media
    assert response.headers["CIMI-Specification-Version"] == "1.1.0"
    assert "Accept" in response.headers["Vary"]
    check_schema(response)


def test_neither_json_nor_xml_is_406(app: TestApp, cloud: Cloud) -> None:
    headers = {**basic("alice", "alice-password"), "Accept": "text/html"}
    response = app.get("/cimi/cloudEntryPoint", headers=headers, status=406)
    assert response.content_type == "application/json"
    check_error(response)


def test_specification_versions(app: TestApp, cloud: Cloud) -> None:
    headers = basic("alice", "alice-password")
    for accepted in ("1.0.1", "1.1.0", "2.0.0, 1.0", "1"):
        app.get(
            "/cimi/cloudEntryPoint",
            headers={**headers, "CIMI-Specification-Version": accepted},
            status=200,
        )
    refused = app.get(
        "/cimi/cloudEntryPoint",
        headers={**headers, "CIMI-Specification-Version": "2.0.0"},
        status=400,
    )
    assert "1.1.0" in check_error(refused)["message"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_errors_are_rendered_as_cimi_asks(app: TestApp, cloud: Cloud, fmt: str) -> None:
    anonymous = Cimi(app, fmt, {})
    response = anonymous.request("GET", "/cimi/cloudEntryPoint", status=401)
    assert response.headers["WWW-Authenticate"]
    alice = client(app, "alice", fmt)
    for path in ("/cimi/nothing", "/cimi/machines/nope", "/cimi/machines/x/y/z/w", "/cimi/jobs/1"):
        response = alice.request("GET", path, status=404)
        assert response.content_type == alice.media
    response = alice.request("GET", "/cimi/machines", params={"$format": "yaml"}, status=400)
    response = alice.request("PATCH", "/cimi/machines", status=405)
    assert response.headers["Allow"] == "GET, POST"
    response = alice.request("POST", "/cimi/cloudEntryPoint", b"{}", status=405)
    assert response.headers["Allow"] == "GET"
    response = alice.request("DELETE", "/cimi/machineConfigs", status=405)
    assert response.headers["Allow"] == "GET, POST"


def test_resource_metadata(alice: Cimi) -> None:
    entries = alice.entries("resourceMetadata")
    by_type = {e["name"]: e for e in entries}
    assert {"CloudEntryPoint", "Machine", "Volume", "Job"} <= set(by_type)
    assert "System" not in by_type
    machine = alice.get(by_type["Machine"]["id"])
    assert machine["typeURI"] == NS + "/Machine"
    capabilities = {c["name"]: c["value"] for c in machine["capabilities"]}
    assert capabilities["InitialStates"] == "STARTED,STOPPED"
    assert "," not in capabilities["DefaultInitialState"]
    assert {a["name"] for a in machine["actions"]} == {
        "start", "stop", "restart", "pause", "suspend", "capture",
    }  # fmt: skip
    cep = {c["name"] for c in by_type["CloudEntryPoint"]["capabilities"]}
    assert cep == {"FilterParameter", "SelectParameter", "ExpandParameter", "firstParameter"}
    alice.request("GET", alice.collection("resourceMetadata") + "/System", status=404)
    assert operation(alice.get(alice.collection("resourceMetadata")), "add") is None
