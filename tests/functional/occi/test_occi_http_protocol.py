"""The HTTP protocol (GFD.223 §3.2–3.3): headers, versions, negotiation, status codes.

Every client error is answered in the client's rendering, with ``Server``
and ``Vary`` like any answer, and changes nothing.
"""

from __future__ import annotations

import json

import pytest
from functional.occi.occiclient import (
    BASE,
    COMPUTE,
    INFRA,
    JSON,
    JSON_MEDIA,
    NETWORK,
    OCCI_JSON,
    RESPONSE_MEDIA,
    STORAGE,
    TEXT_MEDIA,
    TEXT_OCCI,
    TEXT_OCCI_PLAIN,
    TEXT_PLAIN,
    URI_LIST,
    OcciClient,
    check_response,
)
from webtest import TestApp

from concord.app import make_app
from concord.settings import Settings
from occi.model import EntityRendering

PATHS = ("/-/", "/compute/", "/", "/mixin/os_tpl/")


@pytest.mark.parametrize("agent", ["OCCI/1.3", "my-client/2.0 OCCI/2.0", "x (OCCI/1.1) OCCI/9.9"])
@pytest.mark.parametrize("path", [*PATHS, "/compute/x"])
def test_a_newer_occi_version_is_501(occi: OcciClient, cloud, agent: str, path: str) -> None:
    response = occi.request("GET", path, headers={"User-Agent": agent}, status=501)
    assert "OCCI/1.2" in response.text


@pytest.mark.parametrize("agent", ["OCCI/1.1", "OCCI/1.2", "rOCCI-cli/4.3 OCCI/1.2", "curl/8"])
def test_older_and_unversioned_clients_are_served(occi: OcciClient, cloud, agent: str) -> None:
    occi.request("GET", "/compute/", headers={"User-Agent": agent}, status=200)


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_names_occi_1_2_and_the_types_it_renders(
    occi: OcciClient, cloud, path: str
) -> None:
    response = occi.request("GET", path, status=200)
    assert response.headers["Server"].endswith(" OCCI/1.2")
    assert response.headers["Vary"] == "Accept"
    assert TEXT_PLAIN in response.headers["Accept"] and OCCI_JSON in response.headers["Accept"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, TEXT_PLAIN),
        ("*/*", TEXT_PLAIN),
        ("text/*", TEXT_PLAIN),
        (TEXT_OCCI_PLAIN, TEXT_OCCI_PLAIN),
        (f"{OCCI_JSON};q=0.5, {TEXT_OCCI};q=0.9", TEXT_OCCI),
        (f"{JSON}, */*;q=0.1", JSON),
        (f"application/xml, {OCCI_JSON};q=0.2", OCCI_JSON),
    ],
)
def test_negotiation_has_explicit_defaults(occi: OcciClient, cloud, accept, expected) -> None:
    response = occi.request("GET", "/compute/", accept=accept, status=200)
    assert response.content_type == expected


@pytest.mark.parametrize("path", [*PATHS, "/compute/x"])
def test_an_unacceptable_type_is_406(occi: OcciClient, cloud, path: str) -> None:
    response = occi.request("GET", path, accept="image/png", status=406)
    assert response.content_type == TEXT_PLAIN and response.text.strip()


@pytest.mark.parametrize(
    "content_type", ["application/xml", "text/html", "image/png", "multipart/form-data; boundary=x"]
)
@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/compute/"), ("POST", "/-/"), ("PUT", "/network/n1")]
)
def test_an_unreadable_body_is_415(occi: OcciClient, cloud, content_type, method, path) -> None:
    occi.request(method, path, headers={"Content-Type": content_type}, body="<x/>", status=415)
    assert occi.listing("/network/") == []


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/-/", "GET, HEAD, POST, DELETE"),
        ("PATCH", "/-/", "GET, HEAD, POST, DELETE"),
        ("PUT", "/.well-known/org/ogf/occi/-/", "GET, HEAD, POST, DELETE"),
        ("PUT", "/compute/", "GET, HEAD, POST, DELETE"),
        ("PATCH", "/compute/x", "GET, HEAD, POST, PUT, DELETE"),
        ("DELETE", "/", "GET, HEAD, POST"),
        ("OPTIONS", "/compute/", "GET, HEAD, POST, DELETE"),
    ],
)
def test_an_undefined_method_is_405_with_allow(occi: OcciClient, cloud, method, path, allow):
    response = occi.request(method, path, status=405)
    assert response.headers["Allow"] == allow


