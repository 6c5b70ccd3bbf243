"""Operational endpoints: ``/healthz`` and Prometheus ``/metrics``.

Both answer without a tenant's credentials so that load balancers and
scrapers can reach them; neither reveals tenant data. ``/metrics`` asks for
``Authorization: Bearer <token>`` when the ``metrics_token`` setting is set.

The label set is closed, so that no client can grow the exposition (and the
process's memory) by sending made-up methods or paths: a method is one of
:data:`METHODS` or ``other``, a route one of the application's route names
or ``-``, a status a standard HTTP status or ``other``, and the ``kind`` and
``operation`` of a request (which a rendering's classifier names, for instance
``Machine``/``action`` in CIMI or ``compute``/``create`` in OCCI) one of the
kinds the renderings registered and one of :data:`OPERATIONS`, or ``-``. That
bounds the series to methods x routes x kinds x operations x statuses,
whatever the traffic.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from pyramid.httpexceptions import HTTPUnauthorized
from pyramid.response import Response
from pyramid.view import view_config

from engine.events.alerts import SEVERITIES, active_counts
from engine.ha import operator as ha_operator
from engine.ha.models import HaHealth

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyramid.config import Configurator
    from pyramid.request import Request

    from engine.db import Database


#: The paths Concord itself answers outside both standards (health, metrics,
#: the capacity report of :mod:`concord.capacity`, the federation wing's
#: Keystone subset and site document): no OCCI mixin may live there.
OPERATIONS_PATHS = ("/healthz", "/metrics", "/capacity", "/keystone", "/federation")

#: The methods counted under their own name (RFC 9110 and PATCH); others are ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_STATUSES = frozenset(str(status.value) for status in HTTPStatus)
OTHER = "other"
#: The route label of a request no route matched (and the kind and operation of one
#: no classifier named).
NO_ROUTE = "-"
#: The operations a classifier may name: the renderings' own words for what a request does.
OPERATIONS = frozenset(
    {"query", "list", "read", "add", "create", "edit", "update", "action", "delete", "replace"}
)
#: What a rendering says a request of one of its routes does: (kind, operation).
Classifier = Callable[["Request"], tuple[str, str]]


class HttpMetrics:
    """Request counters and latency histograms in a registry private to one app.

    A private registry (not prometheus_client's global one) lets several apps
    live in one process, as the test suite does.

    :param routes: the application's route names; the known ``route`` labels.
    """

    def __init__(self, routes: frozenset[str] = frozenset()) -> None:
        self.routes = routes
        self.kinds: set[str] = set()
        self.classifiers: dict[str, Classifier] = {}
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "concord_http_requests",
            "HTTP requests answered, by method, route, kind, operation and status.",
            ["method", "route", "kind", "operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "concord_http_request_duration_seconds",
            "Time to answer HTTP requests, by route, kind and operation.",
            ["route", "kind", "operation"],
            registry=self.registry,
        )

    def classify_route(self, route: str, kinds: Iterable[str], classifier: Classifier) -> None:
        """Let a rendering name the kind and operation of its route's requests.

        :param kinds: every kind the classifier may name (any other is counted as ``-``).
        """
        self.kinds.update(kinds)
        self.classifiers[route] = classifier

    def classify(self, request: Request, route: str) -> tuple[str, str]:
        """The (kind, operation) labels of a request, from the closed sets."""
        classifier = self.classifiers.get(route)
        if classifier is None:
            return NO_ROUTE, NO_ROUTE
        try:
            kind, operation = classifier(request)
        except Exception:  # a label must never fail a request
            return NO_ROUTE, NO_ROUTE
        return (
            kind if kind in self.kinds else NO_ROUTE,
            operation if operation in OPERATIONS else NO_ROUTE,
        )

    def observe(
        self,
        method: str,
        route: str,
        status: int,
        seconds: float,
        kind: str = NO_ROUTE,
        operation: str = NO_ROUTE,
    ) -> None:
        """Count one answered request, under labels from the closed set (module docstring)."""
        method = method if method in METHODS else OTHER
        route = route if route in self.routes else NO_ROUTE
        kind = kind if kind in self.kinds else NO_ROUTE
        operation = operation if operation in OPERATIONS else NO_ROUTE
        code = str(status)
        status_label = code if code in _STATUSES else OTHER
        self.requests.labels(method, route, kind, operation, status_label).inc()
        self.latency.labels(route, kind, operation).observe(seconds)


class AlertsCollector(Collector):
    """``concord_alerts_active``: the alerts active now, read from the database at each scrape.

    Alerts are shared state (any server or worker may raise one), so the gauge
    reads the table rather than counting in this process. Its labels are the
    sources that raised alerts and :data:`~engine.events.alerts.SEVERITIES`.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "concord_alerts_active",
            "Alerts active now (capacity thresholds, HA), by source and severity.",
            labels=["source", "severity"],
        )
        try:
            with self.database.transaction() as session:
                counts = active_counts(session)
        except sa.exc.SQLAlchemyError:
            # /healthz reports an unreachable database; a scrape still
            # answers with the HTTP series rather than failing whole.
            return
        for (source, severity), count in sorted(counts.items()):
            if severity in SEVERITIES:
                gauge.add_metric([source, severity], count)
        yield gauge


