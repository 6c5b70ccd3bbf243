"""Entry point of the ``concord`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from concord import __version__
from concord.cli import (
    admin,
    alerts,
    allocators,
    catalog,
    conformance,
    federation,
    groups,
    ha,
    infra,
    networks,
    operator,
    serve,
    serverkey,
    thresholds,
    usage,
    worker,
)
from concord.cli.context import CommandError, fail, make_context, run_guarded
from concord.logs import configure_logging


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to document the CLI)."""
    parser = argparse.ArgumentParser(
        prog="concord",
        description=(
            "Concord: a standards cloud server (OGF OCCI 1.2; DMTF CIMI, DSP0263 1.1.0 wire form)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"concord {__version__}")
    parser.add_argument(
        "--config", metavar="INI", help="PasteDeploy ini file (CONCORD_* variables override it)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.add_parsers(sub)
    worker.add_parsers(sub)
    admin.add_parsers(sub)
    serverkey.add_parsers(sub)
    conformance.add_parsers(sub)
    infra.add_parsers(sub)
    catalog.add_parsers(sub)
    allocators.add_parsers(sub)
    groups.add_parsers(sub)
    federation.add_parsers(sub)
    alerts.add_parsers(sub)
    ha.add_parsers(sub)
    thresholds.add_parsers(sub)
    operator.add_parsers(sub)
    usage.add_parsers(sub)
    networks.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        ctx = make_context(args)
    except CommandError as exc:
        return fail(str(exc))
    if args.command not in ("serve", "worker") and ctx.settings.log_level.upper() == "DEBUG":
        # Administration commands print their own results; their log (the driver's
        # connection attempts, for one) is shown when asked for with CONCORD_LOG_LEVEL=DEBUG.
        configure_logging(ctx.settings.log_format, "DEBUG")
    try:
        return run_guarded(args.handler, ctx, args)
    except BrokenPipeError:
        # The reader went away (``concord user list | head``): not an error.
        sys.stderr.close()
        return 0
    finally:
        ctx.database.dispose()


if __name__ == "__main__":
    sys.exit(main())
