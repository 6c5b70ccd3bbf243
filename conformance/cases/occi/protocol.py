"""HTTP protocol behaviour: headers, versioning, status codes, pagination, filtering (GFD.223)."""

from __future__ import annotations

import re
import secrets

from conformance.cases import OCCI_RENDERINGS, case
from conformance.cases.context import CaseContext
from conformance.client import BasicAuth, Exchange
from conformance.formats import occi_build, occi_text
from conformance.formats.occi_model import (
    COMPUTE,
    ENTITY,
    NETWORK,
    OCCI_JSON,
    STORAGE,
    TEXT_OCCI,
    TEXT_PLAIN,
    URI_LIST,
    Category,
)

VERSION = re.compile(r"(^|[\s(])OCCI/1\.2(\s|$|\))")


def first_located_kind(ctx: CaseContext) -> Category:
    """A Kind with a location (compute first, else any but Entity)."""
    model = ctx.occi.model()
    for type_id in (COMPUTE, STORAGE, NETWORK):
        kind = model.get(type_id)
        if kind is not None and kind.location:
            return kind
    for kind in model.kinds():
        if kind.location and kind.type_id != ENTITY:
            return kind
    ctx.skip("no Kind has a location")


@case(
    "occi.http.server-header",
    "The Server header carries OCCI/1.2",
    requirements=["GFD.223/versioning.server-header"],
    renderings=OCCI_RENDERINGS,
)
def server_header(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(ctx.media)
    server = exchange.response.header("Server") or ""
    ctx.check(VERSION.search(server), f"Server header is {server!r}", exchange)


@case(
    "occi.http.server-header-errors",
    "Error responses carry OCCI/1.2 in Server too",
    requirements=["GFD.223/versioning.server-header"],
)
def server_header_errors(ctx: CaseContext) -> None:
    kind = first_located_kind(ctx)
    exchange = ctx.client.get(
        ctx.occi.location(kind) + f"conformance-missing-{secrets.token_hex(4)}", TEXT_PLAIN
    )
    server = exchange.response.header("Server") or ""
    ctx.check(
        VERSION.search(server), f"the {exchange.status} answer has Server {server!r}", exchange
    )


@case(
    "occi.http.version-501",
    "A client asking for OCCI/9.9 gets 501",
    requirements=["GFD.223/versioning.501"],
)
def version_501(ctx: CaseContext) -> None:
    exchange = ctx.client.get("-/", TEXT_PLAIN, headers=[("User-Agent", "conformance OCCI/9.9")])
    ctx.expect_status(exchange, 501)


@case(
    "occi.http.version-older",
    "A client announcing OCCI/1.1 is served",
    requirements=["GFD.223/versioning.older-client"],
)
def version_older(ctx: CaseContext) -> None:
    exchange = ctx.client.get("-/", TEXT_PLAIN, headers=[("User-Agent", "conformance OCCI/1.1")])
    ctx.expect_status(exchange, 200)


@case(
    "occi.http.accept-header",
    "Responses list the supported media types in Accept",
    requirements=["GFD.223/headers.accept"],
)
def accept_header(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(TEXT_PLAIN)
    accept = exchange.response.header("Accept") or ""
    ctx.check(
        "text/plain" in accept or "text/occi" in accept,
        f"no Accept header listing OCCI media types (got {accept!r})",
        exchange,
    )


@case("occi.http.404", "An entity that does not exist is 404", requirements=["GFD.223/status.404"])
def status_404(ctx: CaseContext) -> None:
    kind = first_located_kind(ctx)
    url = ctx.occi.location(kind) + f"conformance-missing-{secrets.token_hex(4)}"
    ctx.expect_status(ctx.client.get(url, TEXT_PLAIN), 404)


@case(
    "occi.http.406",
    "An Accept header naming no OCCI rendering is 406",
    requirements=["GFD.223/status.406"],
)
def status_406(ctx: CaseContext) -> None:
    exchange = ctx.client.get("-/", "application/x-conformance-nothing")
    ctx.expect_status(exchange, 406)


@case(
    "occi.http.405",
    "PUT on the query interface is 405",
    requirements=["GFD.223/status.405", "GFD.223/query.PUT.undefined"],
    profile="full",
)
def status_405(ctx: CaseContext) -> None:
    payload = occi_build.mixin_definition(TEXT_PLAIN, Category("x", "http://x.invalid#", "mixin"))
    exchange = ctx.client.request(
        "PUT", "-/", headers=payload.all_headers(TEXT_PLAIN), body=payload.body
    )
    ctx.expect_status(exchange, 405)


@case(
    "occi.http.400",
    "A malformed creation request is 400 and creates nothing",
    requirements=["GFD.223/status.400"],
    profile="full",
)
def status_400(ctx: CaseContext) -> None:
    kind = first_located_kind(ctx)
    body = f'Category: {kind.term}; scheme="unterminated; class=kind\r\nX-OCCI-Attribute: =\r\n'
    exchange = ctx.client.request(
        "POST", ctx.occi.location(kind), headers=[("Content-Type", TEXT_PLAIN)], body=body
    )
    if exchange.status < 300:
        location = exchange.response.header("Location")
        if location:
            from conformance.ledger import Owned

            ctx.session.ledger.track(
                Owned("occi", "malformed creation", ctx.client.url(location), ctx.client)
            )
    ctx.expect_status(exchange, 400)


@case(
    "occi.http.401",
    "Requests without credentials are 401 with a challenge",
    requirements=["GFD.223/status.401"],
)
def status_401(ctx: CaseContext) -> None:
    exchange = ctx.session.anonymous.get("-/", TEXT_PLAIN)
    if exchange.status == 200:
        ctx.skip("the server answers /-/ without credentials: nothing to challenge")
    ctx.expect_status(exchange, 401)
    ctx.check(
        exchange.response.header("WWW-Authenticate"),
        "a 401 without WWW-Authenticate (RFC 7235 §3.1)",
        exchange,
    )


@case(
    "occi.http.401-wrong-password", "Wrong credentials are 401", requirements=["GFD.223/status.401"]
)
def status_401_wrong(ctx: CaseContext) -> None:
    auth = ctx.client.auth
    if not isinstance(auth, BasicAuth):
        ctx.skip("needs Basic credentials (--user/--password) to spoil")
    spoiled = ctx.client.derive(
        auth=BasicAuth(auth.username, auth.password + "-wrong"), identity="wrong password"
    )
    exchange = spoiled.get("-/", TEXT_PLAIN)
    if ctx.session.anonymous.get("-/", TEXT_PLAIN).status == 200:
        ctx.skip("the server does not require authentication")
    ctx.expect_status(exchange, 401)


@case(
    "occi.http.basic", "Authentication offers HTTP Basic", requirements=["GFD.223/security.basic"]
)
def basic(ctx: CaseContext) -> None:
    exchange = ctx.session.anonymous.get("-/", TEXT_PLAIN)
    if exchange.status != 401:
        ctx.skip(f"no challenge to inspect ({exchange.summary()})")
    challenge = exchange.response.header("WWW-Authenticate") or ""
    ctx.check(
        "basic" in challenge.lower(), f"the challenge does not offer Basic: {challenge!r}", exchange
    )


@case("occi.http.tls", "The endpoint is served over TLS", requirements=["GFD.223/security.tls"])
def tls(ctx: CaseContext) -> None:
    if not ctx.client.base_url.startswith("https:"):
        ctx.skip("the endpoint under test is plain HTTP; TLS support cannot be seen from here")


def _paged(ctx: CaseContext) -> tuple[str, list[str]]:
    """A collection with at least two entities, and its full listing."""
    kinds = [k for k in ctx.occi.model().kinds() if k.location and k.type_id != ENTITY]
    if ctx.full:
        for type_id in (NETWORK, STORAGE):
            if ctx.occi.model().get(type_id) is not None:
                ctx.occi.fixture(type_id)
    for kind in kinds:
        urls, _ = ctx.occi.list_locations(ctx.occi.location(kind))
        if len(urls) >= 2:
            return ctx.occi.location(kind), urls
    ctx.skip("no collection holds two entities to page through")


@case(
    "occi.http.pagination",
    "page and number return at most number entities",
    requirements=["GFD.223/pagination.page-number"],
)
def pagination(ctx: CaseContext) -> None:
    url, everything = _paged(ctx)
    exchange = ctx.client.get(f"{url}?page=1&number=1", URI_LIST)
    ctx.expect_status(exchange, 200)
    listed = occi_text.parse_uri_list(exchange.response.text)
    ctx.check(len(listed) <= 1, f"number=1 returned {len(listed)} of {len(everything)}", exchange)


@case(
    "occi.http.pagination-past-end",
    "A page past the end is 200 and empty",
    requirements=["GFD.223/pagination.past-end"],
)
def pagination_past_end(ctx: CaseContext) -> None:
    url, everything = _paged(ctx)
    probe = ctx.client.get(f"{url}?page=1&number=1", URI_LIST)
    if len(occi_text.parse_uri_list(probe.response.text)) == len(everything):
        ctx.skip("the server does not paginate (page and number were ignored)")
    exchange = ctx.client.get(f"{url}?page=1000000&number=1", URI_LIST)
    ctx.expect_status(exchange, 200)
    ctx.check(
        not occi_text.parse_uri_list(exchange.response.text),
        "a page past the end is not empty",
        exchange,
    )


@case(
    "occi.http.pagination-413",
    "A number too large is 413, or served",
    requirements=["GFD.223/pagination.413"],
)
def pagination_413(ctx: CaseContext) -> None:
    url, _ = _paged(ctx)
    ctx.expect_status(ctx.client.get(f"{url}?page=1&number=1000000000000", URI_LIST), 200, 413)


def _filtered_query(ctx: CaseContext) -> tuple[Exchange, set[str], set[str], str]:
    kind = first_located_kind(ctx)
    exchange = ctx.client.get(
        "-/",
        TEXT_PLAIN,
        headers=[("Content-Type", TEXT_OCCI), ("Category", occi_build.category_value(kind))],
    )
    filtered = {c.type_id for c in ctx.occi.categories(exchange, TEXT_PLAIN)[0]}
    return exchange, filtered, set(ctx.occi.model().categories), kind.type_id


@case(
    "occi.http.filter-query",
    "A Category filter on /-/ returns only related Categories",
    requirements=["GFD.223/filter.query-interface"],
)
def filter_query(ctx: CaseContext) -> None:
    exchange, filtered, everything, wanted = _filtered_query(ctx)
    ctx.expect_status(exchange, 200)
    if filtered == everything:
        ctx.skip("the server does not filter the query interface (optional)")
    ctx.check(wanted in filtered, f"the filter category {wanted} is not in the answer", exchange)
    ctx.check(filtered <= everything, "the filtered answer has unknown Categories", exchange)


@case(
    "occi.etsi.discovery-002",
    "Discovery with a Category filter (ETSI DISCOVERY/002)",
    requirements=["ETSI-TS-103-142/OCCI/CORE/DISCOVERY/002"],
)
def etsi_discovery_002(ctx: CaseContext) -> None:
    exchange, filtered, everything, wanted = _filtered_query(ctx)
    ctx.expect_status(exchange, 200)
    ctx.check(
        wanted in filtered and filtered <= everything,
        f"the answer lacks {wanted} or has unknown Categories",
        exchange,
    )


@case(
    "occi.http.json-alias",
    "JSON is offered as application/occi+json",
    requirements=["GFD.226/media-type"],
)
def json_media_type(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(OCCI_JSON)
    if exchange.status == 406:
        ctx.skip("the server does not offer the JSON rendering (406)")
    ctx.check(
        exchange.response.media_type == OCCI_JSON,
        f"JSON served as {exchange.response.shown('Content-Type')}",
        exchange,
    )


def _filtered_collection(ctx: CaseContext) -> tuple[Exchange, list[str], list[str], str]:
    ctx.occi.require_full()
    kind = ctx.occi.kind(NETWORK) if ctx.occi.model().get(NETWORK) else first_located_kind(ctx)
    url = ctx.occi.fixture(kind.type_id)
    title = ctx.occi.attribute(url, "occi.core.title")
    everything, _ = ctx.occi.list_locations(ctx.occi.location(kind))
    exchange = ctx.client.get(
        ctx.occi.location(kind),
        TEXT_PLAIN,
        headers=[
            ("Content-Type", TEXT_OCCI),
            ("Category", occi_build.category_value(kind)),
            ("X-OCCI-Attribute", f"occi.core.title={occi_build.quote(str(title))}"),
        ],
    )
    found = [ctx.client.url(x) for x in occi_text.parse_plain(exchange.response.text).locations]
    return exchange, found, everything, url


@case(
    "occi.http.filter-collection",
    "An attribute filter on a collection returns only matches",
    requirements=["GFD.223/filter.collection"],
    profile="full",
)
def filter_collection(ctx: CaseContext) -> None:
    exchange, found, everything, url = _filtered_collection(ctx)
    ctx.expect_status(exchange, 200)
    if len(everything) > 1 and sorted(found) == sorted(everything):
        ctx.skip("the server does not filter collections (optional)")
    ctx.check(found == [url], f"filtering on our title gave {found}", exchange)


@case(
    "occi.etsi.read-002",
    "A collection read with an attribute filter (ETSI READ/002)",
    requirements=["ETSI-TS-103-142/OCCI/CORE/READ/002"],
    profile="full",
)
def etsi_read_002(ctx: CaseContext) -> None:
    exchange, found, _, url = _filtered_collection(ctx)
    ctx.expect_status(exchange, 200)
    ctx.check(url in found, f"{url} is missing from the filtered listing", exchange)
