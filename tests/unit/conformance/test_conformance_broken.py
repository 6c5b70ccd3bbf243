"""The harness catches real defects: each broken server breaks one thing, and exactly the
requirement that thing violates is reported failed, with the exchange that proves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from unit.conformance import broken
from unit.conformance.refcimi.app import RefCimi
from unit.conformance.refocci.app import RefOcci
from unit.conformance.runs import failed, run

from conformance.results import Status
from conformance.schemas import Schemas

CEP = "http://localhost/api/cep"


class Inert(RefOcci):
    """Accepts actions and never changes state."""

    def act(self, entity: Any, term: str) -> None:
        return None


OCCI_DEFECTS: dict[str, tuple[Callable[[], Any], str]] = {
    "tenants leak": (lambda: RefOcci(isolate=False), "GFD.223/security.authorization"),
    "creation answers 200 without a rendering": (
        lambda: broken.Break(
            RefOcci(),
            method="POST",
            path=r"^/network/$",
            status=200,
            drop=["Location"],
            body=lambda b: b"",
        ),
        "GFD.223/collection.POST.create",
    ),
    "DELETE answers 202": (
        lambda: broken.Break(RefOcci(), method="DELETE", path=r"^/network/.+", status=202),
        "GFD.223/entity.DELETE.status",
    ),
    "actions answer 204": (
        lambda: broken.Break(
            RefOcci(), method="POST", query="action=", status=204, body=lambda b: b""
        ),
        "GFD.223/entity.action.200",
    ),
    "entities lose their action links": (
        lambda: broken.Break(
            RefOcci(), method="GET", path=r"^/compute/.+", headers=broken.drop_action_links
        ),
        "GFD.229/rendering.action-links",
    ),
    "text/occi bodies are not OK": (
        lambda: broken.Break(RefOcci(), path=r"^/-/$", body=lambda b: b"done" if b == b"OK" else b),
        "GFD.229/header.body-ok",
    ),
    "text/uri-list served for an entity": (
        lambda: broken.Break(
            RefOcci(),
            method="GET",
            path=r"^/(compute|network|storage)/.+",
            request=lambda e: (
                e.update(HTTP_ACCEPT="text/plain")
                if e.get("HTTP_ACCEPT") == "text/uri-list"
                else None
            ),
        ),
        "GFD.229/uri-list.non-listing-400",
    ),
    "a page past the end is 404": (
        lambda: broken.Break(RefOcci(), query="page=1000000", status=404),
        "GFD.223/pagination.past-end",
    ),
    "actions have no effect": (Inert, "GFD.224/compute.stop"),
    "JSON entities are not JSON": (
        lambda: broken.Break(
            RefOcci(),
            method="GET",
            path=r"^/(compute|network|storage)/.+",
            body=lambda b: b[:-1] if b.startswith(b"{") else b,
        ),
        "GFD.226/entity.object",
    ),
}


@pytest.mark.parametrize("defect", sorted(OCCI_DEFECTS))
def test_an_occi_defect_is_reported(defect: str) -> None:
    make, requirement = OCCI_DEFECTS[defect]
    report, _ = run(make())
    assert requirement in failed(report), defect
    failures = [
        r for r in report.results if requirement in r.requirements and r.status is Status.FAIL
    ]
    assert all(r.evidence for r in failures), "every failure carries its request and response"
    if report.failed_musts:
        assert report.exit_status == 1


def namespace() -> str:
    return Schemas().cimi_namespace()


CIMI_DEFECTS: dict[str, tuple[Callable[[], Any], str]] = {
    "tenants leak": (lambda: RefCimi(namespace(), isolate=False), "DSP0263/security.isolation"),
    "202 without a Job": (
        lambda: broken.Break(
            RefCimi(namespace(), async_reads=2), method="POST", drop=["CIMI-Job-URI"]
        ),
        "DSP0263/job.header",
    ),
    "counts are wrong": (
        lambda: broken.Break(RefCimi(namespace()), method="GET", body=broken.wrong_count),
        "DSP0263/collection.count",
    ),
    "XML without namespace": (
        lambda: broken.Break(RefCimi(namespace()), method="GET", body=broken.strip_namespace),
        "DSP0263/xml.namespace",
    ),
    "$format ignored": (
        lambda: broken.Break(
            RefCimi(namespace()), query="format=", request=lambda e: e.update(QUERY_STRING="")
        ),
        "DSP0263/format.parameter",
    ),
    "creation without Location": (
        lambda: broken.Break(
            RefCimi(namespace()), method="POST", path=r"^/api/volumes$", drop=["Location"]
        ),
        "DSP0263/crud.create",
    ),
    "dateTimes without a time zone": (
        lambda: broken.Break(RefCimi(namespace()), method="GET", body=broken.strip_timezones),
        "DSP0263/datatypes.datetime",
    ),
    "unknown resources are 200": (
        lambda: broken.Break(
            RefCimi(namespace()), method="GET", path="conformance-missing", status=200
        ),
        "DSP0263/errors.404",
    ),
}


@pytest.mark.parametrize("defect", sorted(CIMI_DEFECTS))
def test_a_cimi_defect_is_reported(defect: str) -> None:
    make, requirement = CIMI_DEFECTS[defect]
    report, _ = run(make(), url=CEP, protocols=["cimi"])
    assert requirement in failed(report), defect


def test_a_server_that_cannot_delete_leaves_a_reported_leftover() -> None:
    app = broken.Break(RefOcci(), method="DELETE", status=500)
    report, _ = run(app)
    cleanup = next(r for r in report.results if r.case_id == "occi.cleanup")
    assert cleanup.status is Status.FAIL
    assert "could not remove" in cleanup.message and "500" in cleanup.message
    assert report.exit_status == 1


def test_an_unreachable_endpoint_is_an_error_not_a_pass() -> None:
    def refuse(environ: Any, start_response: Any) -> Any:
        raise ConnectionRefusedError("nobody home")

    report, _ = run(refuse)
    assert [r.case_id for r in report.results if r.status is Status.ERROR] == ["occi.reachable"]
    assert report.exit_status == 1
