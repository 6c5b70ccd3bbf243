"""The harness against Concord itself: in-process (WSGI), over real HTTP, with Basic and
with API keys, and wrapped in middlewares that break one thing each.

Concord implements the query interface today; the entity cases skip or fail until the
OCCI and CIMI renderings land, so these tests pin what must pass now and what a
broken Concord must be caught at, not the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers import TEST_SERVER_KEY_FILE, issue_key
from unit.conformance import broken
from unit.conformance.runs import failed, run
from webtest import TestApp
from webtest.http import StopableWSGIServer

from conformance.client import BasicAuth, HmacAuth
from conformance.results import Report, Status
from conformance.transports import HTTPTransport

ALICE = BasicAuth("alice", "alice-password")
CAROL = BasicAuth("carol", "carol-password")

#: Cases Concord's query interface passes today (and must keep passing).
PASSING_NOW = (
    "occi.query.exists",
    "occi.query.get",
    "occi.query.content-type",
    "occi.query.well-known",
    "occi.core.kinds",
    "occi.core.kind-parents",
    "occi.core.kind-root",
    "occi.core.kind-attributes",
    "occi.core.identifiers",
    "occi.core.references",
    "occi.core.reserved-scheme",
    "occi.core.category-classes",
    "occi.http.server-header",
    "occi.http.version-501",
    "occi.http.version-older",
    "occi.http.406",
    "occi.http.401",
    "occi.http.401-wrong-password",
    "occi.http.basic",
    "occi.http.locations",
    "occi.http.unique-locations",
    "occi.http.entity-unbound",
    "occi.text.category-abnf",
    "occi.text.category-collection",
    "occi.text.plain-alias",
    "occi.text.plain-body",
    "occi.text.header-rendering",
    "occi.json.category-collection",
)


def wsgi(app: TestApp) -> Any:
    """The raw WSGI application under WebTest's wrapper."""
    return app.app


def statuses(report: Report, case_id: str) -> set[Status]:
    return {r.status for r in report.results if r.case_id == case_id}


def test_concord_passes_the_query_interface_cases(app: TestApp, tenancy: Any) -> None:
    report, _ = run(wsgi(app), profile="read-only", auth=ALICE, other=CAROL)
    for case_id in PASSING_NOW:
        assert statuses(report, case_id) == {Status.PASS}, (
            case_id,
            [r.message for r in report.results if r.case_id == case_id],
        )
    assert all(r.message for r in report.results if r.status is not Status.PASS)


@pytest.mark.parametrize("protocol", ["occi", "cimi"])
def test_without_credentials_every_case_is_skipped_with_the_reason(
    app: TestApp, tenancy: Any, protocol: str
) -> None:
    # Concord answers only signed-in clients, at the query interface and at the CEP
    # alike: nothing can be judged, and neither protocol counts that as a failure.
    report, _ = run(wsgi(app), protocols=(protocol,), profile="read-only", auth=None, other=None)
    assert report.results and {r.status for r in report.results} == {Status.SKIP}
    assert {r.message for r in report.results} == {
        "the server requires credentials (--user/--password or --api-key)"
    }


def test_concord_with_api_keys(app: TestApp, tenancy: Any, database: Any, hasher: Any) -> None:
    key = issue_key(database, hasher, tenancy.ids["alice"])
    report, _ = run(
        wsgi(app),
        profile="read-only",
        auth=HmacAuth(key.access_key, key.secret),
        other=None,
        select=("occi.query.*", "occi.core.*"),
    )
    assert {r.status for r in report.results} == {Status.PASS}


def test_concord_refuses_a_spoiled_signature(
    app: TestApp, tenancy: Any, database: Any, hasher: Any
) -> None:
    key = issue_key(database, hasher, tenancy.ids["alice"])
    report, _ = run(
        wsgi(app),
        profile="read-only",
        auth=HmacAuth(key.access_key, "wrong"),
        other=None,
        select=("occi.query.exists",),
    )
    assert statuses(report, "occi.query.exists") == {Status.FAIL}


@pytest.fixture
def served(app: TestApp, tenancy: Any) -> Iterator[str]:
    """Concord behind a real waitress server on a free port."""
    server = StopableWSGIServer.create(wsgi(app))
    try:
        yield server.application_url
    finally:
        server.shutdown()


