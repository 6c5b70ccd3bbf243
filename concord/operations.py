"""Operational endpoints: ``/healthz`` and Prometheus ``/metrics``.

Both answer without authentication so that load balancers and scrapers can
reach them; neither reveals tenant data.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from pyramid.response import Response
from pyramid.view import view_config

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


#: The paths Concord itself answers outside both standards (health, metrics,
#: the capacity report of :mod:`concord.capacity`): no OCCI mixin may live there.
OPERATIONS_PATHS = ("/healthz", "/metrics", "/capacity")


class HttpMetrics:
    """Request counters and latency histograms in a registry private to one app.

    A private registry (not prometheus_client's global one) lets several apps
    live in one process, as the test suite does.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "concord_http_requests",
            "HTTP requests answered, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "concord_http_request_duration_seconds",
            "Time to answer HTTP requests, by route.",
            ["route"],
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)


@view_config(route_name="concord.metrics", request_method="GET")
def metrics_view(request: Request) -> Response:
    """Prometheus text exposition of this process's metrics."""
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
    config.add_route("concord.health", "/healthz")
    config.add_route("concord.metrics", "/metrics")
    config.scan("concord.operations")
