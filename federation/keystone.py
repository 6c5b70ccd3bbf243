"""A Keystone v3 subset under ``/keystone``: federated sign-in for OCCI clients of EGI's era.

Those clients (IM's OCCI connector, rOCCI-cli) learn from a ``401`` whose
challenge is ``Keystone uri='<base>/v3'`` that the site wants a Keystone
token, then follow Keystone's federation flow (the identity API v3
reference, "OS-FEDERATION" and "Authentication and token management"), as
EGI's keystorm offered it to OCCI sites:

1. ``GET <base>`` lists the API versions (a client picks v3);
2. ``GET|POST <base>/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth``
   with ``Authorization: Bearer <token of that identity provider>`` answers
   ``201`` with an *unscoped* token in ``X-Subject-Token``;
3. ``GET <base>/v3/auth/projects`` with ``X-Auth-Token: <unscoped>`` lists the
   projects it may be scoped to;
4. ``POST <base>/v3/auth/tokens`` with the ``token`` method and a project
   scope answers ``201`` with a *scoped* token in ``X-Subject-Token``,

which the client sends as ``X-Auth-Token`` with every OCCI or CIMI request.
``{idp}`` is the name a trusted issuer was given (``concord federation issuer
add``) and ``{protocol}`` is ``oidc`` or ``openid``. Tokens are
:class:`~engine.federation.tokens.TokenService` tokens; nothing else of
Keystone (users, catalogs, the password method) is offered. Errors are
Keystone's JSON: ``{"error": {"code": ..., "title": ..., "message": ...}}``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from pyramid.response import Response
from pyramid.view import view_config

from concord.auth.bearer import BEARER, federated_scope
from concord.errors import ErrorReport
from engine.errors import AuthenticationFailed, InvalidInput
from engine.federation.tokens import IssuedToken, TokenService
from engine.tenancy.models import Project
from engine.tenancy.service import TenancyService

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

    from engine.scope import Scope

#: Where the subset is served; the challenge names ``<public URL>/keystone/v3``.
PREFIX = "/keystone"
#: The protocol names accepted in the federation path (Keystone deployments use both).
PROTOCOLS = frozenset({"oidc", "openid"})
#: The refusal of a protocol other than those.
SIGN_IN_PROTOCOL = "the protocol must be one of: " + ", ".join(sorted(PROTOCOLS))
#: The Keystone API version this subset answers as.
VERSION = "v3.14"


def challenge(request: Request) -> str:
    """The ``WWW-Authenticate`` value that sends a Keystone-aware client to this subset.

    Exactly one challenge, quoted as those clients parse it (they split it on
    ``=`` and strip single quotes, so a second challenge would break them).
    """
    return f"Keystone uri='{request.public_url}{PREFIX}/v3'"


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def _json(request: Request, body: dict[str, Any], status: int = 200) -> Response:
    response = Response(json.dumps(body), content_type="application/json", charset="utf-8")
    response.status_int = status
    return response


def _token_response(request: Request, scope: Scope, token: IssuedToken, method: str) -> Response:
    tenancy = TenancyService(request.dbsession)
    domain = tenancy.get_domain(scope, scope.domain_id)
    body: dict[str, Any] = {
        "methods": [method],
        "user": {
            "id": scope.user_id,
            "name": scope.username,
            "domain": {"id": domain.id, "name": domain.name},
        },
        "issued_at": _stamp(dt.datetime.now(dt.UTC)),
        "expires_at": _stamp(token.expires),
        "audit_ids": [],
        "catalog": [],
    }
    if token.project_id is not None:
        # The token service has just checked the membership: the project exists.
        project = request.dbsession.get_one(Project, token.project_id)
        body["project"] = {"id": project.id, "name": project.name, "domain": body["user"]["domain"]}
        body["roles"] = [{"id": "member", "name": "member"}]
    response = _json(request, {"token": body}, status=201)
    response.headers["X-Subject-Token"] = token.value
    return response


def _lifetime(request: Request) -> dt.timedelta:
    return dt.timedelta(seconds=request.registry.concord_settings.keystone_token_lifetime)


def _tokens(request: Request) -> TokenService:
    return TokenService(request.dbsession, request.registry.server_keys)


def _subject(request: Request) -> tuple[Scope, IssuedToken]:
    """The scope and token of the request's ``X-Auth-Token``."""
    value = request.headers.get("X-Auth-Token", "")
    if not value:
        raise AuthenticationFailed("send the token as X-Auth-Token")
    return _tokens(request).resolve(value)


@view_config(route_name="keystone.versions", request_method=("GET", "HEAD"))
def versions_view(request: Request) -> Response:
    """The API versions (one: v3), as Keystone's root answers."""
    return _json(request, {"versions": {"values": [_version(request)]}})


@view_config(route_name="keystone.v3", request_method=("GET", "HEAD"))
def version_view(request: Request) -> Response:
    """The v3 version document."""
    return _json(request, {"version": _version(request)})


