"""Per-request helpers: the database session and the caller's scope.

``request.dbsession`` is opened on first use and committed by the edge tween
when the response is a success, rolled back otherwise, so that a client
error changes nothing. ``request.scope`` authenticates on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def includeme(config: Configurator) -> None:
    """Add ``request.dbsession`` and ``request.scope``."""
    config.add_request_method(dbsession, "dbsession", reify=True)
    config.add_request_method(scope, "scope", reify=True)
