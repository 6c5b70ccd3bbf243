"""The query interface and the model it advertises (GFD.221 model, GFD.223 §4 and §9)."""

from __future__ import annotations

import re

from conformance.cases import OCCI_RENDERINGS, case
from conformance.cases.context import CaseContext
from conformance.formats.occi_model import (
    CORE,
    ENTITY,
    INFRA,
    LINK,
    OCCI,
    RESOURCE,
    TEXT_PLAIN,
    URI_LIST,
)

#: Category schemes the OCCI documents define (GFD.221, 224, 227, 228, 222, the Monitoring draft).
OGF_SCHEMES = re.compile(
    r"http://schemas\.ogf\.org/occi/(core|infrastructure|platform|sla|monitoring)"
    r"(/[A-Za-z0-9_/.-]*)?#\Z"
)
CORE_TERMS = {"entity", "resource", "link"}
#: Attribute names OCCI itself defines (Core, Infrastructure, CRTP, Platform, SLA).
OCCI_ATTRIBUTE = re.compile(
    r"occi\.(core|compute|storage|storagelink|network|networkinterface|credentials|app|"
    r"component|database|agreement|sensor|collector)\.[a-z_.]+\Z"
)
_TEMPLATE = re.compile(r"\{[^{}]+\}")


@case(
    "occi.query.exists",
    "The query interface answers GET /-/ with 200",
    requirements=["GFD.223/query.exists"],
)
def query_exists(ctx: CaseContext) -> None:
    ctx.expect_status(ctx.occi.query(TEXT_PLAIN), 200)


