"""``concord conformance``: options, progress, summary, exit status and the reports."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from unit.conformance import broken
from unit.conformance.refocci.app import RefOcci

from concord.cli.main import build_parser as concord_parser
from conformance import cli
from conformance.transports import WSGITransport


def invoke(app: Any, *options: str, stream: io.StringIO | None = None) -> int:
    args = cli.build_parser().parse_args(["http://localhost/", "--occi", *options])
    return cli.run(args, transport=WSGITransport(app), stream=stream or io.StringIO())


def test_the_subcommand_is_registered_in_concord() -> None:
    args = concord_parser().parse_args(
        [
            "conformance",
            "http://h/",
            "--cimi",
            "--profile",
            "full",
            "--user",
            "u",
            "--password",
            "p",
            "--junit",
            "j.xml",
            "--rendering",
            "application/json",
        ]
    )
    assert args.url == "http://h/" and args.cimi and args.profile == "full"
    assert args.handler.__module__ == "concord.cli.conformance"


def test_a_conforming_server_exits_0_with_a_summary() -> None:
    out = io.StringIO()
    status = invoke(
        RefOcci(),
        "--user",
        "alice",
        "--password",
        "alice-password",
        "--other-user",
        "bob",
        "--other-password",
        "bob-password",
        "--profile",
        "full",
        stream=out,
    )
    text = out.getvalue()
    assert status == 0
    assert "level   passed  failed  skipped" in text
    assert "No MUST requirement failed." in text
    assert "PASS  occi.query.exists" in text  # progress, one line per result off a terminal


def test_a_must_failure_exits_1_and_is_listed() -> None:
    out = io.StringIO()
    app = broken.Break(RefOcci(), drop=["Server"])
    status = invoke(app, "--user", "alice", "--password", "alice-password", stream=out)
    assert status == 1
    assert "MUST   GFD.223/versioning.server-header" in out.getvalue()


def test_credentials_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFORMANCE_PASSWORD", "alice-password")
    assert invoke(RefOcci(), "--user", "alice", "--case", "occi.query.*") == 0


@pytest.mark.parametrize(
    "options",
    [
        ["--user", "alice"],
        ["--api-key", "k"],
        ["--user", "a", "--password", "b", "--api-key", "k", "--api-secret", "s"],
    ],
)
def test_incomplete_credentials_are_a_usage_error(
    options: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONFORMANCE_PASSWORD", raising=False)
    monkeypatch.delenv("CONFORMANCE_API_SECRET", raising=False)
    assert invoke(RefOcci(), *options) == cli.USAGE_ERROR


def test_a_url_without_a_scheme_is_a_usage_error() -> None:
    args = cli.build_parser().parse_args(["localhost:8787"])
    assert cli.run(args, transport=WSGITransport(RefOcci()), stream=io.StringIO()) == 2


def test_the_reports_are_written(tmp_path: Path) -> None:
    app = broken.Break(RefOcci(), drop=["Server"])
    paths = {kind: tmp_path / f"report.{kind}" for kind in ("json", "xml", "html")}
    invoke(
        app,
        "--user",
        "alice",
        "--password",
        "alice-password",
        "--profile",
        "full",
        "--json",
        str(paths["json"]),
        "--junit",
        str(paths["xml"]),
        "--html",
        str(paths["html"]),
    )
    report = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert report["exit_status"] == 1 and report["summary"]["MUST"]["failed"] >= 1
    verdicts = {r["id"]: r["verdict"] for r in report["requirements"]}
    assert verdicts["GFD.223/versioning.server-header"] == "failed"
    failing = [r for r in report["results"] if r["status"] == "fail"]
    assert failing and all(r["evidence"] for r in failing)
    assert "[redacted]" in json.dumps(failing[0]["evidence"])
    junit = etree.parse(str(paths["xml"])).getroot()
    suite = junit.find("testsuite")
    assert suite is not None and int(suite.get("failures") or 0) >= 1
    assert junit.find(".//failure") is not None and junit.find(".//skipped") is not None
    html = paths["html"].read_text(encoding="utf-8")
    assert "Requirement matrix" in html and "GFD.223/versioning.server-header" in html
    assert "&gt; GET http://localhost/-/" in html and "&lt; 200" in html  # request, response


def test_an_unreachable_endpoint_exits_2() -> None:
    def refuse(environ: Any, start_response: Any) -> Any:
        raise ConnectionRefusedError("nobody")

    out = io.StringIO()
    assert invoke(refuse, stream=out) == cli.USAGE_ERROR
    assert "does not answer" in out.getvalue()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_rewrites_one_line() -> None:
    from conformance.report.console import Progress
    from conformance.requirements import Level
    from conformance.results import Result, Status

    screen = Terminal()
    progress = Progress(2, screen)
    for status in (Status.PASS, Status.FAIL):
        progress(
            Result(
                "occi.x",
                "t",
                "occi",
                "text/plain",
                status,
                ("GFD.223/query.exists",),
                Level.MUST,
                "why",
            )
        )
    progress.finish()
    text = screen.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "[2/2] .1 F1 s0 E0  occi.x [text/plain]" in text
