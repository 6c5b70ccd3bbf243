"""The harness against correct reference servers: nothing fails, every skip says why,
the read-only profile only reads, and the full profile cleans up after itself."""

from __future__ import annotations

from typing import Any

import pytest
from unit.conformance.refcimi.app import RefCimi
from unit.conformance.refocci.app import RefOcci
from unit.conformance.runs import bad_results, run

from conformance.results import Status, Verdict
from conformance.schemas import Schemas

CEP = "http://localhost/api/cep"


def namespace() -> str:
    return Schemas().cimi_namespace()


@pytest.mark.parametrize("async_reads", [0, 3], ids=["synchronous", "asynchronous"])
def test_a_correct_occi_server_passes_every_case(async_reads: int) -> None:
    report, _ = run(RefOcci(async_reads=async_reads))
    assert bad_results(report) == []
    assert report.exit_status == 0
    assert all(r.message for r in report.results if r.status is Status.SKIP)
    # Only what no case checks, or what is optional and not offered, is left unpassed.
    unpassed = {
        v.requirement.id
        for v in report.verdicts
        if v.verdict not in (Verdict.PASSED, Verdict.NO_CASE)
    }
    assert unpassed <= {"GFD.223/namespace.unbound-union", "GFD.223/security.tls"}


@pytest.mark.parametrize("async_reads", [0, 3], ids=["synchronous", "asynchronous"])
def test_a_correct_cimi_server_passes_every_case(async_reads: int) -> None:
    report, _ = run(RefCimi(namespace(), async_reads=async_reads), url=CEP, protocols=["cimi"])
    assert bad_results(report) == []
    assert all(r.message for r in report.results if r.status is Status.SKIP)
    if async_reads:
        assert {"DSP0263/job.header", "DSP0263/job.completes", "DSP0263/job.target"} <= {
            v.requirement.id for v in report.verdicts if v.verdict is Verdict.PASSED
        }


def test_every_rendering_is_exercised() -> None:
    report, _ = run(RefOcci())
    renderings = {r.rendering for r in report.results if r.status is Status.PASS}
    assert {"text/plain", "text/occi", "application/occi+json"} <= renderings
    report, _ = run(RefCimi(namespace()), url=CEP, protocols=["cimi"])
    assert {"application/json", "application/xml"} <= {r.rendering for r in report.results}


@pytest.mark.parametrize("server", ["occi", "cimi"])
def test_the_read_only_profile_only_reads(server: str) -> None:
    app = RefOcci() if server == "occi" else RefCimi(namespace())
    report, _ = run(
        app,
        profile="read-only",
        protocols=[server],
        url=CEP if server == "cimi" else "http://localhost/",
    )
    assert bad_results(report) == []
    assert {method for method, _ in app.requests} == {"GET"}
    full_only = [r for r in report.results if r.message.startswith("needs --profile full")]
    assert full_only, "the full-profile cases are reported as skipped, with the reason"


def test_the_full_profile_removes_everything_it_created() -> None:
    app = RefOcci()
    report, _ = run(app)
    assert app.store == {}
    assert not [c for c in app.cats if c.owner is not None], "user mixins are removed too"
    cleanup = next(r for r in report.results if r.case_id == "occi.cleanup")
    assert cleanup.status is Status.PASS and "removed" in cleanup.message


class BusyAtFirst:
    """The reference server, refusing each compute action and each DELETE of a
    storage or network with 409 twice before accepting it: what an asynchronous
    server does while earlier work (a restart, a compute's deletion detaching
    its volume) is still going on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.refused: dict[str, int] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        busy = (method == "DELETE" and path.startswith(("/storage/", "/network/"))) or (
            path.startswith("/compute/") and "action=" in environ["QUERY_STRING"]
        )
        target = method + path + environ["QUERY_STRING"]
        if busy and self.refused.get(target, 0) < 2:
            self.refused[target] = self.refused.get(target, 0) + 1
            headers = [("Content-Type", "text/plain"), ("Server", "reference OCCI/1.2")]
            start_response("409 Conflict", headers)
            return [b"busy: a job is running\n"]
        return self.app(environ, start_response)


def test_the_full_profile_waits_for_a_busy_server() -> None:
    app = RefOcci()
    busy = BusyAtFirst(app)
    report, _ = run(busy)
    assert bad_results(report) == []
    assert app.store == {}, "cleanup asked again until the server accepted"
    assert any(key.startswith("DELETE") for key in busy.refused)
    assert any("action=" in key for key in busy.refused)


def test_the_full_profile_never_touches_what_others_own() -> None:
    app = RefOcci()
    run(app, other=None)
    # bob's entity, created before the run, survives it untouched.
    app2 = RefOcci()
    from unit.conformance.refocci.model import Entity

    kind = next(c for c in app2.cats if c.term == "network")
    app2.store["/network/bobs"] = Entity(
        "/network/bobs", "bob", kind, [], {"occi.core.id": "urn:uuid:1", "occi.core.title": "b"}
    )
    run(app2, other=None)
    assert list(app2.store) == ["/network/bobs"]
    assert all(method == "GET" or "bobs" not in path for method, path in app2.requests)


def test_cimi_cleanup_removes_created_resources_and_leaves_provider_ones() -> None:
    app = RefCimi(namespace(), async_reads=2)
    run(app, url=CEP, protocols=["cimi"])
    owned = [
        p
        for p, meta in app.meta.items()
        if meta["owner"] and p in app.items and meta["type"] != "Job"
    ]
    assert owned == []
    assert "machine-configs/small" in app.items


def test_a_slow_asynchronous_server_is_waited_for_not_failed() -> None:
    report, _ = run(RefOcci(async_reads=10))
    assert bad_results(report) == []


def test_an_interrupted_run_still_cleans_up() -> None:
    from unit.conformance.runs import ALICE, waiter

    from conformance.cases.context import RunConfig
    from conformance.runner import Runner
    from conformance.transports import WSGITransport

    app = RefOcci()
    config = RunConfig(url="http://localhost/", protocols=("occi",), profile="full", auth=ALICE)
    results = Runner(config, transport=WSGITransport(app), waiter=waiter()).run()
    for result in results:
        if result.case_id == "occi.etsi.infra-create-003":  # something was created by now
            break
    assert app.store
    results.close()  # what Ctrl-C does through the CLI
    assert app.store == {}
