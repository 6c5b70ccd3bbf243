"""The HTTP edge over the whole app.

Errors, size limits, request ids, operations and the basics of the OCCI query interface.
"""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
import sqlalchemy as sa
from helpers import Signer, basic, issue_key
from webtest import TestApp

from concord.app import make_app
from concord.settings import Settings
from engine.db import Database
from engine.tenancy.models import SeenNonce
from occi.parsing import HeaderParser, Message

QUERY = "/-/"
WELL_KNOWN = "/.well-known/org/ogf/occi/-/"
CORE = "http://schemas.ogf.org/occi/core#"
ALICE = basic("alice", "alice-password")
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


# -- errors ----------------------------------------------------------------------------


def test_unknown_route_is_404_in_text_by_default(app: TestApp) -> None:
    response = app.get("/no/such/thing", status=404)
    assert response.content_type == "text/plain"
    assert response.text.strip()
    assert "Traceback" not in response.text


def test_unknown_route_is_404_in_json_when_asked(app: TestApp) -> None:
    response = app.get("/no/such/thing", headers={"Accept": "application/json"}, status=404)
    assert response.content_type == "application/json"
    error = response.json["error"]
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert 404 in (error.get("code"), error.get("status"))
    assert error["message"]


def test_an_undecodable_path_is_a_client_error(app: TestApp) -> None:
    response = app.get("/%FF%FE", expect_errors=True)
    assert 400 <= response.status_int < 500
    assert response.headers["X-Request-Id"]
    assert "OCCI/1.2" in response.headers["Server"]


def test_server_header_on_every_answer(app: TestApp, tenancy) -> None:
    for response in (
        app.get(QUERY, headers=ALICE, status=200),
        app.get(QUERY, status=401),
        app.get("/nowhere", status=404),
        app.get("/healthz", status=200),
    ):
        assert re.fullmatch(r"Concord/\S+ OCCI/1\.2", response.headers["Server"])
    # CIMI's paths announce Concord only: they are not OCCI's to claim.
    for response in (
        app.get("/cimi/cloudEntryPoint", headers=ALICE, status=200),
        app.get("/cimi/cloudEntryPoint", status=401),
        app.get("/cimi/nowhere", headers=ALICE, status=404),
    ):
        assert re.fullmatch(r"Concord/\S+", response.headers["Server"])


def test_an_unexpected_exception_is_500_without_internals(
    app: TestApp, tenancy, caplog: pytest.LogCaptureFixture
) -> None:
    class Exploding:
        def __iter__(self):
            raise RuntimeError("secret internals: /etc/concord.ini password=hunter2")

    app.app.registry.occi_categories = Exploding()
    with caplog.at_level(logging.ERROR, logger="concord.errors"):
        response = app.get(QUERY, headers=ALICE, status=500)
        as_json = app.get(QUERY, headers={**ALICE, "Accept": "application/json"}, status=500)
    request_id = response.headers["X-Request-Id"]
    assert request_id in response.text
    for text in (response.text, as_json.text):
        for leak in ("Traceback", "RuntimeError", "secret", "hunter2", "/etc/", ".py"):
            assert leak not in text
    assert as_json.json["error"]["request_id"] == as_json.headers["X-Request-Id"]
    # The operator gets the details, tied to the request id.
    logged = [r for r in caplog.records if r.name == "concord.errors"]
    assert logged and logged[0].exc_info is not None
    assert getattr(logged[0], "request_id", None) == request_id


# -- request ids -----------------------------------------------------------------------


SAFE_IDS = ["trace-123", "a.b_c-D", "x" * 64, "0"]
UNSAFE_IDS = ["a\nb", "abc\n", "x" * 65, "x" * 200, "a b", "id;drop", "\u00e9t\u00e9", "a/b", ""]


def test_a_safe_request_id_is_echoed(app: TestApp) -> None:
    for given in SAFE_IDS:
        echoed = app.get("/healthz", headers={"X-Request-Id": given}).headers["X-Request-Id"]
        assert echoed == given


def test_an_unsafe_request_id_is_replaced(app: TestApp) -> None:
    for given in UNSAFE_IDS:
        echoed = app.get("/healthz", headers={"X-Request-Id": given}).headers["X-Request-Id"]
        assert GENERATED_ID.match(echoed), (given, echoed)


