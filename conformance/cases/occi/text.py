"""The text renderings (GFD.229): ABNF, rendering structure, the three media types."""

from __future__ import annotations

from conformance.cases import OCCI_TEXT, case
from conformance.cases.context import CaseContext
from conformance.cases.occi.read import any_entity
from conformance.formats import occi_text
from conformance.formats.occi_model import (
    COMPUTE,
    ENTITY,
    STORAGELINK,
    TEXT_OCCI,
    TEXT_OCCI_PLAIN,
    TEXT_PLAIN,
    URI_LIST,
)

RENDERING_ORDER = {"category": 0, "link": 1, "x-occi-attribute": 2}


@case(
    "occi.text.renderings",
    "text/plain, text/occi and text/uri-list are all served",
    requirements=["GFD.229/renderings.three"],
)
def renderings(ctx: CaseContext) -> None:
    for media in (TEXT_PLAIN, TEXT_OCCI):
        exchange = ctx.occi.query(media)
        ctx.check(
            exchange.status == 200 and exchange.response.media_type == media,
            f"/-/ as {media}: {exchange.summary()} {exchange.response.content_type}",
            exchange,
        )
    kind = next((k for k in ctx.occi.model().kinds() if k.location and k.type_id != ENTITY), None)
    if kind is not None:
        exchange = ctx.client.get(ctx.occi.location(kind), URI_LIST)
        ctx.check(
            exchange.status == 200 and exchange.response.media_type == URI_LIST,
            f"a collection as text/uri-list: {exchange.summary()}",
            exchange,
        )


