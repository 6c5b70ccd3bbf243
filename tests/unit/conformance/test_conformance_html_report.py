"""The HTML report: failures first and linked, unused columns left out, traces wrapped,
absent headers said to be missing, and skips that a failure caused pointing at it."""

from __future__ import annotations

import re

from conformance.cases.session import CaseFailed, CaseSkipped, Session
from conformance.client import Response
from conformance.report.html import document, failure_id
from conformance.requirements import get
from conformance.results import Evidence, Report, RequirementVerdict, Result, Status, Verdict

CORE = "GFD.221/model.types"  # area OCCI Core
HTTP_REQ = "GFD.223/namespace.location-form"  # area OCCI HTTP
LONG = "x" * 3000


def _result(case: str, req: str, status: Status, rendering: str, **more: object) -> Result:
    requirement = get(req)
    return Result(
        case, f"title of {case}", "occi", rendering, status, (req,), requirement.level, **more
    )


def _report() -> Report:
    evidence = Evidence(
        "alice", "GET", "http://h/-/", (), "", 200, "OK", (("X-Long", LONG),), LONG, 0.01
    )
    failed = _result(
        "occi.core.types", CORE, Status.FAIL, "text/plain", message="wrong", evidence=(evidence,)
    )
    skipped = _result(
        "occi.http.locations",
        HTTP_REQ,
        Status.SKIP,
        "application/json",
        message=f"needs the compute, which failed in {failed.name}: wrong",
        caused_by=failed.name,
    )
    verdicts = [
        RequirementVerdict(get(CORE), Verdict.FAILED, [failed]),
        RequirementVerdict(get(HTTP_REQ), Verdict.SKIPPED, [skipped]),
    ]
    return Report("http://h/", "full", ("occi",), "t0", "t1", [failed, skipped], verdicts)


def test_failures_come_first_and_are_linked_from_the_summary() -> None:
    html = document(_report())
    anchor = failure_id("occi.core.types [text/plain]")
    assert html.index('id="failures"') < html.index("Requirement matrix")
    assert html.index(f'id="{anchor}"') < html.index("Requirement matrix")
    assert '<a href="#failures">1</a>' in html  # the summary's failed count
    assert html.count(f'href="#{anchor}"') >= 2  # the index and the matrix cell


def test_columns_no_case_uses_are_left_out() -> None:
    html = document(_report())
    summary = html[html.index("Summary (requirements)") : html.index('id="failures"')]
    headers = re.findall(r"<th>([^<]*)</th>", summary)
    assert "failed" in headers and "skipped" in headers
    assert "passed" not in headers and "no case" not in headers and "not run" not in headers
    matrix = html[html.index("Requirement matrix") :]
    core = matrix[matrix.index("<h3>OCCI Core</h3>") :]
    core = core[: core.index("</table>")]
    http = matrix[matrix.index("<h3>OCCI HTTP</h3>") :]
    http = http[: http.index("</table>")]
    assert "<th>text/plain</th>" in core and "<th>application/json</th>" not in core
    assert "<th>application/json</th>" in http and "<th>text/plain</th>" not in http


def test_long_traces_wrap() -> None:
    html = document(_report())
    assert "white-space:pre-wrap" in html and "overflow-x:auto" not in html
    assert LONG in html


def test_a_skip_caused_by_a_failure_names_and_links_it() -> None:
    html = document(_report())
    section = html[html.index("Skipped because of a failure (1)") :]
    anchor = failure_id("occi.core.types [text/plain]")
    assert "occi.http.locations [application/json]" in section
    assert f'<a href="#{anchor}">the failure</a>' in section
    assert "failed in occi.core.types [text/plain]" in section


def test_an_absent_header_is_said_to_be_missing() -> None:
    response = Response(200, "OK", [("Content-Type", "text/plain")], b"")
    assert response.shown("Content-Type") == "'text/plain'"
    assert response.shown("Location") == "missing"


def test_a_remembered_failure_skips_later_cases_naming_the_case_it_failed_in() -> None:
    session = Session(None, None, None, None, None, None)  # type: ignore[arg-type]
    session.current_case = "occi.compute.create [text/plain]"

    def broken() -> None:
        raise CaseFailed("no compute came up", ())

    try:
        session.memo("a running compute", broken)
    except CaseSkipped as exc:
        first = exc
    else:
        raise AssertionError("a failure must not be remembered as a success")
    session.current_case = "occi.compute.stop [text/plain]"
    try:
        session.memo("a running compute", broken)
    except CaseSkipped as exc:
        later = exc
    assert later.caused_by == first.caused_by == "occi.compute.create [text/plain]"
    assert "which failed in occi.compute.create [text/plain]: no compute came up" in str(later)
