"""A registry's monitoring: members' OCCI and CIMI endpoints probed by the conformance harness.

``concord federation monitor run`` and the workers' schedule
(``federation_monitor_interval``) come here: each member's GLUE document is
read again (it says where the endpoints are), then the harness's read-only
profile runs in this process against each OCCI and CIMI endpoint it lists,
as the identity the operator gave for that member, and
:class:`engine.federation.monitoring.MonitorService` records the verdict.

The harness is a product of its own that never imports Concord; Concord
imports it by name only (as ``concord conformance`` does), so the import rule
of DESIGN.md holds both ways. Secrets never reach the log: what is logged is
the member, the endpoint and the health.
"""

from __future__ import annotations

import importlib
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from concord.glue_fetch import refresh_members
from engine.db import Database
from engine.errors import EngineError
from engine.federation.monitoring import MonitorService, ProbeOutcome, ProbeTarget, derive_health
from engine.tenancy.server_keys import ServerKeys

log = logging.getLogger("concord.federation.monitor")

#: Failed requirements named in a health reason, at most.
NAMED = 3


@dataclass(frozen=True)
class Probed:
    """One endpoint probed: where, and the health recorded."""

    member: str
    interface: str
    url: str
    health: str
    reason: str


def _harness(name: str) -> Any:
    return importlib.import_module(f"conformance.{name}")


def _auth(target: ProbeTarget) -> Any:
    client = _harness("client")
    if target.auth == "basic" and target.user and target.secret is not None:
        return client.BasicAuth(target.user, target.secret)
    if target.auth == "hmac" and target.user and target.secret is not None:
        return client.HmacAuth(target.user, target.secret)
    return None


def _described(verdict: Any) -> str:
    reason = " ".join(str(verdict.reason).split())[:160]
    return f"{verdict.requirement.id} ({reason})" if reason else str(verdict.requirement.id)


def outcome_of(report: Any) -> ProbeOutcome:
    """The neutral counts of a harness report (:class:`conformance.results.Report`)."""
    level_must = _harness("requirements").Level.MUST
    level_should = _harness("requirements").Level.SHOULD
    counted: Counter[tuple[str, str]] = Counter()
    must_failures, should_failures, skip_reason = [], [], ""
    for verdict in report.verdicts:
        level, value = verdict.requirement.level, str(verdict.verdict.value)
        counted[(str(level.value), value)] += 1
        if value == "failed" and level is level_must:
            must_failures.append(_described(verdict))
        elif value == "failed" and level is level_should:
            should_failures.append(_described(verdict))
        elif value == "skipped" and level is level_must and not skip_reason:
            skip_reason = str(verdict.reason)
    unreachable = next(
        (
            r.message
            for r in report.results
            if r.case_id.endswith(".reachable") and str(r.status.value) == "error"
        ),
        None,
    )
    must, should = str(level_must.value), str(level_should.value)
    return ProbeOutcome(
        must_passed=counted[(must, "passed")],
        must_failed=counted[(must, "failed")],
        must_skipped=counted[(must, "skipped")],
        should_failed=counted[(should, "failed")],
        unreachable=unreachable,
        must_failures=tuple(must_failures[:NAMED]),
        should_failures=tuple(should_failures[:NAMED]),
        skip_reason=skip_reason,
    )


def probe(target: ProbeTarget, timeout: float) -> ProbeOutcome:
    """Run the read-only profile against one endpoint, in this process; what it found.

    Whatever goes wrong in the harness itself is an outcome too (health
    ``unknown``), never an exception: one broken probe spoils no other.
    """
    try:
        run_config = _harness("cases.context").RunConfig(
            url=target.url,
            protocols=(target.protocol,),
            explicit=True,
            profile="read-only",
            auth=_auth(target),
            timeout=timeout,
            wait_timeout=timeout,
            cep=target.url if target.protocol == "cimi" else None,
        )
        runner = _harness("runner").Runner(run_config)
        for _result in runner.run():
            pass
        return outcome_of(runner.report())
    except Exception as exc:  # the harness's failure, not the endpoint's: unknown health
        log.exception("the conformance probe of %s (%s) failed", target.member, target.url)
        return ProbeOutcome(error=f"{type(exc).__name__}: {exc}"[:300])


def monitor_members(
    database: Database,
    server_keys: ServerKeys,
    timeout: float,
    names: list[str] | None = None,
) -> list[Probed]:
    """Read the members' documents again, probe every OCCI and CIMI endpoint, record each.

    Each probe runs outside any transaction and is recorded in its own, so a
    slow or broken member delays or spoils no other's record.

    :param names: only these members (all when None).
    """
    refresh_members(database, server_keys, timeout, names)
    with database.transaction() as session:
        targets = MonitorService(session, server_keys).targets(names)
    probed = []
    for target in targets:
        outcome = probe(target, timeout)
        health, reason = derive_health(outcome)
        try:
            with database.transaction() as session:
                MonitorService(session, server_keys).record(target, outcome)
        except EngineError as exc:  # the member was removed meanwhile
            health, reason = "unknown", exc.message
        log.info(
            "federation monitor: %s %s %s: %s",
            target.member,
            target.interface,
            health,
            reason,
            extra={"site": target.member, "url": target.url, "health": health},
        )
        probed.append(Probed(target.member, target.interface, target.url, health, reason))
    return probed