def test_request_ids_are_generated_and_unique(app: TestApp) -> None:
    ids = {app.get("/healthz").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5 and all(GENERATED_ID.match(i) for i in ids)


# -- undecodable requests ---------------------------------------------------------------

UNDECODABLE = (
    "/cimi/machines?x=%FF",
    "/cimi/machines?%FF=1",
    "/cimi/cloudEntryPoint?$format=xml&x=%C3",
    "/compute/?x=%FF",
    "/-/?title=%E2%82",
    "/healthz?x=%FF",
    "/cimi/machines/%FF",
    "/compute/%FF",
)


@pytest.mark.parametrize("target", UNDECODABLE)
@pytest.mark.parametrize("authorized", [False, True])
def test_an_undecodable_url_is_400_in_its_rendering_and_logs_nothing(
    app: TestApp, tenancy, caplog: pytest.LogCaptureFixture, target: str, authorized: bool
) -> None:
    headers = ALICE if authorized else {}
    cimi = target.startswith("/cimi")
    for accept, media in (
        ("application/xml", "application/xml")
        if cimi
        else ("application/occi+json", "application/occi+json"),
        ("*/*", "application/json" if cimi else "text/plain"),
    ):
        with caplog.at_level(logging.WARNING, logger="concord"):
            response = app.get(target, headers={**headers, "Accept": accept}, expect_errors=True)
        assert response.status_int == 400, (target, response.status, response.text[:200])
        assert response.content_type == media, (target, accept)
        assert "UTF-8" in response.text
        assert response.headers["X-Request-Id"]
        assert "Traceback" not in response.text
        if cimi:
            assert response.headers["CIMI-Specification-Version"] == "1.1.0"
        else:
            assert "OCCI/1.2" in response.headers["Server"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_the_error_view_never_fails(app: TestApp, caplog: pytest.LogCaptureFixture) -> None:
    def exploding(request, report):
        raise RuntimeError("a broken error renderer")

    app.app.registry.error_renderers.add("/exploding", exploding)
    with caplog.at_level(logging.ERROR, logger="concord"):
        response = app.get("/exploding/x", headers={"Accept": "application/json"}, status=404)
    assert response.json["error"]["status"] == 404  # the generic rendering took over
    assert response.headers["X-Request-Id"]
    assert any("error renderer failed" in r.getMessage() for r in caplog.records)


# -- size limits -----------------------------------------------------------------------


@pytest.fixture
def small_app(database: Database, settings: Settings) -> TestApp:
    """The app with a 100-byte body limit and a 2 KiB header limit, set as ini values."""
    limited = Settings.from_mapping(
        {
            **settings.as_pyramid(),
            "concord.max_body_bytes": "100",
            "concord.max_header_bytes": "2048",
        },
        environ={},
    )
    assert (limited.max_body_bytes, limited.max_header_bytes) == (100, 2048)
    return TestApp(make_app(limited, database))


def test_a_body_over_the_limit_is_413_and_writes_nothing(
    small_app: TestApp, database: Database, hasher, tenancy
) -> None:
    signer = Signer.of(issue_key(database, hasher, tenancy.ids["alice"]))
    body = b"x" * 101
    headers = signer.headers("GET", QUERY, body=body, content_type="text/plain")
    response = small_app.request(
        QUERY, method="GET", body=body, headers=headers, expect_errors=True
    )
    assert response.status_int == 413
    assert "100" in response.text
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SeenNonce)) == 0
    # At the limit, the same request is served.
    body = b"x" * 100
    headers = signer.headers("GET", QUERY, body=body, content_type="text/plain")
    small_app.request(QUERY, method="GET", body=body, headers=headers, status=200)
    small_app.post("/healthz", params=b"y" * 5000, status=413)


@pytest.fixture
def header_limited_app(database: Database, settings: Settings) -> TestApp:
    """The app with at most 20 header fields of at most 200 bytes each."""
    limited = Settings.from_mapping(
        {
            **settings.as_pyramid(),
            "concord.max_header_count": "20",
            "concord.max_header_line_bytes": "200",
        },
        environ={},
    )
    return TestApp(make_app(limited, database))


