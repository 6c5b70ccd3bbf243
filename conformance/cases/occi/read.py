"""Reading collections and entities (GFD.223 §10.1, §11.1; GFD.221 entities; ETSI READ)."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from conformance.cases import OCCI_RENDERINGS, case
from conformance.cases.context import CaseContext, CaseFailed, CaseSkipped
from conformance.formats import occi_json, occi_text
from conformance.formats.occi_model import (
    COMPUTE,
    ENTITY,
    NETWORK,
    OCCI_JSON,
    STORAGE,
    TEXT_OCCI,
    TEXT_PLAIN,
    URI_LIST,
)

URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+\Z")


def any_entity(ctx: CaseContext) -> str:
    """An entity to read: compute, storage or network, whichever exists (or ours)."""
    model = ctx.occi.model()
    reasons = []
    for type_id in (COMPUTE, STORAGE, NETWORK):
        if model.get(type_id) is None:
            continue
        try:
            return ctx.occi.sample(type_id)
        except (CaseSkipped, CaseFailed) as exc:  # try the next Kind
            reasons.append(str(exc))
    for kind in model.kinds():
        if kind.location and kind.type_id != ENTITY:
            urls, _ = ctx.occi.list_locations(ctx.occi.location(kind))
            if urls:
                return urls[0]
    ctx.skip("no entity to read: " + ("; ".join(reasons) or "no Kind offers one"))


@case(
    "occi.collection.get",
    "Every Kind collection answers GET with 200 and a listing",
    requirements=["GFD.223/collection.GET.200", "GFD.223/collection.GET.rendering"],
    renderings=OCCI_RENDERINGS,
)
def collection_get(ctx: CaseContext) -> None:
    kinds = [k for k in ctx.occi.model().kinds() if k.location and k.type_id != ENTITY]
    if not kinds:
        ctx.skip("no Kind has a location")
    for kind in kinds:
        exchange = ctx.client.get(ctx.occi.location(kind), ctx.media)
        ctx.expect_status(exchange, 200, what=kind.term)
        if ctx.media == OCCI_JSON:
            try:
                _, problems = occi_json.collection(exchange.response.json())
            except ValueError as exc:
                problems = [f"not JSON: {exc}"]
            ctx.check(not problems, f"{kind.term}: not an entity collection: {problems}", exchange)
        else:
            message = ctx.occi.text_message(exchange, ctx.media)
            others = [n for n in message.order if n != "x-occi-location"]
            ctx.check(
                not others, f"{kind.term}: the listing has {sorted(set(others))} fields", exchange
            )


@case(
    "occi.etsi.read-001",
    "The locations of a Kind collection (ETSI READ/001)",
    requirements=["ETSI-TS-103-142/OCCI/CORE/READ/001", "GFD.221/collection.navigation"],
)
def etsi_read_001(ctx: CaseContext) -> None:
    url = any_entity(ctx)
    kind_urls = []
    for kind in ctx.occi.model().kinds():
        if kind.location and kind.type_id != ENTITY:
            urls, exchange = ctx.occi.list_locations(ctx.occi.location(kind))
            ctx.expect_status(exchange, 200)
            kind_urls += urls
    ctx.check(url in kind_urls, f"{url} is in no Kind collection listing")


@case(
    "occi.entity.get",
    "GET on an entity returns its rendering with 200",
    requirements=["GFD.223/entity.GET.200", "GFD.223/entity.GET.rendering"],
    renderings=OCCI_RENDERINGS,
)
def entity_get(ctx: CaseContext) -> None:
    exchange = ctx.occi.get(any_entity(ctx), ctx.media)
    ctx.expect_status(exchange, 200)
    entity, problems = ctx.occi.entity(exchange, ctx.media)
    ctx.check(entity.kind, f"no Kind in the entity rendering {problems[:2]}", exchange)


@case(
    "occi.etsi.read-007",
    "The rendering of one entity (ETSI READ/007)",
    requirements=["ETSI-TS-103-142/OCCI/CORE/READ/007", "GFD.221/entity.kind"],
)
def etsi_read_007(ctx: CaseContext) -> None:
    exchange = ctx.occi.get(any_entity(ctx), TEXT_PLAIN)
    ctx.expect_status(exchange, 200)
    message = ctx.occi.text_message(exchange, TEXT_PLAIN)
    kinds = [c for c in message.categories if c.cls == "kind"]
    ctx.check(len(kinds) == 1, f"{len(kinds)} Kind Categories in the rendering", exchange)
    ctx.check(
        kinds[0].type_id in ctx.occi.model().categories,
        f"the Kind {kinds[0].type_id} is not advertised at /-/",
        exchange,
    )
    ctx.check("occi.core.id" in message.attributes, "occi.core.id is not rendered", exchange)


@case("occi.entity.id-uri", "An entity id is a URI", requirements=["GFD.221/entity.id-uri"])
def entity_id_uri(ctx: CaseContext) -> None:
    exchange = ctx.occi.get(any_entity(ctx), TEXT_PLAIN)
    identifier = ctx.occi.entity(exchange, TEXT_PLAIN)[0].id
    ctx.check(
        isinstance(identifier, str) and URI.match(identifier),
        f"occi.core.id {identifier!r} is not a URI",
        exchange,
    )


@case(
    "occi.entity.id-urn", "Entity ids use the urn:uuid form", requirements=["GFD.221/entity.id-urn"]
)
def entity_id_urn(ctx: CaseContext) -> None:
    exchange = ctx.occi.get(any_entity(ctx), TEXT_PLAIN)
    identifier = ctx.occi.entity(exchange, TEXT_PLAIN)[0].id
    ctx.check(
        isinstance(identifier, str) and identifier.startswith("urn:uuid:"),
        f"occi.core.id {identifier!r} is not a urn:uuid",
        exchange,
    )


@case(
    "occi.entity.kind-membership",
    "A new entity is listed in its Kind collection",
    requirements=["GFD.221/collection.kind-membership"],
    profile="full",
)
def kind_membership(ctx: CaseContext) -> None:
    url = ctx.occi.fixture(NETWORK if ctx.occi.model().get(NETWORK) else COMPUTE)
    kind = ctx.occi.kind(NETWORK if ctx.occi.model().get(NETWORK) else COMPUTE)
    urls, exchange = ctx.occi.list_locations(ctx.occi.location(kind))
    ctx.check(url in urls, f"{url} is not listed in {kind.term}", exchange)


@case(
    "occi.uri-list.listing",
    "A collection asked for as text/uri-list is a URI list",
    requirements=["GFD.229/uri-list.listing"],
)
def uri_list_listing(ctx: CaseContext) -> None:
    kind = next((k for k in ctx.occi.model().kinds() if k.location and k.type_id != ENTITY), None)
    if kind is None:
        ctx.skip("no Kind has a location")
    exchange = ctx.client.get(ctx.occi.location(kind), URI_LIST)
    ctx.expect_status(exchange, 200)
    ctx.check(
        exchange.response.media_type == URI_LIST,
        f"answered {exchange.response.shown('Content-Type')}",
        exchange,
    )
    for line in occi_text.parse_uri_list(exchange.response.text):
        ctx.check(not re.search(r"\s", line), f"not a URI: {line!r}", exchange)


@case(
    "occi.uri-list.non-listing",
    "text/uri-list for a single entity is 400",
    requirements=["GFD.229/uri-list.non-listing-400"],
)
def uri_list_non_listing(ctx: CaseContext) -> None:
    ctx.expect_status(ctx.client.get(any_entity(ctx), URI_LIST), 400)


@case(
    "occi.text.collection",
    "A text listing is X-OCCI-Location lines of URI references",
    requirements=["GFD.229/rendering.entity-collection", "GFD.229/abnf.location"],
    renderings=(TEXT_PLAIN, TEXT_OCCI),
)
def text_collection(ctx: CaseContext) -> None:
    url = any_entity(ctx)
    kinds = [k for k in ctx.occi.model().kinds() if k.location and k.type_id != ENTITY]
    for kind in kinds:
        exchange = ctx.client.get(ctx.occi.location(kind), ctx.media)
        message = ctx.occi.text_message(exchange, ctx.media)
        problems = message.problems_for("abnf.location")
        ctx.check(not problems, f"{kind.term}: {problems[0].message if problems else ''}", exchange)
        if url in [urljoin(exchange.request.url, x) for x in message.locations]:
            return
    ctx.fail(f"{url} appears in no {ctx.media} listing as an X-OCCI-Location")
