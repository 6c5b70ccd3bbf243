"""Per-request helpers: the database session and the caller's scope.

``request.dbsession`` is opened on first use and committed by the edge tween
when the response is a success, rolled back otherwise, so that a client
error changes nothing. ``request.scope`` authenticates on first use.

Request properties are declared with :func:`add_request_property` rather than
Pyramid's ``add_request_method``: Pyramid applies the latter by building a
new class for every request (about 30 µs each, bench/RESULTS.md), whereas
these are set once on the application's request class (:func:`request_class`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyramid.decorator import reify
from pyramid.request import Request as PyramidRequest
from sqlalchemy.orm import Session

from concord.auth.resolver import authenticate
from engine.scope import Scope

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


def dbsession(request: Request) -> Session:
    """The request's unit of work, closed by the edge tween."""
    session: Session = request.registry.database.session()
    request.environ["concord.dbsession"] = session
    return session


def scope(request: Request) -> Scope:
    """The authenticated caller (raises AuthenticationFailed -> 401)."""
    return authenticate(request)


def add_request_property(
    config: Configurator, compute: Callable[[Request], Any], name: str
) -> None:
    """Add ``request.<name>``: ``compute(request)``, computed on first use, once per request.

    :raises ValueError: another package already added a property of that name.
    """
    properties: dict[str, Callable[[Request], Any]] = config.registry.concord_request_properties
    if name in properties:
        raise ValueError(f"request.{name} is already defined")
    properties[name] = compute


def request_class(properties: dict[str, Callable[[Request], Any]]) -> type[PyramidRequest]:
    """The application's request class, with ``properties`` reified on it."""

    def reified(name: str, compute: Callable[[Request], Any]) -> reify:
        def get(request: Request) -> Any:
            return compute(request)

        get.__name__ = name  # reify stores the value under its function's name
        get.__doc__ = compute.__doc__
        return reify(get)

    attributes = {name: reified(name, compute) for name, compute in properties.items()}
    return type("ConcordRequest", (PyramidRequest,), attributes)


def includeme(config: Configurator) -> None:
    """Add ``request.dbsession`` and ``request.scope``.

    :func:`concord.app.make_app` installs :func:`request_class` once every
    package has added its properties.
    """
    config.registry.concord_request_properties = {}
    add_request_property(config, dbsession, "dbsession")
    add_request_property(config, scope, "scope")
