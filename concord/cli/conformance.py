"""``concord conformance URL``: the conformance harness as a Concord sub-command.

A thin wrapper. The harness is a product of its own that never imports Concord,
and Concord imports it only by name (like the renderings in ``concord.app``), so
the import rule of DESIGN.md holds in both directions. Should the harness not be
importable (a stale editable install, a packaging mistake), every other command
keeps working and this one says why it cannot run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType
from typing import Any

HARNESS = "conformance.cli"


def _harness() -> ModuleType:
    return importlib.import_module(HARNESS)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``conformance``."""
    parser = sub.add_parser(
        "conformance",
        help="test an OCCI or CIMI endpoint (ours or another) against the specifications",
        description="Run the black-box conformance harness against URL: every requirement of "
        "OCCI 1.2 and CIMI, in every rendering; non-zero exit status on a MUST failure.",
    )
    try:
        harness = _harness()
    except ImportError as exc:
        problem = f"the conformance harness cannot be imported ({exc}); reinstall Concord"
        parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        parser.set_defaults(handler=lambda ctx, args: _unavailable(problem))
        return
    harness.add_arguments(parser)
    parser.set_defaults(handler=run)


def _unavailable(problem: str) -> int:
    print(f"concord: error: {problem}", file=sys.stderr)
    return 2


def run(ctx: Any, args: argparse.Namespace) -> int:
    """Run the harness (the Concord context is not needed: it speaks HTTP only)."""
    return int(_harness().run(args))
