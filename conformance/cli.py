"""``concord conformance URL`` (also ``python -m conformance URL``).

Exit status: 0 when no MUST requirement failed, 1 when one did, 2 for a usage
error or an endpoint that does not answer.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from conformance import __version__
from conformance.cases import PROFILES
from conformance.cases.context import RunConfig
from conformance.client import Auth, BasicAuth, HmacAuth, Transport
from conformance.report import html, json, junit
from conformance.report.console import Progress, render_summary
from conformance.results import Status
from conformance.runner import Runner

USAGE_ERROR = 2


class UsageError(Exception):
    """Bad command-line arguments."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options (shared by ``concord conformance`` and ``python -m conformance``)."""
    parser.add_argument(
        "url",
        help="the endpoint: the OCCI service root (where /-/ is) or the "
        "CIMI Cloud Entry Point or its server",
    )
    which = parser.add_argument_group("what to test")
    which.add_argument("--occi", action="store_true", help="test OCCI 1.2 only")
    which.add_argument("--cimi", action="store_true", help="test CIMI only")
    which.add_argument(
        "--profile",
        choices=PROFILES,
        default="read-only",
        help="read-only sends only GETs; full also creates, changes and deletes "
        "resources of its own, and removes them at the end",
    )
    which.add_argument(
        "--cep",
        metavar="URL",
        help="the CIMI Cloud Entry Point, if it is not at URL or a conventional place",
    )
    which.add_argument(
        "--rendering",
        action="append",
        default=[],
        metavar="MEDIA",
        help="run only in this media type (repeatable), e.g. text/plain",
    )
    which.add_argument(
        "--case",
        action="append",
        default=[],
        metavar="PATTERN",
        help="run only the cases whose id matches (repeatable), e.g. 'occi.text.*'",
    )
    auth = parser.add_argument_group("credentials")
    auth.add_argument("--user", help="HTTP Basic user name")
    auth.add_argument("--password", help="HTTP Basic password (default: $CONFORMANCE_PASSWORD)")
    auth.add_argument("--api-key", help="API access key (RFC 9421 signed requests)")
    auth.add_argument("--api-secret", help="API secret (default: $CONFORMANCE_API_SECRET)")
    auth.add_argument("--other-user", help="a second identity, for the isolation cases")
    auth.add_argument(
        "--other-password", help="its password (default: $CONFORMANCE_OTHER_PASSWORD)"
    )
    auth.add_argument("--other-api-key", help="a second identity's API key")
    auth.add_argument(
        "--other-api-secret", help="its secret (default: $CONFORMANCE_OTHER_API_SECRET)"
    )
    out = parser.add_argument_group("reports and limits")
    out.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    out.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report")
    out.add_argument("--html", type=Path, metavar="FILE", help="write an HTML report")
    out.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="give up on a request after this long (default 30)",
    )
    out.add_argument(
        "--wait-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="give up waiting for a state change or a Job after this long (default 120)",
    )
    out.add_argument(
        "--schemas",
        type=Path,
        metavar="DIR",
        help="the schemas/ directory to validate against (default: the installed one)",
    )
    out.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    out.add_argument("--verbose", action="store_true", help="one line per result")


def _auth(
    user: str | None, password: str | None, key: str | None, secret: str | None, which: str
) -> Auth | None:
    if user and key:
        raise UsageError(f"give either a {which}user or a {which}api-key, not both")
    if user:
        if password is None:
            raise UsageError(f"--{which}user needs --{which}password (or the environment)")
        return BasicAuth(user, password)
    if key:
        if secret is None:
            raise UsageError(f"--{which}api-key needs --{which}api-secret (or the environment)")
        return HmacAuth(key, secret)
    return None


def config_from(args: argparse.Namespace) -> RunConfig:
    """The run configuration the options describe.

    :raises UsageError: contradictory or incomplete options.
    """
    env = os.environ
    primary = _auth(
        args.user,
        args.password or env.get("CONFORMANCE_PASSWORD"),
        args.api_key,
        args.api_secret or env.get("CONFORMANCE_API_SECRET"),
        "",
    )
    other = _auth(
        args.other_user,
        args.other_password or env.get("CONFORMANCE_OTHER_PASSWORD"),
        args.other_api_key,
        args.other_api_secret or env.get("CONFORMANCE_OTHER_API_SECRET"),
        "other-",
    )
    explicit = args.occi or args.cimi
    protocols = tuple(
        p for p, wanted in (("occi", args.occi), ("cimi", args.cimi)) if wanted or not explicit
    )
    if not args.url.startswith(("http://", "https://")):
        raise UsageError(f"the URL must start with http:// or https://, not {args.url!r}")
    return RunConfig(
        url=args.url,
        protocols=protocols,
        explicit=bool(explicit),
        profile=args.profile,
        auth=primary,
        other_auth=other,
        timeout=args.timeout,
        wait_timeout=args.wait_timeout,
        renderings=tuple(args.rendering),
        cep=args.cep,
        select=tuple(args.case),
        schemas_root=args.schemas,
        verify_tls=not args.insecure,
    )


def run(
    args: argparse.Namespace, transport: Transport | None = None, stream: TextIO | None = None
) -> int:
    """Run the harness as the options say; print progress and the summary; write reports."""
    stream = stream or sys.stdout
    try:
        config = config_from(args)
    except UsageError as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    runner = Runner(config, transport=transport)
    progress = Progress(runner.total(), stream, verbose=args.verbose)
    results = runner.run()
    try:
        for result in results:
            progress(result)
    finally:
        # On Ctrl-C too: closing the run removes what the full profile created.
        results.close()
        progress.finish()
    report = runner.report()
    for path, writer in (
        (args.junit, junit.write),
        (args.json, json.write),
        (args.html, html.write),
    ):
        if path is not None:
            writer(report, path)
    print(render_summary(report), file=stream)
    unreachable = [
        r for r in report.results if r.case_id.endswith(".reachable") and r.status is Status.ERROR
    ]
    if unreachable:
        return USAGE_ERROR
    return report.exit_status


def build_parser() -> argparse.ArgumentParser:
    """The standalone parser (``python -m conformance``)."""
    parser = argparse.ArgumentParser(
        prog="conformance",
        description="Test an OCCI 1.2 or CIMI endpoint against its specifications.",
    )
    parser.add_argument("--version", action="version", version=f"conformance {__version__}")
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run."""
    return run(build_parser().parse_args(argv))