def _version(request: Request) -> dict[str, Any]:
    return {
        "id": VERSION,
        "status": "stable",
        "updated": "2026-12-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{request.public_url}{PREFIX}/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


@view_config(route_name="keystone.federation_auth", request_method=("GET", "POST"))
def federation_auth_view(request: Request) -> Response:
    """Exchange an identity provider's bearer token for an unscoped token."""
    if request.matchdict["protocol"] not in PROTOCOLS:
        raise AuthenticationFailed(SIGN_IN_PROTOCOL)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != BEARER.lower():
        raise AuthenticationFailed("send the identity provider's token as Authorization: Bearer")
    scope = federated_scope(request, token.strip(), issuer_name=request.matchdict["idp"])
    issued = _tokens(request).issue(scope, _lifetime(request))
    return _token_response(request, scope, issued, request.matchdict["protocol"])


@view_config(route_name="keystone.projects", request_method="GET")
def projects_view(request: Request) -> Response:
    """The projects the token's user may scope a token to (its memberships)."""
    scope, _token = _subject(request)
    tenancy = TenancyService(request.dbsession)
    projects = [p for p in tenancy.list_projects(scope) if p.id in scope.project_ids]
    return _json(
        request,
        {
            "projects": [
                {
                    "id": project.id,
                    "name": project.name,
                    "domain_id": project.domain_id,
                    "enabled": True,
                    "is_domain": False,
                    "links": {"self": f"{request.public_url}{PREFIX}/v3/projects/{project.id}"},
                }
                for project in projects
            ],
            "links": {"self": f"{request.public_url}{PREFIX}/v3/auth/projects"},
        },
    )


def _requested_project(request: Request, scope: Scope) -> str:
    """The id of the project a token request scopes to (by id, or by name in the user's domain)."""
    try:
        document = json.loads(request.body or b"{}")
        auth = document["auth"]
        methods = auth["identity"]["methods"]
        wanted = auth["scope"]["project"]
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            "expected {'auth': {'identity': {'methods': ['token'], 'token': {'id': ...}}, "
            "'scope': {'project': {'id': ...}}}}"
        ) from None
    if methods != ["token"]:
        raise InvalidInput(
            "only the 'token' method is offered: sign in through OS-FEDERATION first"
        )
    if not isinstance(wanted, dict):
        raise InvalidInput("scope.project must be an object with 'id' or 'name'")
    if isinstance(wanted.get("id"), str):
        return str(wanted["id"])
    if isinstance(wanted.get("name"), str):
        tenancy = TenancyService(request.dbsession)
        for project in tenancy.list_projects(scope):
            if project.name == wanted["name"] and project.id in scope.project_ids:
                return project.id
        raise AuthenticationFailed("the token does not give access to that project")
    raise InvalidInput("scope.project must have an 'id' or a 'name'")


@view_config(route_name="keystone.tokens", request_method="POST")
def tokens_view(request: Request) -> Response:
    """Exchange an unscoped (or scoped) token for one scoped to a project."""
    scope, _token = _subject(request)
    try:
        document = json.loads(request.body or b"{}")
        body_token = document["auth"]["identity"]["token"]["id"]
    except (ValueError, KeyError, TypeError):
        body_token = None
    # Keystone takes the token to exchange from the body; it must be the one
    # the request is authenticated with, or the body could name another's.
    if body_token is not None and body_token != request.headers.get("X-Auth-Token"):
        raise AuthenticationFailed("auth.identity.token.id must be the X-Auth-Token")
    project_id = _requested_project(request, scope)
    issued = _tokens(request).issue(scope, _lifetime(request), project_id=project_id)
    scoped, _ = _tokens(request).resolve(issued.value)
    return _token_response(request, scoped, issued, "token")


def render_error(request: Request, report: ErrorReport) -> Response:
    """Keystone's error document."""
    response = _json(
        request,
        {"error": {"code": report.status, "title": report.title, "message": report.message}},
        status=report.status,
    )
    response.headers.update(report.headers)
    return response


def includeme(config: Configurator) -> None:
    """Add the Keystone subset's routes and its error rendering."""
    config.add_route("keystone.versions", PREFIX)
    config.add_route("keystone.versions_slash", PREFIX + "/")
    config.add_route("keystone.v3", PREFIX + "/v3")
    config.add_route(
        "keystone.federation_auth",
        PREFIX + "/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth",
    )
    config.add_route("keystone.projects", PREFIX + "/v3/auth/projects")
    config.add_route("keystone.tokens", PREFIX + "/v3/auth/tokens")
    config.add_view(
        versions_view, route_name="keystone.versions_slash", request_method=("GET", "HEAD")
    )
    config.add_error_renderer(PREFIX, render_error)
    config.add_interface("org.openstack.identity", PREFIX + "/v3", VERSION, "oidc")
    if config.registry.concord_settings.keystone_challenge:
        config.registry.unauthenticated_challenge = challenge
    config.scan("federation.keystone")