@pytest.mark.parametrize(
    ("path", "accept", "media"),
    [
        ("/cimi/cloudEntryPoint", "application/xml", "application/xml"),
        ("/-/", "application/occi+json", "application/occi+json"),
        ("/-/", "text/plain", "text/plain"),
    ],
)
def test_too_many_or_too_long_header_fields_are_431_in_the_rendering(
    header_limited_app: TestApp, tenancy, path: str, accept: str, media: str
) -> None:
    base = {**ALICE, "Accept": accept}
    header_limited_app.get(path, headers={**base, **{f"X-Extra-{i}": "1" for i in range(15)}})
    many = {**base, **{f"X-Extra-{i}": "1" for i in range(25)}}
    response = header_limited_app.get(path, headers=many, status=431)
    assert response.content_type == media
    assert "more than 20 request header fields" in response.text
    response = header_limited_app.get(path, headers={**base, "X-Long": "x" * 200}, status=431)
    assert response.content_type == media
    assert "X-Long exceeds 200 bytes" in response.text


def _chunked_get(app: TestApp, signed: dict[str, str], body: bytes) -> str:
    """GET the query interface with a body and no Content-Length, as a server passes on a
    chunked upload (PEP 3333's ``wsgi.input_terminated``); return the status line."""
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": QUERY,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost:80",
        "HTTP_TRANSFER_ENCODING": "chunked",
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in signed.items()},
        "CONTENT_TYPE": "text/plain",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    statuses: list[str] = []
    b"".join(app.app(environ, lambda status, _headers, _exc=None: statuses.append(status)))
    return statuses[0]


def test_a_body_without_content_length_is_limited_too(
    small_app: TestApp, database: Database, hasher, tenancy
) -> None:
    signer = Signer.of(issue_key(database, hasher, tenancy.ids["alice"]))
    for size, status in ((5000, "413"), (101, "413"), (100, "200")):
        body = b"x" * size
        headers = signer.headers("GET", QUERY, body=body, content_type="text/plain")
        fields = {k: v for k, v in headers.items() if k != "Content-Type"}
        assert _chunked_get(small_app, fields, body).startswith(status), size


def test_headers_over_the_limit_are_431(small_app: TestApp, tenancy) -> None:
    small_app.get(QUERY, headers={**ALICE, "X-Padding": "p" * 3000}, status=431)
    small_app.get(QUERY, headers={**ALICE, "X-Padding": "p" * 500}, status=200)


# -- OCCI version and media types on the query interface --------------------------------


OCCI_AGENTS = {
    "OCCI/1.1": 200,
    "OCCI/1.2": 200,
    "rOCCI-cli/4.3 OCCI/1.2": 200,
    "curl/8.0": 200,
    "OCCI/1.3": 501,
    "my-client OCCI/2.0": 501,
}


def test_occi_version(app: TestApp, tenancy) -> None:
    for agent, status in OCCI_AGENTS.items():
        response = app.get(QUERY, headers={**ALICE, "User-Agent": agent}, status=status)
        if status == 501:
            assert "OCCI/1.2" in response.text, agent


def test_an_unacceptable_media_type_is_406(app: TestApp, tenancy) -> None:
    response = app.get(QUERY, headers={**ALICE, "Accept": "image/png"}, status=406)
    assert response.text.strip()


def test_query_interface_needs_authentication(app: TestApp, tenancy) -> None:
    app.get(QUERY, status=401)
    app.get(WELL_KNOWN, status=401)


def _kind_lines(text: str) -> dict[str, str]:
    lines = [line for line in text.split("\n") if line]
    kinds = {}
    for line in lines:
        assert line.startswith("Category: "), line
        term = line.removeprefix("Category: ").split(";", 1)[0]
        kinds[term] = line
    return kinds


