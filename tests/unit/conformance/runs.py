"""Helpers for the harness's tests: run it in-process against a WSGI app, read the verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.cases.context import RunConfig
from conformance.client import Auth, BasicAuth
from conformance.results import Report, Status, Verdict
from conformance.runner import Runner
from conformance.transports import WSGIApp, WSGITransport
from conformance.wait import Waiter

ALICE = BasicAuth("alice", "alice-password")
BOB = BasicAuth("bob", "bob-password")


class FakeClock:
    """A clock that only moves when the harness sleeps: waits cost no real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.01)


def waiter(timeout: float = 30.0) -> Waiter:
    """A waiter on a fake clock."""
    clock = FakeClock()
    return Waiter(timeout=timeout, clock=clock, sleep=clock.sleep)


def run(
    app: WSGIApp,
    *,
    url: str = "http://localhost/",
    protocols: Sequence[str] = ("occi",),
    profile: str = "full",
    auth: Auth | None = ALICE,
    other: Auth | None = BOB,
    **options: Any,
) -> tuple[Report, Runner]:
    """Run the harness against ``app`` and return the report and the runner."""
    config = RunConfig(
        url=url,
        protocols=tuple(protocols),
        explicit=True,
        profile=profile,
        auth=auth,
        other_auth=other,
        **options,
    )
    runner = Runner(config, transport=WSGITransport(app), waiter=waiter())
    for _ in runner.run():
        pass
    return runner.report(), runner


def verdict(report: Report, requirement_id: str) -> Verdict:
    """The verdict of one requirement."""
    return next(v.verdict for v in report.verdicts if v.requirement.id == requirement_id)


def failed(report: Report) -> set[str]:
    """The ids of the requirements that failed."""
    return {v.requirement.id for v in report.verdicts if v.verdict is Verdict.FAILED}


def bad_results(report: Report) -> list[str]:
    """Failures and errors, as readable lines (for assertion messages)."""
    return [
        f"{r.name}: {r.message}" for r in report.results if r.status in (Status.FAIL, Status.ERROR)
    ]