class HaCollector(Collector):
    """HA's series, read from the database at each scrape (any process may do HA work).

    ``concord_ha_hosts{health}``: hosts by the monitor's verdict (up,
    suspect, down); ``concord_ha_items{kind,step}``: HA work items by kind
    (host, guest) and step; ``concord_ha_detection_seconds`` (last answer to
    declared down) and ``concord_ha_recovery_seconds`` (declared down to the
    last guest restarted), as summaries over every host failure recorded.
    Every label comes from a closed set of the engine's
    (:class:`~engine.ha.models.HaHealth`, :class:`~engine.ha.models.HaItemKind`,
    :class:`~engine.ha.models.HaStep`): no host or guest is a label.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily | SummaryMetricFamily]:
        try:
            with self.database.transaction() as session:
                health = ha_operator.health_counts(session)
                items = ha_operator.counts(session)
                timings = ha_operator.timings(session)
        except sa.exc.SQLAlchemyError:
            return
        hosts = GaugeMetricFamily(
            "concord_ha_hosts", "Hosts by HA health (up, suspect, down).", labels=["health"]
        )
        for state in HaHealth:
            hosts.add_metric([state.value], health.get(state.value, 0))
        yield hosts
        gauge = GaugeMetricFamily(
            "concord_ha_items", "HA work items by kind and step.", labels=["kind", "step"]
        )
        for (kind, step), count in sorted(items.items()):
            gauge.add_metric([kind, step], count)
        yield gauge
        yield SummaryMetricFamily(
            "concord_ha_detection_seconds",
            "Time from a host's last answer to its being declared down.",
            count_value=timings.detection_count,
            sum_value=timings.detection_sum,
        )
        yield SummaryMetricFamily(
            "concord_ha_recovery_seconds",
            "Time from a host declared down to its last HA guest restarted elsewhere.",
            count_value=timings.recovery_count,
            sum_value=timings.recovery_sum,
        )


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8")
    )


@view_config(route_name="concord.metrics", request_method="GET")
def metrics_view(request: Request) -> Response:
    """Prometheus text exposition of this process's metrics (401 without the token, if set)."""
    token = request.registry.concord_settings.metrics_token
    if token and not _bearer_matches(request, token):
        raise HTTPUnauthorized(
            "/metrics needs the scrape token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="Concord metrics"'},
        )
    body = generate_latest(request.registry.metrics.registry)
    response = Response(body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


@view_config(route_name="concord.health", request_method="GET")
def health_view(request: Request) -> Response:
    """200 when the database answers, 503 otherwise."""
    try:
        with request.registry.database.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        status, database = 200, "ok"
    except sa.exc.SQLAlchemyError:
        status, database = 503, "unreachable"
    body = json.dumps({"status": "ok" if status == 200 else "degraded", "database": database})
    response = Response(body, content_type="application/json", charset="utf-8")
    response.status_int = status
    return response


def includeme(config: Configurator) -> None:
    """Add the health and metrics routes."""
    config.registry.metrics = HttpMetrics()
    config.registry.metrics.registry.register(AlertsCollector(config.registry.database))
    config.registry.metrics.registry.register(HaCollector(config.registry.database))
    import engine.handlers  # noqa: F401  (registers every job action: the known labels)
    from concord.engine_metrics import EngineCollector
    from engine.jobs.worker import handlers

    config.registry.metrics.registry.register(
        EngineCollector(config.registry.database, handlers.actions)
    )
    config.add_route("concord.health", "/healthz")
    config.add_route("concord.metrics", "/metrics")
    config.scan("concord.operations")