def test_query_interface_in_text_plain(app: TestApp, tenancy) -> None:
    for accept in (None, "text/plain", "*/*"):
        headers = {**ALICE, **({"Accept": accept} if accept else {})}
        response = app.get(QUERY, headers=headers, status=200)
        assert response.content_type == "text/plain"
        kinds = _kind_lines(response.text)
        assert {"entity", "resource", "link"} <= set(kinds)
        # The query interface lists Infrastructure too; these checks are Core's.
        for term in ("entity", "resource", "link"):
            assert f'scheme="{CORE}"' in kinds[term]
            assert 'class="kind"' in kinds[term]
        assert f'rel="{CORE}entity"' in kinds["resource"]
        assert 'location="/link/"' in kinds["link"]
        assert "location=" not in kinds["entity"]  # Entity is not instantiable


def test_query_interface_in_text_occi(app: TestApp, tenancy) -> None:
    response = app.get(QUERY, headers={**ALICE, "Accept": "text/occi"}, status=200)
    assert response.content_type == "text/occi"
    assert response.text == "OK"
    # One comma-separated Category header (GFD.229 §3.3 RECOMMENDS it): read it as a
    # client does, with the quote-aware header parser.
    assert len(response.headers.getall("Category")) == 1
    message = Message.from_wsgi(list(response.headers.items()))
    kinds = {c.term: c for c in HeaderParser().categories(message).categories}
    assert {"entity", "resource", "link"} <= set(kinds)
    for term in ("entity", "resource", "link"):
        assert (kinds[term].scheme, kinds[term].cls) == (CORE, "kind")


def test_query_interface_in_json(app: TestApp, tenancy) -> None:
    for accept in ("application/occi+json", "application/json"):
        response = app.get(QUERY, headers={**ALICE, "Accept": accept}, status=200)
        assert response.content_type == accept
        document = json.loads(response.text)
        kinds = {k["term"]: k for k in document["kinds"]}
        assert {"entity", "resource", "link"} <= set(kinds)
        assert all(kinds[term]["scheme"] == CORE for term in ("entity", "resource", "link"))
        assert kinds["resource"]["parent"] == f"{CORE}entity"
        assert "occi.core.id" in kinds["link"]["attributes"]  # inherited from Entity


def test_the_well_known_mirror_answers_the_same(app: TestApp, tenancy) -> None:
    for accept in (None, "text/plain", "text/occi", "application/occi+json", "application/json"):
        headers = {**ALICE, **({"Accept": accept} if accept else {})}
        here = app.get(QUERY, headers=headers, status=200)
        there = app.get(WELL_KNOWN, headers=headers, status=200)
        assert here.body == there.body, accept
        assert here.content_type == there.content_type
        assert here.headers.getall("Category") == there.headers.getall("Category")


def test_query_interface_varies_on_accept(app: TestApp, tenancy) -> None:
    assert "Accept" in app.get(QUERY, headers=ALICE).headers["Vary"]


# -- operations --------------------------------------------------------------------------


def test_healthz(app: TestApp) -> None:
    response = app.get("/healthz", status=200)
    assert response.content_type == "application/json"
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(settings: Settings, tmp_path) -> None:
    broken = Database(f"sqlite:///{tmp_path / 'missing-dir' / 'nope.sqlite'}")
    try:
        response = TestApp(make_app(settings, broken)).get("/healthz", status=503)
        assert response.json["database"] == "unreachable"
    finally:
        broken.dispose()


