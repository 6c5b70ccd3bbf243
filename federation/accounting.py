"""The accounting repository's HTTP face: APEL records in, per-site monthly summaries out.

``POST /federation/accounting/records`` takes one APEL Cloud Usage Record
v0.4 message (the text SSM carries, as ``text/plain``) from a site the
repository trusts, identified by ``Authorization: Bearer <token>``
(``concord federation accounting site add NAME`` made the token). It answers
200 with what was stored; 401 without a known token, 403 when a record names
another site, 400 for a message that is not valid APEL: in every refusal
nothing is stored (:class:`engine.federation.accounting.AccountingRepository`).

``GET /federation/accounting/summary[?month=YYYY-MM][&site=NAME]`` answers
root administrators with the summary as JSON. Both answer 404 unless the
``accounting_repository`` setting is on.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pyramid.response import Response
from pyramid.view import view_config

from engine.errors import AuthenticationFailed, InvalidInput, NotFound
from engine.federation.accounting import AccountingRepository, parse_month

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

#: Where trusted sites push, below the public URL.
RECORDS_PATH = "/federation/accounting/records"
SUMMARY_PATH = "/federation/accounting/summary"


def _require_repository(request: Request) -> None:
    if not request.registry.concord_settings.accounting_repository:
        raise NotFound("this site is not an accounting repository")


def _json(body: object) -> Response:
    return Response(json.dumps(body), content_type="application/json", charset="utf-8")


@view_config(route_name="federation.accounting.records", request_method="POST")
def records_view(request: Request) -> Response:
    """Store the records of an APEL cloud message pushed by a trusted site."""
    _require_repository(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    repository = AccountingRepository(request.dbsession)
    site = repository.site_of_token(token.strip()) if scheme.lower() == "bearer" else None
    if site is None:
        raise AuthenticationFailed("push APEL records with the bearer token of a trusted site")
    try:
        message = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("an APEL message is UTF-8 text") from None
    result = repository.ingest(site, message)
    return _json(
        {
            "site": site,
            "stored": result.stored,
            "replaced": result.replaced,
            "unchanged": result.unchanged,
        }
    )


@view_config(route_name="federation.accounting.summary", request_method="GET")
def summary_view(request: Request) -> Response:
    """The summary per site, month, VO, project and image, for root administrators."""
    _require_repository(request)
    month = request.GET.get("month")
    rows = AccountingRepository(request.dbsession).summary(
        request.scope,
        parse_month(month) if month is not None else None,
        request.GET.get("site"),
    )
    return _json({"summary": [row.as_dict() for row in rows]})


def includeme(config: Configurator) -> None:
    """Add the accounting repository's routes."""
    config.add_route("federation.accounting.records", RECORDS_PATH)
    config.add_route("federation.accounting.summary", SUMMARY_PATH)
    config.scan("federation.accounting")