def test_the_same_harness_runs_over_real_http(served: str) -> None:
    from unit.conformance.runs import waiter

    from conformance.cases.context import RunConfig
    from conformance.runner import Runner

    transport = HTTPTransport()
    config = RunConfig(
        url=served,
        protocols=("occi",),
        profile="read-only",
        auth=ALICE,
        select=(
            "occi.query.*",
            "occi.http.server-header",
            "occi.http.version-*",
            "occi.text.header-rendering",
        ),
    )
    runner = Runner(config, transport=transport, waiter=waiter())
    results = list(runner.run())
    transport.close()
    assert results and {r.status for r in results} <= {Status.PASS, Status.SKIP}
    assert {r.case_id for r in results if r.status is Status.PASS} >= {
        "occi.query.exists",
        "occi.http.version-501",
        "occi.text.header-rendering",
    }


CONCORD_DEFECTS: dict[str, tuple[dict[str, Any], str]] = {
    "no Server header": (dict(drop=["Server"]), "GFD.223/versioning.server-header"),
    "Server without OCCI/1.2": (
        dict(set_headers={"Server": "Concord/0.1.0"}),
        "GFD.223/versioning.server-header",
    ),
    "wrong Content-Type": (
        dict(path=r"^/-/$", method="GET", set_headers={"Content-Type": "text/html"}),
        "GFD.223/headers.content-type-matches",
    ),
    "unquoted schemes": (dict(path=r"^/-/$", body=broken.unquote_schemes), "GFD.229/abnf.category"),
    "/-/ answers 201": (dict(path=r"^/-/$", method="GET", status=201), "GFD.223/query.GET.200"),
    "no 501 for a newer OCCI": (
        dict(request=broken.strip_user_agent_version),
        "GFD.223/versioning.501",
    ),
    "Accept ignored": (dict(request=broken.accept_anything), "GFD.223/status.406"),
    "401 without a challenge": (dict(drop=["WWW-Authenticate"]), "GFD.223/status.401"),
    "the Entity Kind bound to a path": (
        dict(path=r"^/-/$", body=broken.bind_entity_kind),
        "GFD.223/namespace.entity-unbound",
    ),
    "JSON that is not JSON": (
        dict(path=r"^/-/$", body=lambda b: b[:-2] if b.startswith(b"{") else b),
        "GFD.226/category-collection",
    ),
}


@pytest.fixture(scope="module")
def concord(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Concord app (SQLite) for every defect: read-only runs change nothing."""
    from concord.app import make_app
    from concord.settings import Settings
    from engine.db import Database
    from engine.schema import upgrade
    from engine.scope import Scope
    from engine.tenancy.models import AccountType
    from engine.tenancy.passwords import PasswordHasher, PasswordPolicy
    from engine.tenancy.service import TenancyService

    database = Database(f"sqlite:///{tmp_path_factory.mktemp('concord') / 'db.sqlite'}")
    upgrade(database)
    hasher = PasswordHasher(PasswordPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1))
    with database.transaction() as session:
        service = TenancyService(session, hasher)
        root = service.ensure_root()
        domain = service.create_domain(Scope.system(root), "acme", root.id)
        account = service.create_account(Scope.system(root), "dev", domain.id, AccountType.USER)
        service.create_user(Scope.system(root), account.id, "alice", "alice-password")
    settings = Settings.from_mapping(
        {
            "concord.password_time_cost": "1",
            "concord.password_memory_kib": "1024",
            "concord.embedded_worker": "false",
            "concord.log_level": "WARNING",
            "concord.server_key_file": TEST_SERVER_KEY_FILE,
        },
        environ={},
    )
    yield make_app(settings, database)
    database.dispose()


@pytest.mark.parametrize("defect", sorted(CONCORD_DEFECTS))
def test_a_broken_concord_is_caught(concord: Any, defect: str) -> None:
    options, requirement = CONCORD_DEFECTS[defect]
    report, _ = run(broken.Break(concord, **options), profile="read-only", auth=ALICE, other=None)
    assert requirement in failed(report), defect
    assert report.exit_status == 1
