"""Creating entities (GFD.223 §10.2.1, §11.3.1; GFD.221 instantiation; ETSI CREATE, INFRA/CREATE).

Full profile only: every entity is created with a ``conformance-<run>-...`` title,
tracked, and deleted when the run ends.
"""

from __future__ import annotations

from typing import Any

from conformance.cases import OCCI_RENDERINGS, case
from conformance.cases.context import CaseContext
from conformance.client import Exchange
from conformance.formats import occi_build
from conformance.formats.occi_model import (
    COMPUTE,
    ENTITY,
    NETWORK,
    NETWORKINTERFACE,
    OS_TPL,
    RESOURCE_TPL,
    STORAGE,
    STORAGELINK,
    TEXT_PLAIN,
    Category,
)
from conformance.ledger import Owned


def resource_kind(ctx: CaseContext) -> Category:
    """The cheapest resource Kind to create: network, storage, then compute."""
    model = ctx.occi.model()
    for type_id in (NETWORK, STORAGE, COMPUTE):
        kind = model.get(type_id)
        if kind is not None and kind.location:
            return kind
    ctx.skip("no network, storage or compute Kind to create")


@case(
    "occi.create.post",
    "POST on a Kind location creates an entity (201 + Location or 200)",
    requirements=["GFD.223/collection.POST.create", "ETSI-TS-103-142/OCCI/CORE/CREATE/001"],
    renderings=OCCI_RENDERINGS,
    profile="full",
)
def create_post(ctx: CaseContext) -> None:
    kind = resource_kind(ctx)
    created = ctx.occi.create(kind.type_id, ctx.media)
    exchange = created.exchange
    ctx.expect_status(exchange, 200, 201)
    if exchange.status == 201:
        ctx.check(exchange.response.header("Location"), "201 without a Location header", exchange)
    else:
        entity, _ = ctx.occi.entity(exchange, ctx.media)
        ctx.check(entity.kind, "200 without the entity rendering", exchange)
    ctx.check(created.location, "the new entity cannot be found", exchange)
    read = ctx.occi.get(created.location or "", TEXT_PLAIN)
    ctx.expect_status(read, 200, what="reading the new entity back")
    title = ctx.occi.entity(read, TEXT_PLAIN)[0].attributes.get("occi.core.title")
    ctx.check(title == created.title, f"the new entity's title is {title!r}", read)


def _etsi_fixture(ctx: CaseContext, type_id: str) -> None:
    location = ctx.occi.fixture(type_id, failing=True)
    exchange = ctx.occi.get(location, TEXT_PLAIN)
    ctx.expect_status(exchange, 200)
    kind = ctx.occi.entity(exchange, TEXT_PLAIN)[0].kind
    ctx.check(kind == type_id, f"the new entity has Kind {kind}", exchange)


@case(
    "occi.etsi.infra-create-001",
    "Create a compute (ETSI INFRA/CREATE/001)",
    requirements=["ETSI-TS-103-142/OCCI/INFRA/CREATE/001"],
    profile="full",
)
def infra_create_compute(ctx: CaseContext) -> None:
    _etsi_fixture(ctx, COMPUTE)


@case(
    "occi.etsi.infra-create-002",
    "Create a storage (ETSI INFRA/CREATE/002)",
    requirements=["ETSI-TS-103-142/OCCI/INFRA/CREATE/002"],
    profile="full",
)
def infra_create_storage(ctx: CaseContext) -> None:
    _etsi_fixture(ctx, STORAGE)


@case(
    "occi.etsi.infra-create-003",
    "Create a network (ETSI INFRA/CREATE/003)",
    requirements=["ETSI-TS-103-142/OCCI/INFRA/CREATE/003"],
    profile="full",
)
def infra_create_network(ctx: CaseContext) -> None:
    _etsi_fixture(ctx, NETWORK)


