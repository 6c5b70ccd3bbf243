"""The JSON rendering (GFD.226), validated against schemas/occi as well."""

from __future__ import annotations

from typing import Any

from conformance.cases import case
from conformance.cases.context import CaseContext
from conformance.cases.occi.read import any_entity
from conformance.client import Exchange
from conformance.formats import occi_json
from conformance.formats.occi_model import ENTITY, NETWORK, OCCI_JSON, STORAGE, STORAGELINK
from conformance.schemas import SchemaUnavailable


def json_of(ctx: CaseContext, exchange: Exchange) -> Any:
    """The JSON body, or a failure saying why there is none."""
    ctx.expect_status(exchange, 200)
    try:
        return exchange.response.json()
    except ValueError as exc:
        ctx.fail(f"the body is not JSON: {exc}", exchange)


def need_json(ctx: CaseContext) -> None:
    """Skip unless the server offers application/occi+json."""
    if not ctx.occi.offered(OCCI_JSON):
        ctx.skip(
            "the server does not offer application/occi+json "
            f"({ctx.occi.query(OCCI_JSON).summary()})"
        )


def validate(ctx: CaseContext, schema: str, doc: Any, exchange: Exchange) -> None:
    """Fail with the schema errors of ``doc`` (skip when the schema is unusable)."""
    try:
        errors = ctx.session.schemas.occi_errors(schema, doc)
    except SchemaUnavailable as exc:
        ctx.skip(str(exc))
    ctx.check(not errors, f"invalid against schemas/occi/{schema}.json: {errors[:3]}", exchange)


@case(
    "occi.json.category-collection",
    "/-/ in JSON is kinds, mixins and actions arrays",
    requirements=["GFD.226/category-collection", "GFD.226/category.object", "GFD.226/schema"],
)
def category_collection(ctx: CaseContext) -> None:
    need_json(ctx)
    exchange = ctx.occi.query(OCCI_JSON)
    doc = json_of(ctx, exchange)
    _, problems = occi_json.categories(doc)
    ctx.check(not problems, f"not a category collection: {problems[:3]}", exchange)
    validate(ctx, "category-collection", doc, exchange)


@case(
    "occi.json.kind-location",
    "Every Kind but Entity's has a location in JSON",
    requirements=["GFD.226/kind.location"],
)
def kind_location(ctx: CaseContext) -> None:
    need_json(ctx)
    exchange = ctx.occi.query(OCCI_JSON)
    for kind in occi_json.categories(json_of(ctx, exchange))[0]:
        if kind.cls == "kind" and kind.type_id != ENTITY:
            ctx.check(kind.location, f"the Kind {kind.type_id} has no location", exchange)


@case(
    "occi.json.mixin-location",
    "Every Mixin has a location in JSON",
    requirements=["GFD.226/mixin.location"],
)
def mixin_location(ctx: CaseContext) -> None:
    need_json(ctx)
    exchange = ctx.occi.query(OCCI_JSON)
    for mixin in occi_json.categories(json_of(ctx, exchange))[0]:
        if mixin.cls == "mixin":
            ctx.check(mixin.location, f"the Mixin {mixin.type_id} has no location", exchange)


@case(
    "occi.json.action-members",
    "Actions have term, scheme, title and attributes only",
    requirements=["GFD.226/action.members"],
)
def action_members(ctx: CaseContext) -> None:
    need_json(ctx)
    exchange = ctx.occi.query(OCCI_JSON)
    doc = json_of(ctx, exchange)
    for action in doc.get("actions", []) if isinstance(doc, dict) else []:
        extra = sorted(set(action) - {"term", "scheme", "title", "attributes"})
        ctx.check(not extra, f"the Action {action.get('term')} has members {extra}", exchange)