@pytest.fixture
def small_app(database, settings: Settings) -> TestApp:
    limited = Settings.from_mapping(
        {**settings.as_pyramid(), "concord.max_body_bytes": "300"}, environ={}
    )
    return TestApp(make_app(limited, database))


def test_an_oversized_body_is_413_and_creates_nothing(small_app: TestApp, cloud) -> None:
    client = OcciClient(small_app)
    big = EntityRendering(kind=NETWORK, attributes={"occi.core.title": "x" * 400})
    client.request("POST", "/network/", document=big, status=413)
    small = EntityRendering(kind=NETWORK, attributes={"occi.core.title": "x"})
    client.request("POST", "/network/", document=small, status=201)
    assert len(client.listing("/network/")) == 1


@pytest.mark.parametrize("accept", [*RESPONSE_MEDIA, URI_LIST])
def test_errors_come_in_the_client_s_rendering(occi: OcciClient, cloud, accept: str) -> None:
    response = occi.request("GET", "/compute/nope", accept=accept, status=404)
    if accept in JSON_MEDIA:
        error = response.json["error"]  # check_response validated it against error.json
        assert error["code"] == 404 and error["request_id"] == response.headers["X-Request-Id"]
    elif accept == URI_LIST:
        assert response.content_type == TEXT_PLAIN  # no error form in a URI list
    else:
        assert response.content_type == accept
        assert "no compute" in response.text


@pytest.mark.parametrize("accept", JSON_MEDIA)
def test_a_bad_request_names_what_is_wrong(occi: OcciClient, cloud, accept: str) -> None:
    document = EntityRendering(kind=COMPUTE, attributes={"occi.compute.cores": "many"})
    response = occi.request("POST", "/compute/", document=document, accept=accept, status=400)
    assert "occi.compute.cores" in response.json["error"]["message"]


def test_an_engine_field_is_named_as_its_occi_attribute(occi: OcciClient, cloud) -> None:
    document = EntityRendering(kind=COMPUTE, attributes={"occi.compute.hostname": "-bad-"})
    response = occi.request("POST", "/compute/", document=document, status=400)
    assert response.text.startswith("occi.compute.hostname: ")


def test_text_occi_answers_are_one_comma_separated_header(occi: OcciClient, cloud) -> None:
    response = occi.request("GET", "/-/", accept=TEXT_OCCI, status=200)
    assert len(response.headers.getall("Category")) == 1  # GFD.229 §3.3: RECOMMENDED
    assert response.text == "OK"
    for _ in range(2):
        occi.create(NETWORK)
    listing = occi.request("GET", "/network/", accept=TEXT_OCCI, status=200)
    assert listing.headers["X-OCCI-Location"].count(f"{BASE}/network/") == 2


def test_locations_are_absolute_and_category_locations_paths(occi: OcciClient, cloud) -> None:
    created = occi.request(
        "POST",
        "/storage/",
        status=201,
        document=EntityRendering(kind=STORAGE, attributes={"occi.storage.size": 1}),
    )
    assert created.headers["Location"].startswith(f"{BASE}/storage/")
    assert created.text == f"X-OCCI-Location: {created.headers['Location']}"
    query = occi.request("GET", "/-/", status=200).text
    assert 'location="/storage/"' in query and f'location="{BASE}' not in query


@pytest.mark.parametrize("accept", TEXT_MEDIA)
def test_creation_answers_with_locations_in_text(occi: OcciClient, cloud, accept: str) -> None:
    response = occi.request(
        "POST", "/network/", document=EntityRendering(kind=NETWORK), accept=accept, status=201
    )
    location = response.headers["Location"]
    if accept == TEXT_OCCI:
        assert response.headers["X-OCCI-Location"] == location and response.text == "OK"
    else:
        assert response.text == f"X-OCCI-Location: {location}"


