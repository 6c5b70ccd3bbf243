"""Operational endpoints: ``/healthz`` and Prometheus ``/metrics``.

Both answer without a tenant's credentials so that load balancers and
scrapers can reach them; neither reveals tenant data. ``/metrics`` asks for
``Authorization: Bearer <token>`` when the ``metrics_token`` setting is set.

The label set is closed, so that no client can grow the exposition (and the
process's memory) by sending made-up methods or paths: a method is one of
:data:`METHODS` or ``other``, a route one of the application's route names
or ``-``, a status a standard HTTP status or ``other``. That bounds the
series to methods x routes x statuses, whatever the traffic.
"""

from __future__ import annotations

import hmac
import json
from http import HTTPStatus
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from pyramid.httpexceptions import HTTPUnauthorized
from pyramid.response import Response
from pyramid.view import view_config

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


#: The paths Concord itself answers outside both standards (health, metrics,
#: the capacity report of :mod:`concord.capacity`): no OCCI mixin may live there.
OPERATIONS_PATHS = ("/healthz", "/metrics", "/capacity")

#: The methods counted under their own name (RFC 9110 and PATCH); others are ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_STATUSES = frozenset(str(status.value) for status in HTTPStatus)
OTHER = "other"
#: The route label of a request no route matched.
NO_ROUTE = "-"


class HttpMetrics:
    """Request counters and latency histograms in a registry private to one app.

    A private registry (not prometheus_client's global one) lets several apps
    live in one process, as the test suite does.

    :param routes: the application's route names; the known ``route`` labels.
    """

    def __init__(self, routes: frozenset[str] = frozenset()) -> None:
        self.routes = routes
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
        """Count one answered request, under labels from the closed set (module docstring)."""
        method = method if method in METHODS else OTHER
        route = route if route in self.routes else NO_ROUTE
        code = str(status)
        self.requests.labels(method, route, code if code in _STATUSES else OTHER).inc()
        self.latency.labels(route).observe(seconds)


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
    config.add_route("concord.health", "/healthz")
    config.add_route("concord.metrics", "/metrics")
    config.scan("concord.operations")