@case(
    "occi.etsi.infra-create-004",
    "Create a compute from OS and resource templates",
    requirements=["ETSI-TS-103-142/OCCI/INFRA/CREATE/004", "GFD.221/instantiation.mixins"],
    profile="full",
)
def infra_create_templates(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    chosen = ctx.occi.templates(ctx.occi.kind(COMPUTE))
    if not model.templates(OS_TPL) or not model.templates(RESOURCE_TPL):
        ctx.skip("the server does not offer both OS and resource templates")
    exchange = ctx.occi.get(ctx.occi.fixture(COMPUTE), TEXT_PLAIN)
    mixins = ctx.occi.entity(exchange, TEXT_PLAIN)[0].mixins
    missing = [m.type_id for m in chosen if m.type_id not in mixins]
    ctx.check(not missing, f"the compute does not carry the templates {missing}", exchange)


@case(
    "occi.etsi.infra-create-005",
    "Create a compute with inline storagelink and interface",
    requirements=["ETSI-TS-103-142/OCCI/INFRA/CREATE/005", "GFD.224/inline-links"],
    profile="full",
)
def infra_create_inline(ctx: CaseContext) -> None:
    specs = ctx.occi.inline_links()
    # The storage was created a moment ago: an asynchronous server may refuse
    # to link it (409) until it is ready.
    attempts: list[Any] = []

    def create_inline() -> Any:
        attempts.append(ctx.occi.create(COMPUTE, what="inline-links", links=specs))
        return attempts[-1].exchange

    ctx.occi.settled(create_inline, "the server to accept a compute with inline links")
    created = attempts[-1]
    ctx.expect_status(created.exchange, 200, 201)
    ctx.check(created.location, "the new compute cannot be found", created.exchange)
    exchange = ctx.occi.get(created.location or "", TEXT_PLAIN)
    links = ctx.occi.entity(exchange, TEXT_PLAIN)[0].links
    for spec in specs:
        found = [
            lk
            for lk in links
            if lk.target.endswith(spec.target) and (spec.kind in lk.categories or not lk.categories)
        ]
        ctx.check(
            found, f"no {spec.kind.rsplit('#', 1)[-1]} to {spec.target} was created", exchange
        )


def _link_case(ctx: CaseContext, link_type: str, target_type: str) -> None:
    link, compute, target = ctx.occi.link_fixture(link_type, failing=True)
    exchange = ctx.occi.get(link, TEXT_PLAIN)
    ctx.expect_status(exchange, 200)
    attributes = ctx.occi.entity(exchange, TEXT_PLAIN)[0].attributes
    for name, url in (("occi.core.source", compute), ("occi.core.target", target)):
        value = str(attributes.get(name, ""))
        ctx.check(
            value and ctx.client.url(value) == url, f"{name} is {value!r}, not {url}", exchange
        )
    rendering = ctx.occi.get(compute, TEXT_PLAIN)
    links = ctx.occi.entity(rendering, TEXT_PLAIN)[0].links
    ctx.check(
        any(
            (lk.self_location and ctx.client.url(lk.self_location) == link)
            or ctx.client.url(lk.target) == target
            for lk in links
        ),
        f"the compute does not render the new {target_type.rsplit('#', 1)[-1]} link",
        rendering,
    )


@case(
    "occi.etsi.infra-create-006",
    "Link an existing compute and storage",
    requirements=["ETSI-TS-103-142/OCCI/INFRA/CREATE/006", "GFD.224/links.targets"],
    profile="full",
)
def infra_create_storagelink(ctx: CaseContext) -> None:
    _link_case(ctx, STORAGELINK, STORAGE)


@case(
    "occi.etsi.infra-create-007",
    "Link an existing compute and network",
    requirements=["ETSI-TS-103-142/OCCI/INFRA/CREATE/007", "GFD.224/links.targets"],
    profile="full",
)
def infra_create_networkinterface(ctx: CaseContext) -> None:
    _link_case(ctx, NETWORKINTERFACE, NETWORK)


@case(
    "occi.create.no-kind",
    "A creation request without a Kind is refused",
    requirements=["GFD.221/instantiation.kind"],
    profile="full",
)
def create_no_kind(ctx: CaseContext) -> None:
    kind = resource_kind(ctx)
    title = ctx.session.unique("no-kind")
    body = f'X-OCCI-Attribute: occi.core.title="{title}"\r\n'
    exchange = ctx.client.request(
        "POST", ctx.occi.location(kind), headers=[("Content-Type", TEXT_PLAIN)], body=body
    )
    if exchange.status < 300:
        location = ctx.occi.locate(exchange, kind, title, ctx.client)
        if location:
            ctx.session.ledger.track(Owned("occi", "kind-less creation", location, ctx.client))
    ctx.check(
        400 <= exchange.status < 500, f"{exchange.summary()}, expected a 4xx refusal", exchange
    )


@case(
    "occi.create.put",
    "PUT at an unused path creates the entity there",
    requirements=["GFD.223/entity.PUT.create"],
    profile="full",
)
def create_put(ctx: CaseContext) -> None:
    exchange = _put_create(ctx)
    ctx.expect_status(exchange, 200, 201)


@case(
    "occi.create.put-response",
    "A PUT creation is 201 + Location or 200 + rendering",
    requirements=["GFD.223/entity.PUT.response"],
    profile="full",
)
def create_put_response(ctx: CaseContext) -> None:
    exchange = _put_create(ctx)
    if exchange.status in (405, 501):
        ctx.skip(f"the server does not create with PUT ({exchange.summary()})")
    ctx.expect_status(exchange, 200, 201)
    if exchange.status == 201:
        ctx.check(exchange.response.header("Location"), "201 without a Location header", exchange)
    else:
        ctx.check(
            ctx.occi.entity(exchange, TEXT_PLAIN)[0].kind, "200 without a rendering", exchange
        )


def _put_create(ctx: CaseContext) -> Exchange:
    def attempt() -> Exchange:
        ctx.occi.require_full()
        kind = resource_kind(ctx)
        title = ctx.session.unique("put")
        url = ctx.occi.location(kind) + title
        values = ctx.occi.attributes_for(kind, title, [])
        payload = occi_build.entity(TEXT_PLAIN, kind, attributes=values)
        exchange = ctx.client.request(
            "PUT", url, headers=payload.all_headers(TEXT_PLAIN), body=payload.body
        )
        if exchange.status < 300:
            location = exchange.response.header("Location")
            ctx.session.ledger.track(
                Owned(
                    "occi",
                    f"{kind.term} {title}",
                    ctx.client.url(location) if location else url,
                    ctx.client,
                )
            )
        return exchange

    return ctx.session.memo("a PUT creation", attempt)


@case(
    "occi.create.applies",
    "A Mixin is refused on a Kind it does not apply to",
    requirements=["GFD.221/mixin.applies"],
    profile="full",
)
def create_applies(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    kind = resource_kind(ctx)
    mixin = next(
        (
            m
            for m in model.mixins()
            if m.applies and kind.type_id not in m.applies and ENTITY not in m.applies
        ),
        None,
    )
    if mixin is None:
        ctx.skip("no Mixin with an applies list excluding a creatable Kind (JSON discovery)")
    created = ctx.occi.create(kind.type_id, what="wrong-mixin", mixins=[mixin])
    ctx.check(
        400 <= created.exchange.status < 500,
        f"{mixin.type_id} (applies to {mixin.applies}) accepted on a {kind.term}: "
        f"{created.exchange.summary()}",
        created.exchange,
    )
