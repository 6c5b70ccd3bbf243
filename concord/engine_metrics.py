"""The engine's state on ``/metrics``: jobs, job latency, hosts and capacity.

Unlike the HTTP series, which count what this process answered, these are read from the
database when Prometheus scrapes, so every API process reports the same cloud-wide figures
(scrape one of them). Their labels come from closed sets: a job's ``action`` is one the
engine's handler registry knows (else ``other``), a state one of its enumeration, a
``zone`` one the operator created. No client request can add a series.

* ``concord_jobs{action, state}``: jobs queued and running now, and failed in all;
* ``concord_job_duration_seconds{action}``: a gauge histogram of how long the jobs that
  finished in the last hour ran (start to finish), at most :data:`LATENCY_ROWS` of them;
* ``concord_hosts{state}``: hosts by state;
* ``concord_capacity{zone, resource, figure}``: per zone, vCPUs, memory (MiB) and storage
  (bytes), ``total`` and ``allocated``, from the capacity report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from engine.allocation.report import RESOURCES, capacity_report
from engine.compute.state import running_sizes_by_host
from engine.db import Database, utcnow
from engine.errors import EngineError
from engine.inventory.models import Host, HostState
from engine.jobs.models import Job, JobState
from engine.scope import Scope
from engine.tenancy.service import TenancyService

#: The job states reported: waiting and working now, and failures so far.
JOB_STATES = (JobState.QUEUED, JobState.RUNNING, JobState.FAILED)
#: The finished jobs whose run times feed the latency histogram.
LATENCY_WINDOW = dt.timedelta(hours=1)
LATENCY_ROWS = 5000
#: Upper bounds (seconds) of the latency buckets.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
#: The capacity figures reported (the report has more; these answer "how full").
CAPACITY_FIGURES = ("total", "allocated")
OTHER = "other"


class EngineCollector(Collector):
    """Reads the engine's figures at each scrape.

    :param database: the database the app serves.
    :param actions: the job actions that get their own label (the handler registry's).
    """

    def __init__(self, database: Database, actions: Callable[[], list[str]]) -> None:
        self.database = database
        self.actions = actions

    def describe(self) -> list[Any]:
        # Registering must not query the database (prometheus_client calls collect otherwise).
        return []

    def collect(self) -> Iterator[Any]:
        known = frozenset(self.actions())
        with self.database.session() as session:
            jobs = GaugeMetricFamily(
                "concord_jobs",
                "Jobs queued and running now, and failed so far, by action.",
                labels=["action", "state"],
            )
            counts: dict[tuple[str, str], int] = {
                (a, s.value): 0 for a in sorted(known) for s in JOB_STATES
            }
            rows = session.execute(
                sa.select(Job.action, Job.state, sa.func.count())
                .where(Job.state.in_(JOB_STATES))
                .group_by(Job.action, Job.state)
            )
            for action, job_state, count in rows:
                key = (action if action in known else OTHER, JobState(job_state).value)
                counts[key] = counts.get(key, 0) + int(count)
            for (action_label, state_label), total in sorted(counts.items()):
                jobs.add_metric([action_label, state_label], total)
            yield jobs

            yield self._latency(session, known)

            hosts = GaugeMetricFamily("concord_hosts", "Hosts by state.", labels=["state"])
            by_state = dict.fromkeys((s.value for s in HostState), 0)
            for host_state, count in session.execute(
                sa.select(Host.state, sa.func.count()).group_by(Host.state)
            ):
                by_state[HostState(host_state).value] = int(count)
            for label, total in by_state.items():
                hosts.add_metric([label], total)
            yield hosts

            capacity = GaugeMetricFamily(
                "concord_capacity",
                "Capacity of each zone: total and allocated vCPUs, memory (MiB), storage (bytes).",
                labels=["zone", "resource", "figure"],
            )
            try:
                root = TenancyService(session).root()
            except EngineError:  # not initialised yet: no zone either
                report = []
            else:
                running = running_sizes_by_host(session)
                report = capacity_report(session, Scope.system(root), running)
            for level in report:
                if level.level != "zone":
                    continue
                for resource in RESOURCES:
                    for figure in CAPACITY_FIGURES:
                        value = level.figures[resource][figure]
                        capacity.add_metric([level.name, resource, figure], value)
            yield capacity

    def _latency(self, session: Any, known: frozenset[str]) -> GaugeHistogramMetricFamily:
        family = GaugeHistogramMetricFamily(
            "concord_job_duration_seconds",
            "How long the jobs that finished in the last hour ran, by action.",
            labels=["action"],
        )
        since = utcnow() - LATENCY_WINDOW
        rows = session.execute(
            sa.select(Job.action, Job.started, Job.finished)
            .where(Job.finished >= since, Job.started.is_not(None))
            .order_by(Job.finished.desc())
            .limit(LATENCY_ROWS)
        )
        durations: dict[str, list[float]] = {a: [] for a in sorted(known)}
        for action, started, finished in rows:
            label = action if action in known else OTHER
            durations.setdefault(label, []).append(max(0.0, (finished - started).total_seconds()))
        for action, values in sorted(durations.items()):
            buckets = [
                (str(bound), sum(1 for v in values if v <= bound)) for bound in LATENCY_BUCKETS
            ]
            buckets.append(("+Inf", len(values)))
            family.add_metric([action], buckets, sum(values))
        return family
