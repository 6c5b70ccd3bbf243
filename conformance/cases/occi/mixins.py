"""User-defined Mixins and Mixin collections (GFD.223 §9.3–9.4, §11.2–11.4; ETSI CREATE/006).

The cases share one tag of the run's own (created by POST /-/ and removed at
the end); membership changes only ever name the run's own entities.
"""

from __future__ import annotations

from conformance.cases import case
from conformance.cases.context import CaseContext
from conformance.cases.occi.actions import STATE, action, ensure
from conformance.cases.occi.create import resource_kind
from conformance.formats import occi_build
from conformance.formats.occi_model import COMPUTE, TEXT_PLAIN, Category


def tag(ctx: CaseContext) -> Category:
    """The run's shared tag Mixin (defined once)."""

    def define() -> Category:
        mixin, exchange = ctx.occi.user_mixin()
        ctx.check(exchange.status < 300, f"defining a user Mixin: {exchange.summary()}", exchange)
        return mixin

    return ctx.session.memo("a user-defined tag Mixin", define)


def members(ctx: CaseContext, mixin: Category) -> list[str]:
    """The entity URLs in a Mixin collection."""
    urls, exchange = ctx.occi.list_locations(ctx.client.url(mixin.location or ""))
    ctx.expect_status(exchange, 200, what="listing the Mixin collection")
    return urls


@case(
    "occi.mixin.define",
    "Defining a user Mixin with POST /-/ is 200",
    requirements=["GFD.223/query.POST.200"],
    profile="full",
)
def define(ctx: CaseContext) -> None:
    ctx.occi.require_full()
    _, exchange = ctx.occi.user_mixin()
    ctx.expect_status(exchange, 200)


@case(
    "occi.etsi.create-006",
    "A user Mixin is added and listed (ETSI CREATE/006)",
    requirements=["ETSI-TS-103-142/OCCI/CORE/CREATE/006", "GFD.221/extension.user-mixins"],
    profile="full",
)
def etsi_create_006(ctx: CaseContext) -> None:
    mixin = tag(ctx)
    exchange = ctx.client.get("-/", TEXT_PLAIN)
    listed = {c.type_id for c in ctx.occi.categories(exchange, TEXT_PLAIN)[0]}
    ctx.check(mixin.type_id in listed, f"{mixin.type_id} is not listed at /-/", exchange)


@case(
    "occi.mixin.associate",
    "POSTing locations to a Mixin collection tags them",
    requirements=["GFD.223/collection.POST.associate"],
    profile="full",
)
def associate(ctx: CaseContext) -> None:
    mixin = tag(ctx)
    entity = ctx.occi.fixture(resource_kind(ctx).type_id)
    payload = occi_build.locations(TEXT_PLAIN, [entity])
    exchange = ctx.client.request(
        "POST",
        ctx.client.url(mixin.location or ""),
        headers=payload.all_headers(TEXT_PLAIN),
        body=payload.body,
    )
    ctx.expect_status(exchange, 200)
    others = [
        n for n in ctx.occi.text_message(exchange, TEXT_PLAIN).order if n != "x-occi-location"
    ]
    ctx.check(not others, f"the answer is not an entity collection rendering ({others})", exchange)
    ctx.check(entity in members(ctx, mixin), f"{entity} is not in the Mixin collection")
    ctx.check(
        mixin.type_id in ctx.occi.read(entity).mixins,
        "the entity does not list the Mixin after the association",
    )


@case(
    "occi.mixin.replace",
    "PUT on a Mixin collection replaces its members",
    requirements=["GFD.223/collection.PUT.mixin"],
    profile="full",
)
def replace(ctx: CaseContext) -> None:
    mixin = tag(ctx)
    compute = ctx.occi.fixture(COMPUTE)
    payload = occi_build.locations(TEXT_PLAIN, [compute])
    exchange = ctx.client.request(
        "PUT",
        ctx.client.url(mixin.location or ""),
        headers=payload.all_headers(TEXT_PLAIN),
        body=payload.body,
    )
    ctx.expect_status(exchange, 200)
    now = members(ctx, mixin)
    ctx.check(now == [compute], f"after PUT [{compute}] the members are {now}", exchange)


@case(
    "occi.mixin.collection-action",
    "An action on a Mixin collection is 200",
    requirements=["GFD.223/collection.action.200"],
    profile="full",
)
def collection_action(ctx: CaseContext) -> None:
    mixin = tag(ctx)
    compute = ctx.occi.fixture(COMPUTE)
    if members(ctx, mixin) != [compute]:
        ctx.skip("the tag does not hold exactly the run's compute (see occi.mixin.replace)")
    ensure(ctx, compute, "active")
    url = ctx.client.url(mixin.location or "")
    exchange = ctx.occi.invoke(url, action(ctx, "stop"))
    ctx.expect_status(exchange, 200)
    ctx.occi.wait_for(compute, STATE, ("inactive",))


@case(
    "occi.mixin.disassociate",
    "DELETE with locations on a Mixin collection untags them",
    requirements=["GFD.223/collection.DELETE.disassociate"],
    profile="full",
)
def disassociate(ctx: CaseContext) -> None:
    mixin = tag(ctx)
    url = ctx.client.url(mixin.location or "")
    current = members(ctx, mixin)
    if not current:
        ctx.skip("the tag has no member to remove (see the cases before)")
    payload = occi_build.locations(TEXT_PLAIN, current[:1])
    exchange = ctx.client.request(
        "DELETE", url, headers=payload.all_headers(TEXT_PLAIN), body=payload.body
    )
    ctx.expect_status(exchange, 200)
    ctx.check(current[0] not in members(ctx, mixin), f"{current[0]} is still tagged", exchange)


@case(
    "occi.mixin.kind-refuses-association",
    "A Kind collection refuses bare locations",
    requirements=["GFD.223/collection.POST.associate-mixin-only"],
    profile="full",
)
def kind_refuses(ctx: CaseContext) -> None:
    kind = resource_kind(ctx)
    entity = ctx.occi.fixture(kind.type_id)
    payload = occi_build.locations(TEXT_PLAIN, [entity])
    exchange = ctx.client.request(
        "POST", ctx.occi.location(kind), headers=payload.all_headers(TEXT_PLAIN), body=payload.body
    )
    ctx.check(
        400 <= exchange.status < 500, f"{exchange.summary()}, expected a 4xx refusal", exchange
    )


@case(
    "occi.mixin.delete",
    "Removing a user Mixin with DELETE /-/ is 200 and unlists it",
    requirements=["GFD.223/query.DELETE.200"],
    profile="full",
)
def delete(ctx: CaseContext) -> None:
    mixin, created = ctx.occi.user_mixin()
    ctx.require(created.status < 300, f"could not define a user Mixin: {created.summary()}")
    payload = occi_build.mixin_definition(TEXT_PLAIN, mixin)
    exchange = ctx.client.request(
        "DELETE", "-/", headers=payload.all_headers(TEXT_PLAIN), body=payload.body
    )
    ctx.expect_status(exchange, 200)
    ctx.session.ledger.mark_removed(ctx.client.url(mixin.location or ""))
    listing = ctx.client.get("-/", TEXT_PLAIN)
    listed = {c.type_id for c in ctx.occi.categories(listing, TEXT_PLAIN)[0]}
    ctx.check(mixin.type_id not in listed, f"{mixin.type_id} is still listed", listing)
