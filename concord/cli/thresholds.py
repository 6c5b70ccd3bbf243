"""``concord threshold``: notification thresholds on capacity, and a check on demand.

A threshold raises an alert (``concord alert list``) while a zone's, pod's,
cluster's, host's or storage pool's allocated or used share of CPU, memory
or storage is above it (:mod:`engine.allocation.notifications`). Every job
worker checks them periodically (``concord worker --capacity-interval``);
``concord threshold check`` checks them once, now.
"""

from __future__ import annotations

import argparse
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.background import check_capacity
from concord.cli.context import CommandError, Context, print_table
from engine.allocation.models import ThresholdLevel, ThresholdMeasure, ThresholdResource
from engine.allocation.notifications import TARGETS, ThresholdService, measure
from engine.compute.state import running_sizes_by_host


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``threshold set|remove|list|check``."""
    threshold = sub.add_parser(
        "threshold", help="alert when capacity passes a share (notification thresholds)"
    ).add_subparsers(dest="action", required=True)

    def target(p: argparse.ArgumentParser) -> None:
        p.add_argument("level", choices=[level.value for level in ThresholdLevel])
        p.add_argument("target", help="its name or id")
        p.add_argument("resource", choices=[r.value for r in ThresholdResource])
        p.add_argument("measure", choices=[m.value for m in ThresholdMeasure])

    p = threshold.add_parser("set", help="alert above a share of a target's limit")
    target(p)
    p.add_argument("share", type=float, help="a share above 0 and at most 1, e.g. 0.8")
    p.set_defaults(handler=threshold_set)
    p = threshold.add_parser("remove", help="remove a threshold (its alert clears)")
    target(p)
    p.set_defaults(handler=threshold_remove)
    threshold.add_parser("list", help="list thresholds with the shares now").set_defaults(
        handler=threshold_list
    )
    threshold.add_parser(
        "check", help="compare capacity with the thresholds now: raise and clear alerts"
    ).set_defaults(handler=threshold_check)


def _target_id(session: Session, level: ThresholdLevel, ref: str) -> str:
    """The id of the target with id or name ``ref`` (a name must be unambiguous)."""
    model: Any = TARGETS[level]
    if session.get(model, ref) is not None:
        return ref
    ids = list(session.scalars(sa.select(model.id).where(model.name == ref)))
    if not ids:
        raise CommandError(f"no {level.value} {ref!r}")
    if len(ids) > 1:
        raise CommandError(f"several {level.value}s are called {ref!r}; give its id")
    return str(ids[0])


def threshold_set(ctx: Context, args: argparse.Namespace) -> None:
    level = ThresholdLevel(args.level)
    with ctx.system() as (session, system):
        target_id = _target_id(session, level, args.target)
        ThresholdService(session).set(
            system, level, target_id, args.resource, args.measure, args.share
        )
    print(
        f"{args.level} {args.target}: alert when {args.measure} {args.resource} "
        f"is above {args.share:.0%} of its limit"
    )


def threshold_remove(ctx: Context, args: argparse.Namespace) -> None:
    level = ThresholdLevel(args.level)
    with ctx.system() as (session, system):
        target_id = _target_id(session, level, args.target)
        ThresholdService(session).remove(system, level, target_id, args.resource, args.measure)
    print(f"{args.level} {args.target}: no {args.measure} {args.resource} threshold")


def threshold_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        ThresholdService(session).list(system)  # refuses a caller who is not root
        rows: list[dict[str, object]] = [
            {
                "level": c.threshold.level.value,
                "target": c.path,
                "resource": c.threshold.resource.value,
                "measure": c.threshold.measure.value,
                "threshold": f"{c.threshold.share:.0%}",
                "now": "-" if c.share is None else f"{c.share:.0%}",
                "alert": "yes" if c.over else "",
            }
            for c in measure(session, running_sizes_by_host(session))
        ]
    print_table(rows, ["level", "target", "resource", "measure", "threshold", "now", "alert"])


def threshold_check(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system():
        pass  # refuses a database whose schema is not current, like every command
    result = check_capacity(ctx.database)
    print(
        f"{len(result.active)} threshold(s) crossed; "
        f"{len(result.raised)} alert(s) raised, {len(result.cleared)} cleared"
    )
    for key in result.active:
        print(f"  {key}")