@case(
    "occi.query.get",
    "GET /-/ returns a category collection rendering with 200",
    requirements=["GFD.223/query.GET.200", "GFD.223/query.GET.rendering"],
    renderings=OCCI_RENDERINGS,
)
def query_get(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(ctx.media)
    ctx.expect_status(exchange, 200)
    found, problems = ctx.occi.categories(exchange, ctx.media)
    ctx.check(found, f"no Category could be read from the answer: {problems[:3]}", exchange)


@case(
    "occi.query.content-type",
    "GET /-/ answers in the media type asked for",
    requirements=["GFD.223/headers.content-type-matches"],
    renderings=OCCI_RENDERINGS,
)
def query_content_type(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(ctx.media)
    ctx.check(
        exchange.response.media_type == ctx.media,
        f"asked for {ctx.media}, got Content-Type {exchange.response.shown('Content-Type')}",
        exchange,
    )


@case(
    "occi.query.well-known",
    "The RFC 5785 well-known query interface mirrors /-/",
    requirements=["GFD.223/query.well-known"],
)
def query_well_known(ctx: CaseContext) -> None:
    exchange = ctx.client.get("/.well-known/org/ogf/occi/-/", TEXT_PLAIN)
    if exchange.status == 404:
        ctx.skip("the optional well-known location is not served (404)")
    ctx.expect_status(exchange, 200)
    mirrored = {c.type_id for c in ctx.occi.categories(exchange, TEXT_PLAIN)[0]}
    expected = set(ctx.occi.model().categories)
    ctx.check(
        mirrored == expected,
        f"differs from /-/: missing {sorted(expected - mirrored)[:3]}, "
        f"extra {sorted(mirrored - expected)[:3]}",
        exchange,
        ctx.occi.query(TEXT_PLAIN),
    )


@case(
    "occi.core.kinds",
    "The Kinds of Entity, Resource and Link are advertised",
    requirements=[
        "GFD.221/model.types",
        "GFD.221/kind.per-type",
        "ETSI-TS-103-142/OCCI/CORE/DISCOVERY/001",
    ],
)
def core_kinds(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    missing = [t for t in (ENTITY, RESOURCE, LINK) if model.get(t) is None]
    ctx.check(not missing, f"missing Core Kinds: {missing}", ctx.occi.query(TEXT_PLAIN))
    wrong = [t for t in (ENTITY, RESOURCE, LINK) if model.categories[t].cls != "kind"]
    ctx.check(not wrong, f"not rendered with class kind: {wrong}", ctx.occi.query(TEXT_PLAIN))


@case(
    "occi.core.kind-parents",
    "Resource and Link have Entity as parent",
    requirements=["GFD.221/kind.parent"],
)
def kind_parents(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    for type_id in (RESOURCE, LINK):
        kind = ctx.occi.kind(type_id)
        ctx.check(
            kind.rel[:1] == [ENTITY],
            f"{type_id} has parent {kind.rel}, not {ENTITY}",
            ctx.occi.query(TEXT_PLAIN),
        )
    entity = model.get(ENTITY)
    ctx.check(
        entity is not None and not entity.rel,
        "the Entity Kind has a parent",
        ctx.occi.query(TEXT_PLAIN),
    )


@case(
    "occi.core.kind-root",
    "Every Kind descends from core#entity",
    requirements=["GFD.221/kind.root"],
)
def kind_root(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    for kind in model.kinds():
        if kind.type_id == ENTITY:
            continue
        chain = [c.type_id for c in model.ancestors(kind)]
        ctx.check(
            ENTITY in chain,
            f"{kind.type_id} does not descend from {ENTITY} ({chain})",
            ctx.occi.query(TEXT_PLAIN),
        )


@case(
    "occi.core.kind-attributes",
    "The Core Kinds expose the Core attributes",
    requirements=["GFD.221/kind.attributes", "GFD.221/attribute.discoverable"],
)
def kind_attributes(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    expected = {
        ENTITY: ("occi.core.id", "occi.core.title"),
        RESOURCE: ("occi.core.summary",),
        LINK: ("occi.core.source", "occi.core.target"),
    }
    for type_id, names in expected.items():
        defined = model.all_attributes(ctx.occi.kind(type_id))
        missing = [n for n in names if n not in defined]
        ctx.check(not missing, f"{type_id} does not define {missing}", ctx.occi.query(TEXT_PLAIN))


@case(
    "occi.core.identifiers",
    "No two Categories share a type identifier",
    requirements=["GFD.221/category.identifier"],
    renderings=OCCI_RENDERINGS,
)
def identifiers(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(ctx.media)
    found, _ = ctx.occi.categories(exchange, ctx.media)
    ids = [c.type_id for c in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    ctx.check(not duplicates, f"type identifiers advertised twice: {duplicates}", exchange)


@case(
    "occi.core.references",
    "Parents, depends and actions name advertised Categories",
    requirements=["GFD.221/category.concatenated-ids"],
)
def references(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    for category in model.categories.values():
        for ref in category.rel + category.actions:
            ctx.check(
                ref in model.categories,
                f"{category.type_id} refers to {ref!r}, which is not advertised",
                ctx.occi.query(TEXT_PLAIN),
            )
        for action in category.actions:
            ctx.check(
                model.categories[action].cls == "action",
                f"{category.type_id} lists {action} among its actions, not an Action",
                ctx.occi.query(TEXT_PLAIN),
            )


@case(
    "occi.core.reserved-scheme",
    "Providers define no Category under schemas.ogf.org/occi",
    requirements=["GFD.221/category.reserved-scheme"],
)
def reserved_scheme(ctx: CaseContext) -> None:
    for category in ctx.occi.model().categories.values():
        if not category.scheme.startswith(OCCI):
            continue
        ctx.check(
            OGF_SCHEMES.match(category.scheme),
            f"{category.type_id}: scheme is not one the OCCI documents define",
            ctx.occi.query(TEXT_PLAIN),
        )
        if category.scheme == CORE:
            ctx.check(
                category.term in CORE_TERMS,
                f"{category.type_id} is not a Core Kind",
                ctx.occi.query(TEXT_PLAIN),
            )


@case(
    "occi.core.reserved-attributes",
    "Provider Categories declare no new occi.* attributes",
    requirements=["GFD.221/attribute.reserved-prefix"],
)
def reserved_attributes(ctx: CaseContext) -> None:
    for category in ctx.occi.model().categories.values():
        if category.scheme.startswith(OCCI):
            continue
        bad = [
            n for n in category.attributes if n.startswith("occi.") and not OCCI_ATTRIBUTE.match(n)
        ]
        ctx.check(
            not bad,
            f"{category.type_id} declares reserved attribute names {bad}",
            ctx.occi.query(TEXT_PLAIN),
        )


@case(
    "occi.core.action-bound",
    "Every Action belongs to exactly one Kind or Mixin",
    requirements=["GFD.221/action.bound"],
)
def action_bound(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    owners: dict[str, list[str]] = {a.type_id: [] for a in model.actions()}
    for category in model.kinds() + model.mixins():
        for action in category.actions:
            owners.setdefault(action, []).append(category.type_id)
    for action, holders in owners.items():
        ctx.check(
            len(holders) == 1,
            f"{action} is bound to {holders or 'nothing'}",
            ctx.occi.query(TEXT_PLAIN),
        )


@case(
    "occi.core.category-classes",
    "Categories are Kinds, Mixins or Actions, nothing else",
    requirements=["GFD.221/kind.no-subtyping", "GFD.221/mixin.no-subtyping"],
)
def category_classes(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(TEXT_PLAIN)
    found, _ = ctx.occi.categories(exchange, TEXT_PLAIN)
    odd = sorted({c.cls for c in found} - {"kind", "mixin", "action"})
    ctx.check(not odd, f"Category classes outside kind/mixin/action: {odd}", exchange)


@case(
    "occi.core.discovery",
    "Kinds show their attributes and actions; Mixins are listed",
    requirements=["GFD.221/discovery.model"],
)
def discovery(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    for kind in model.kinds():
        ctx.check(
            model.all_attributes(kind),
            f"{kind.type_id} shows no attribute, even inherited",
            ctx.occi.query(TEXT_PLAIN),
        )
    compute = model.get(INFRA + "compute")
    if compute is not None:
        ctx.check(compute.actions, "the compute Kind lists no actions", ctx.occi.query(TEXT_PLAIN))


@case(
    "occi.http.locations",
    "Locations are URI references (or RFC 6570 templates)",
    requirements=["GFD.223/namespace.location-form"],
    renderings=OCCI_RENDERINGS,
)
def locations(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(ctx.media)
    for category in ctx.occi.categories(exchange, ctx.media)[0]:
        if category.location is None:
            continue
        text = _TEMPLATE.sub("x", category.location)
        ctx.check(
            text and not re.search(r"[\s<>\"]", text),
            f"{category.type_id} has location {category.location!r}",
            exchange,
        )


@case(
    "occi.http.unique-locations",
    "Kind and Mixin locations are unique",
    requirements=["GFD.223/namespace.unique-locations"],
)
def unique_locations(ctx: CaseContext) -> None:
    seen: dict[str, str] = {}
    for category in ctx.occi.model().categories.values():
        if category.location:
            url = ctx.client.url(category.location)
            ctx.check(
                url not in seen,
                f"{category.type_id} and {seen.get(url)} share the location {url}",
                ctx.occi.query(TEXT_PLAIN),
            )
            seen[url] = category.type_id


@case(
    "occi.http.entity-unbound",
    "The Entity Kind has no location",
    requirements=["GFD.223/namespace.entity-unbound"],
    renderings=OCCI_RENDERINGS,
)
def entity_unbound(ctx: CaseContext) -> None:
    exchange = ctx.occi.query(ctx.media)
    for category in ctx.occi.categories(exchange, ctx.media)[0]:
        if category.type_id == ENTITY:
            ctx.check(
                category.location is None,
                f"the Entity Kind is bound to {category.location!r}",
                exchange,
            )


@case(
    "occi.http.unbound-union",
    "An unbound path may list the collections below it",
    requirements=["GFD.223/namespace.unbound-union"],
)
def unbound_union(ctx: CaseContext) -> None:
    exchange = ctx.client.get("", URI_LIST)
    if exchange.status != 200:
        ctx.skip(f"the optional union listing is not served at the root ({exchange.summary()})")
    ctx.check(
        exchange.response.media_type == URI_LIST,
        f"the root answered {exchange.response.shown('Content-Type')} to text/uri-list",
        exchange,
    )
