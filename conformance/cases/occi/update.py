"""Updating entities (GFD.223 §10.2.2, §10.3.1; GFD.221 mutability; GFD.224 templates)."""

from __future__ import annotations

import uuid
from typing import Any

from conformance.cases import OCCI_RENDERINGS, case
from conformance.cases.context import CaseContext
from conformance.cases.occi.create import resource_kind
from conformance.client import Exchange
from conformance.formats import occi_build
from conformance.formats.occi_model import (
    COMPUTE,
    OS_TPL,
    RESOURCE_TPL,
    STORAGELINK,
    TEXT_PLAIN,
    Category,
    Entity,
)


def _own(ctx: CaseContext) -> tuple[str, Category]:
    ctx.occi.require_full()
    kind = resource_kind(ctx)
    return ctx.occi.fixture(kind.type_id), kind


def _replace(
    ctx: CaseContext, url: str, kind: Category, entity: Entity, changes: dict[str, Any]
) -> Exchange:
    """PUT the full rendering of ``entity`` with ``changes`` (links left out)."""
    model = ctx.occi.model()
    definitions = model.all_attributes(kind)
    mixins = [model.categories[m] for m in entity.mixins if m in model.categories]
    for mixin in mixins:
        definitions.update(model.all_attributes(mixin))
    values = {
        name: value
        for name, value in entity.attributes.items()
        if name in definitions and definitions[name].mutable and name != "occi.core.id"
    }
    values.update(changes)
    payload = occi_build.entity(TEXT_PLAIN, kind, mixins=mixins, attributes=values)
    return ctx.client.request(
        "PUT", url, headers=payload.all_headers(TEXT_PLAIN), body=payload.body
    )


@case(
    "occi.update.partial",
    "A partial update is 200 + rendering (or 201) and is applied",
    requirements=["GFD.223/entity.POST.update", "GFD.221/attribute.mutable"],
    renderings=OCCI_RENDERINGS,
    profile="full",
)
def partial(ctx: CaseContext) -> None:
    url, _ = _own(ctx)
    title = ctx.session.unique("renamed")
    payload = occi_build.partial(ctx.media, {"occi.core.title": title})
    exchange = ctx.client.request(
        "POST", url, headers=payload.all_headers(ctx.media), body=payload.body
    )
    ctx.expect_status(exchange, 200, 201)
    if exchange.status == 201:
        ctx.check(exchange.response.header("Location"), "201 without a Location", exchange)
    else:
        ctx.check(ctx.occi.entity(exchange, ctx.media)[0].kind, "200 without a rendering", exchange)
    read = ctx.occi.get(url, TEXT_PLAIN)
    now = ctx.occi.entity(read, TEXT_PLAIN)[0].attributes.get("occi.core.title")
    ctx.check(now == title, f"the title is {now!r} after the update, not {title!r}", read)


@case(
    "occi.update.immutable",
    "A client cannot change occi.core.id",
    requirements=["GFD.221/attribute.immutable"],
    profile="full",
)
def immutable(ctx: CaseContext) -> None:
    url, _ = _own(ctx)
    before = ctx.occi.read(url).id
    payload = occi_build.partial(TEXT_PLAIN, {"occi.core.id": f"urn:uuid:{uuid.uuid4()}"})
    exchange = ctx.client.request(
        "POST", url, headers=payload.all_headers(TEXT_PLAIN), body=payload.body
    )
    read = ctx.occi.get(url, TEXT_PLAIN)
    after = ctx.occi.entity(read, TEXT_PLAIN)[0].id
    ctx.check(
        read.status == 200 and after == before,
        f"occi.core.id went from {before!r} to {after!r} ({exchange.summary()})",
        exchange,
        read,
    )


@case(
    "occi.update.put",
    "A full update with PUT is applied (ETSI UPDATE/001)",
    requirements=["GFD.223/entity.PUT.response", "ETSI-TS-103-142/OCCI/CORE/UPDATE/001"],
    profile="full",
)
def put(ctx: CaseContext) -> None:
    url, kind = _own(ctx)
    title = ctx.session.unique("replaced")
    exchange = _replace(ctx, url, kind, ctx.occi.read(url), {"occi.core.title": title})
    ctx.expect_status(exchange, 200, 201)
    if exchange.status == 201:
        ctx.check(exchange.response.header("Location"), "201 without a Location", exchange)
    else:
        ctx.check(
            ctx.occi.entity(exchange, TEXT_PLAIN)[0].kind, "200 without a rendering", exchange
        )
    now = ctx.occi.attribute(url, "occi.core.title")
    ctx.check(now == title, f"the title is {now!r} after PUT, not {title!r}", exchange)


@case(
    "occi.update.put-links",
    "Replacing a Resource with PUT keeps its Links",
    requirements=["GFD.223/entity.PUT.links-intact"],
    profile="full",
)
def put_links(ctx: CaseContext) -> None:
    link, compute, target = ctx.occi.link_fixture(STORAGELINK)
    before = ctx.occi.read(compute)
    exchange = _replace(
        ctx,
        compute,
        ctx.occi.kind(COMPUTE),
        before,
        {"occi.core.title": ctx.session.unique("replaced-compute")},
    )
    ctx.check(exchange.status < 300, f"PUT on the compute: {exchange.summary()}", exchange)
    read = ctx.occi.get(compute, TEXT_PLAIN)
    links = ctx.occi.entity(read, TEXT_PLAIN)[0].links
    kept = any(
        (lk.self_location and ctx.client.url(lk.self_location) == link)
        or ctx.client.url(lk.target) == target
        for lk in links
    )
    ctx.check(kept, "the storagelink is gone after the PUT", exchange, read)
    ctx.expect_status(ctx.client.get(link, TEXT_PLAIN), 200, what="the link itself")


def _template_replace(ctx: CaseContext, parent: str) -> None:
    compute = ctx.occi.fixture(COMPUTE)
    current = ctx.occi.read(compute).mixins
    templates = ctx.occi.model().templates(parent)
    old = [t for t in templates if t.type_id in current]
    new = [t for t in templates if t.type_id not in current]
    if not old or not new:
        ctx.skip(f"needs two {parent.rsplit('#', 1)[-1]} templates, one of them in use")
    payload = occi_build.partial(TEXT_PLAIN, {}, mixins=[new[0]])
    exchange = ctx.client.request(
        "POST", compute, headers=payload.all_headers(TEXT_PLAIN), body=payload.body
    )
    if exchange.status >= 400:
        ctx.skip(f"changing the template is not supported ({exchange.summary()})")
    mixins = ctx.occi.read(compute).mixins
    ctx.check(
        new[0].type_id in mixins and old[0].type_id not in mixins,
        f"after associating {new[0].type_id} the compute has {mixins}",
        exchange,
    )


@case(
    "occi.update.os-template",
    "A new OS template replaces the old one",
    requirements=["GFD.224/os_tpl.replace"],
    profile="full",
)
def os_template(ctx: CaseContext) -> None:
    _template_replace(ctx, OS_TPL)


@case(
    "occi.update.resource-template",
    "A new resource template replaces the old one",
    requirements=["GFD.224/resource_tpl.replace"],
    profile="full",
)
def resource_template(ctx: CaseContext) -> None:
    _template_replace(ctx, RESOURCE_TPL)