@case(
    "occi.text.category-abnf",
    "Category lines follow the ABNF",
    requirements=["GFD.229/abnf.category", "GFD.229/rendering.category"],
    renderings=OCCI_TEXT,
)
def category_abnf(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(ctx.media)
    ctx.expect_status(exchange, 200)
    message = ctx.occi.text_message(exchange, ctx.media)
    problems = message.problems_for("abnf.category")
    ctx.check(not problems, "; ".join(p.message for p in problems[:3]), exchange)
    ctx.check(message.categories, "no Category field in the answer", exchange)


@case(
    "occi.text.category-collection",
    "The query interface is Category lines only",
    requirements=["GFD.229/rendering.category-collection"],
    renderings=OCCI_TEXT,
)
def category_collection(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(ctx.media)
    message = ctx.occi.text_message(exchange, ctx.media)
    others = sorted({n for n in message.order if n != "category"})
    ctx.check(
        message.categories and not others,
        f"the category collection holds {others or 'no Category'}",
        exchange,
    )


@case(
    "occi.text.action-no-links",
    "Action Categories carry no rel, location or actions",
    requirements=["GFD.229/rendering.action-no-links"],
    renderings=OCCI_TEXT,
)
def action_no_links(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(ctx.media)
    for category in ctx.occi.text_message(exchange, ctx.media).categories:
        if category.cls == "action":
            ctx.check(
                not (category.rel or category.location or category.actions),
                f"the Action {category.type_id} has references",
                exchange,
            )


@case(
    "occi.text.mixin-rel",
    "A Mixin's rel names one type identifier at most",
    requirements=["GFD.229/rendering.mixin-rel"],
    renderings=OCCI_TEXT,
)
def mixin_rel(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(ctx.media)
    for category in ctx.occi.text_message(exchange, ctx.media).categories:
        if category.cls == "mixin":
            ctx.check(
                len(category.rel) <= 1,
                f"the Mixin {category.type_id} has rel {category.rel}",
                exchange,
            )


@case(
    "occi.text.plain-alias",
    "text/occi+plain is served like text/plain",
    requirements=["GFD.229/plain.media-types"],
)
def plain_alias(ctx: CaseContext) -> None:
    exchange = ctx.client.get("-/", TEXT_OCCI_PLAIN)
    ctx.expect_status(exchange, 200)
    ctx.check(
        exchange.response.media_type in (TEXT_OCCI_PLAIN, TEXT_PLAIN),
        f"answered {exchange.response.shown('Content-Type')}",
        exchange,
    )
    ctx.check(
        occi_text.parse_plain(exchange.response.text).categories,
        "no Category line in the body",
        exchange,
    )


@case(
    "occi.text.plain-body",
    "Every text/plain body line is 'Name: value'",
    requirements=["GFD.229/plain.body"],
)
def plain_body(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(TEXT_PLAIN)
    problems = occi_text.parse_plain(exchange.response.text).problems_for("plain.body")
    ctx.check(not problems, "; ".join(p.message for p in problems[:3]), exchange)


@case(
    "occi.text.header-rendering",
    "text/occi puts the rendering in headers, the body is OK",
    requirements=["GFD.229/header.in-headers", "GFD.229/header.body-ok"],
)
def header_rendering(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(TEXT_OCCI)
    ctx.expect_status(exchange, 200)
    ctx.check(
        occi_text.parse_fields(exchange.response.headers).categories, "no Category header", exchange
    )
    ctx.check(
        exchange.response.text.strip() == "OK",
        f"the body is {exchange.response.text[:40]!r}, not OK",
        exchange,
    )


@case(
    "occi.text.comma-separated",
    "Repeated text/occi fields are one comma-separated header",
    requirements=["GFD.229/header.comma-separated"],
)
def comma_separated(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(TEXT_OCCI)
    repeated = len(exchange.response.header_values("Category"))
    ctx.check(repeated <= 1, f"{repeated} separate Category headers instead of one list", exchange)


@case(
    "occi.text.entity",
    "An entity renders as Categories, Links, then attributes",
    requirements=[
        "GFD.229/rendering.resource",
        "GFD.229/abnf.attribute",
        "GFD.229/abnf.link",
        "GFD.229/rendering.entity-attribute-names",
    ],
    renderings=OCCI_TEXT,
)
def entity_rendering(ctx: CaseContext) -> None:
    exchange = ctx.occi.get(any_entity(ctx), ctx.media)
    ctx.expect_status(exchange, 200)
    message = ctx.occi.text_message(exchange, ctx.media)
    problems = [p for p in message.problems if p.requirement in ("abnf.attribute", "abnf.link")]
    ctx.check(not problems, "; ".join(p.message for p in problems[:3]), exchange)
    ctx.check(message.categories, "no Category in the entity rendering", exchange)
    if ctx.media == TEXT_PLAIN:
        ranks = [RENDERING_ORDER[n] for n in message.order if n in RENDERING_ORDER]
        ctx.check(
            ranks == sorted(ranks), "lines are not Category, then Link, then attributes", exchange
        )
    ctx.check("occi.core.id" in message.attributes, "occi.core.id is not rendered", exchange)


@case(
    "occi.text.action-links",
    "A compute shows its applicable Actions as ActionLinks",
    requirements=["GFD.229/rendering.action-links", "GFD.229/abnf.action-link"],
    renderings=OCCI_TEXT,
)
def action_links(ctx: CaseContext) -> None:
    kind = ctx.occi.kind(COMPUTE)
    exchange = ctx.occi.get(ctx.occi.sample(COMPUTE), ctx.media)
    ctx.expect_status(exchange, 200)
    message = ctx.occi.text_message(exchange, ctx.media)
    problems = message.problems_for("abnf.action-link")
    ctx.check(not problems, "; ".join(p.message for p in problems[:3]), exchange)
    if kind.actions:
        ctx.check(message.action_links, "no ActionLink, though compute defines actions", exchange)
    for _, rel in message.action_links:
        ctx.check(rel in kind.actions, f"ActionLink to {rel}, not an action of compute", exchange)


@case(
    "occi.text.link-rendering",
    "A Link renders with its Kind, source and target",
    requirements=["GFD.229/rendering.link"],
    renderings=OCCI_TEXT,
    profile="full",
)
def link_rendering(ctx: CaseContext) -> None:
    link, _, _ = ctx.occi.link_fixture(STORAGELINK)
    exchange = ctx.occi.get(link, ctx.media)
    ctx.expect_status(exchange, 200)
    message = ctx.occi.text_message(exchange, ctx.media)
    kinds = [c.type_id for c in message.categories if c.cls == "kind"]
    ctx.check(kinds == [STORAGELINK], f"Kind Categories {kinds}", exchange)
    missing = [n for n in ("occi.core.source", "occi.core.target") if n not in message.attributes]
    ctx.check(not missing, f"the link rendering lacks {missing}", exchange)


@case(
    "occi.text.multiple-headers",
    "Repeated text/occi request headers are understood",
    requirements=["GFD.229/header.multiple-values"],
    profile="full",
)
def multiple_headers(ctx: CaseContext) -> None:
    from conformance.cases.occi.create import resource_kind

    kind = resource_kind(ctx)
    created = ctx.occi.create(
        kind.type_id, TEXT_OCCI, what="repeated-headers", separate_headers=True
    )
    ctx.expect_status(created.exchange, 200, 201)
    ctx.check(created.location, "the new entity cannot be found", created.exchange)
    title = ctx.occi.attribute(created.location or "", "occi.core.title")
    ctx.check(title == created.title, f"the title was read as {title!r}", created.exchange)