def test_the_json_creation_answer_is_the_new_entity(occi: OcciClient, cloud) -> None:
    response = occi.request(
        "POST", "/network/", document=EntityRendering(kind=NETWORK), accept=OCCI_JSON, status=201
    )
    assert response.json["kind"] == NETWORK
    assert response.headers["Location"].endswith(response.json["id"].rsplit(":", 1)[1])


def test_unauthenticated_requests_are_401_with_a_challenge(app: TestApp, cloud) -> None:
    for path in ("/-/", "/compute/", "/compute/x", "/my/tag/"):
        response = app.get(path, status=401)
        check_response(response)
        assert "Basic" in response.headers["WWW-Authenticate"]
    check_response(app.get("/compute/x", headers={"Accept": OCCI_JSON}, status=401))


def test_unknown_paths_without_a_slash_are_404_before_authentication(app: TestApp) -> None:
    app.get("/no/such/thing", status=404)


def test_the_json_error_body(occi: OcciClient, cloud) -> None:
    response = occi.request(
        "POST",
        "/compute/",
        headers={"Content-Type": OCCI_JSON},
        body="{not json",
        accept=OCCI_JSON,
        status=400,
    )
    assert set(json.loads(response.text)["error"]) >= {"code", "message", "request_id"}


def test_a_text_occi_request_reads_headers_and_ignores_the_body(occi: OcciClient, cloud) -> None:
    headers = {
        "Content-Type": TEXT_OCCI,
        "Category": f'network; scheme="{INFRA}"; class="kind"',
        "X-OCCI-Attribute": 'occi.core.title="from-headers", occi.network.vlan=5',
    }
    response = occi.request("POST", "/network/", headers=headers, body="ignored", status=201)
    entity = occi.read(response.headers["Location"].removeprefix(BASE))
    assert (entity.attributes["occi.core.title"], entity.attributes["occi.network.vlan"]) == (
        "from-headers",
        5,
    )


def test_a_raw_byte_that_is_not_utf8_in_an_occi_header_is_400(occi: OcciClient, cloud) -> None:
    # WSGI passes header bytes on as latin-1 text: "\xff" is the raw byte 0xFF.
    headers = {
        "Content-Type": TEXT_OCCI,
        "Category": f'network; scheme="{INFRA}"; class="kind"',
        "X-OCCI-Attribute": 'occi.core.title="a\xffb"',
    }
    response = occi.request("POST", "/network/", headers=headers, status=400)
    assert "x-occi-attribute header" in response.text.lower() and "UTF-8" in response.text
    assert occi.listing("/network/") == []
    # A filter in the headers (GFD.223 §3.5) is read the same way.
    filtering = {"X-OCCI-Attribute": 'occi.core.title="\xff"'}
    response = occi.request("GET", "/network/", headers=filtering, status=400)
    assert "UTF-8" in response.text
    # Valid UTF-8 in a header is read as such.
    headers["X-OCCI-Attribute"] = 'occi.core.title="caf\xc3\xa9"'
    created = occi.request("POST", "/network/", headers=headers, status=201)
    entity = occi.read(created.headers["Location"].removeprefix(BASE))
    assert entity.attributes["occi.core.title"] == "caf\u00e9"


def test_header_names_are_spelled_as_the_spec_spells_them(app, occi: OcciClient, cloud) -> None:
    # GFD.223 §5 spells X-OCCI-Location and X-OCCI-Attribute; waitress, the
    # embedded server, would write X-Occi-Location (read from a raw socket).
    from functional.wire import names, raw, served
    from helpers import basic

    path = occi.create(COMPUTE)
    cloud.run_jobs()
    auth = basic("alice", "alice-password")
    with served(app) as port:
        listing = raw(port, "GET", "/compute/", {**auth, "Accept": "text/occi"})
        entity = raw(port, "GET", path, {**auth, "Accept": "text/occi"})
    assert "X-OCCI-Location" in names(listing), listing
    assert "X-OCCI-Attribute" in names(entity), entity
    assert "Category" in names(entity)
    assert not {"X-Occi-Location", "X-Occi-Attribute"} & set(names(listing) + names(entity))