@case(
    "occi.json.attribute-descriptions",
    "Attribute descriptions have valid types and defaults",
    requirements=["GFD.226/attribute-description.type"],
)
def attribute_descriptions(ctx: CaseContext) -> None:
    need_json(ctx)
    exchange = ctx.occi.query(OCCI_JSON)
    for category in occi_json.categories(json_of(ctx, exchange))[0]:
        for name, definition in category.attributes.items():
            where = f"{category.type_id} {name}"
            if definition.type is not None:
                ctx.check(
                    definition.type in occi_json.JSON_TYPES,
                    f"{where}: type {definition.type!r}",
                    exchange,
                )
            if definition.has_default and definition.default is not None:
                ctx.check(
                    occi_json.matches_type(definition.default, definition.type or "string"),
                    f"{where}: default {definition.default!r} is not a {definition.type}",
                    exchange,
                )


@case(
    "occi.json.entity",
    "An entity in JSON is a valid Resource or Link object",
    requirements=[
        "GFD.226/entity.object",
        "GFD.226/resource.members",
        "GFD.226/attributes.flat",
        "GFD.226/schema",
    ],
)
def entity(ctx: CaseContext) -> None:
    need_json(ctx)
    exchange = ctx.occi.get(any_entity(ctx), OCCI_JSON)
    doc = json_of(ctx, exchange)
    ctx.check(isinstance(doc, dict), "the entity is not a JSON object", exchange)
    ctx.check(
        isinstance(doc.get("kind"), str) and isinstance(doc.get("id"), str),
        "kind and id must be strings",
        exchange,
    )
    attributes = doc.get("attributes", {})
    nested = [k for k, v in attributes.items() if isinstance(v, dict) and "." not in k]
    ctx.check(not nested, f"attributes nested by name parts: {nested}", exchange)
    validate(ctx, "entity", doc, exchange)


@case(
    "occi.json.collection",
    "A collection in JSON is {resources: [...]} or {links: [...]}",
    requirements=["GFD.226/entity-collection", "GFD.226/schema"],
)
def collection(ctx: CaseContext) -> None:
    need_json(ctx)
    kinds = [k for k in ctx.occi.model().kinds() if k.location and k.type_id != ENTITY]
    for kind in kinds:
        exchange = ctx.client.get(ctx.occi.location(kind), OCCI_JSON)
        doc = json_of(ctx, exchange)
        _, problems = occi_json.collection(doc)
        ctx.check(not problems, f"{kind.term}: {problems}", exchange)
        validate(ctx, "entity-collection", doc, exchange)


@case(
    "occi.json.link",
    "A Link in JSON has source and target objects with locations",
    requirements=["GFD.226/link.members", "GFD.226/schema"],
    profile="full",
)
def link(ctx: CaseContext) -> None:
    need_json(ctx)
    location, _, _ = ctx.occi.link_fixture(STORAGELINK)
    exchange = ctx.occi.get(location, OCCI_JSON)
    doc = json_of(ctx, exchange)
    for end in ("source", "target"):
        value = doc.get(end) if isinstance(doc, dict) else None
        ctx.check(
            isinstance(value, dict) and isinstance(value.get("location"), str),
            f"{end} is not an object with a location: {value!r}",
            exchange,
        )
    validate(ctx, "link", doc, exchange)


@case(
    "occi.json.defaults",
    "Attribute defaults are used when a new entity omits them",
    requirements=["GFD.226/attribute-description.default"],
    profile="full",
)
def defaults(ctx: CaseContext) -> None:
    need_json(ctx)
    model = ctx.occi.model()
    checked = 0
    for type_id in (NETWORK, STORAGE):
        kind = model.get(type_id)
        if kind is None:
            continue
        entity_url = ctx.occi.fixture(type_id)
        exchange = ctx.occi.get(entity_url, OCCI_JSON)
        values = occi_json.entity(json_of(ctx, exchange)).attributes
        for name, definition in model.all_attributes(kind).items():
            if name.startswith("occi.core."):
                continue  # set by the harness
            if definition.has_default and definition.mutable and not definition.required:
                checked += 1
                ctx.check(
                    values.get(name) == definition.default,
                    f"{name} is {values.get(name)!r}, not the default {definition.default!r}",
                    exchange,
                )
    if not checked:
        ctx.skip("no mutable attribute with a default to check on network or storage")