def _series(metrics: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of ``name``: its labels and value."""
    found = re.findall(r"^" + re.escape(name) + r"\{([^}]*)\} (\S+)$", metrics, re.MULTILINE)
    return [(dict(re.findall(r'(\w+)="([^"]*)"', labels)), float(v)) for labels, v in found]


def _counter(metrics: str, route: str, status: str, **labels: str) -> float:
    wanted = {"method": "GET", "route": route, "status": status, **labels}
    return sum(
        value
        for found, value in _series(metrics, "concord_http_requests_total")
        if all(found.get(k) == v for k, v in wanted.items())
    )


def test_metrics_count_requests(app: TestApp, tenancy) -> None:
    before = app.get("/metrics", status=200).text
    app.get(QUERY, headers=ALICE, status=200)
    app.get(QUERY, headers=ALICE, status=200)
    app.get(QUERY, status=401)
    after = app.get("/metrics", status=200)
    assert after.content_type.startswith("text/plain")
    assert "concord_http_requests_total" in after.text
    assert _counter(after.text, "occi.query", "200") == _counter(before, "occi.query", "200") + 2
    assert _counter(after.text, "occi.query", "401") == _counter(before, "occi.query", "401") + 1
    assert "concord_http_request_duration_seconds_bucket" in after.text
    # No tenant data in the exposition.
    assert "alice" not in after.text


def test_metrics_gauge_the_active_alerts(app: TestApp, database: Database) -> None:
    from engine.events.alerts import AlertSubject, clear_alert, raise_alert

    def gauge(text: str) -> list[str]:
        return re.findall(r"^concord_alerts_active\{.*$", text, re.MULTILINE)

    assert gauge(app.get("/metrics", status=200).text) == []
    with database.transaction() as session:
        for pool in ("p1", "p2"):
            raise_alert(
                session,
                key=f"capacity:pool:{pool}:storage",
                source="capacity",
                subject=AlertSubject("pool", pool),
                message="storage allocated 95% >= 90%",
            )
    assert gauge(app.get("/metrics", status=200).text) == [
        'concord_alerts_active{severity="warning",source="capacity"} 2.0'
    ]
    with database.transaction() as session:
        clear_alert(session, key="capacity:pool:p1:storage")
    assert gauge(app.get("/metrics", status=200).text) == [
        'concord_alerts_active{severity="warning",source="capacity"} 1.0'
    ]


@pytest.mark.filterwarnings("ignore:Unknown REQUEST_METHOD")
def test_metrics_label_only_known_methods_routes_and_statuses(app: TestApp, tenancy) -> None:
    # Random methods and paths used to add one series each, without bound.
    for i in range(40):
        app.request(f"/random/{i}/path", method=f"BREW{i}", expect_errors=True)
        app.request(f"/compute/{i}", method=f"X{i}", headers=ALICE, expect_errors=True)
        app.request(f"/cimi/machines/{i}", method="PROPFIND", headers=ALICE, expect_errors=True)
    app.get(QUERY, headers=ALICE, status=200)
    text = app.get("/metrics", status=200).text
    methods = set(re.findall(r'method="([^"]*)"', text))
    assert methods <= {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"}
    assert "other" in methods
    routes = set(re.findall(r'route="([^"]*)"', text))
    known = {route.name for route in app.app.routes_mapper.get_routes()}
    assert routes <= known | {"-"}
    series = re.findall(r"^concord_http_requests_total\{[^}]*\} ", text, re.MULTILINE)
    assert len(series) < 20, series
    others = [v for k, v in _series(text, "concord_http_requests_total") if k["method"] == "other"]
    assert sum(others) == 120  # every request is still counted


@pytest.fixture
def token_app(database: Database, settings: Settings) -> TestApp:
    """The app with /metrics behind a bearer token."""
    guarded = Settings.from_mapping(
        {**settings.as_pyramid(), "concord.metrics_token": "scrape-me"}, environ={}
    )
    return TestApp(make_app(guarded, database))


def test_metrics_may_require_a_token(token_app: TestApp, tenancy) -> None:
    for headers in (
        {},
        ALICE,
        {"Authorization": "Bearer scrape-you"},
        {"Authorization": "scrape-me"},
    ):
        response = token_app.get("/metrics", headers=headers, status=401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "concord_http" not in response.text and "scrape-me" not in response.text
    response = token_app.get("/metrics", headers={"Authorization": "Bearer scrape-me"}, status=200)
    assert "concord_http_requests_total" in response.text
    # Without the setting, /metrics stays open (test_metrics_count_requests).


def test_metrics_label_occi_requests_by_kind_and_operation(app: TestApp, tenancy) -> None:
    app.get("/compute/", headers=ALICE, status=200)
    app.get("/storage/", headers=ALICE, status=200)
    app.get(QUERY, headers=ALICE, status=200)
    app.get("/no-such-kind/", headers=ALICE, expect_errors=True)
    text = app.get("/metrics", status=200).text
    assert _counter(text, "occi.namespace", "200", kind="compute", operation="list") == 1
    assert _counter(text, "occi.namespace", "200", kind="storage", operation="list") == 1
    assert _counter(text, "occi.query", "200", kind="query", operation="read") == 1
    kinds = {labels["kind"] for labels, _ in _series(text, "concord_http_requests_total")}
    assert "no-such-kind" not in kinds
