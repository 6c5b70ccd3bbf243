"""What clients and third-party test sequences rely on beyond the letter of the specs.

Immutable attributes refused rather than dropped, actions on collections with
members already where the action leads, links to a suspended compute, errors
in OCCI's words and header names as GFD.223 spells them (SHOULD and MAY
requirements: GFD.221/223/224 leave these open, and each is argued in its
requirement's note).
"""

from __future__ import annotations

from conformance.cases import case
from conformance.cases.context import CaseContext
from conformance.cases.occi.actions import STATE, action, compute, ensure
from conformance.formats import occi_build
from conformance.formats.occi_model import COMPUTE, STORAGE, STORAGELINK, TEXT_OCCI, TEXT_PLAIN
from conformance.wait import settled

#: OCCI's compute states (GFD.224 Fig. 2).
OCCI_STATES = ("active", "inactive", "suspended", "error")
#: Words for a compute's state that are not OCCI's: a hypervisor's or CIMI's.
FOREIGN_STATES = ("running", "shutoff", "paused", "STARTED", "STOPPED", "stopped")


@case(
    "occi.update.immutable-refused",
    "Changing an immutable attribute is a client error; sending it back unchanged is not",
    requirements=["GFD.221/attribute.immutable-refused"],
    profile="full",
)
def immutable_refused(ctx: CaseContext) -> None:
    url = compute(ctx)
    ensure(ctx, url, "active")
    before = ctx.occi.read(url)
    title = before.attributes.get("occi.core.title")
    payload = occi_build.partial(
        TEXT_PLAIN, {"occi.compute.state": "suspended", "occi.core.title": "changed-by-harness"}
    )
    exchange = ctx.client.request(
        "POST", url, headers=payload.all_headers(TEXT_PLAIN), body=payload.body
    )
    after = ctx.occi.read(url)
    ctx.check(
        400 <= exchange.status < 500,
        f"a change of occi.compute.state was answered {exchange.summary()}, not a 4xx",
        exchange,
    )
    ctx.check(
        after.attributes.get("occi.core.title") == title
        and after.attributes.get(STATE) == "active",
        "the refused update changed the compute",
        exchange,
    )
    same = occi_build.partial(TEXT_PLAIN, {STATE: "active"})
    echoed = ctx.client.request("POST", url, headers=same.all_headers(TEXT_PLAIN), body=same.body)
    ctx.expect_status(echoed, 200, 201, what="the current state sent back")


@case(
    "occi.action.collection-members",
    "start on the compute collection with an active member is 200",
    requirements=["GFD.223/action.collection-members"],
    profile="full",
)
def collection_members(ctx: CaseContext) -> None:
    url = compute(ctx)
    ensure(ctx, url, "active")
    collection = ctx.occi.location(ctx.occi.kind(COMPUTE))
    start = action(ctx, "start")
    exchange = ctx.occi.settled(
        lambda: ctx.occi.invoke(collection, start), "the server to accept start on the collection"
    )
    ctx.expect_status(exchange, 200, 202, 204, what="start on a collection with an active member")
    ctx.check(ctx.occi.attribute(url, STATE) == "active", "the active member left its state")


@case(
    "occi.link.suspended-compute",
    "A suspended compute takes a storagelink",
    requirements=["GFD.224/compute.suspended-links"],
    profile="full",
)
def suspended_links(ctx: CaseContext) -> None:
    ctx.occi.kind(STORAGELINK)
    url = compute(ctx)
    own = ctx.occi.create(STORAGE, what="suspended-link-storage")
    ctx.require(
        own.exchange.status < 300 and own.location,
        f"could not create a storage: {own.exchange.summary()}",
    )
    ensure(ctx, url, "active")
    suspend = ctx.occi.settled(
        lambda: ctx.occi.invoke(url, action(ctx, "suspend")), "the server to accept suspend"
    )
    ctx.require(suspend.status < 300, f"could not suspend the compute: {suspend.summary()}")
    ctx.occi.wait_for(url, STATE, ("suspended",))
    created = settled(
        ctx.session.waiter,
        lambda: ctx.occi.create_link(STORAGELINK, url, own.location or ""),
        "the server to accept a storagelink",
    )
    ctx.check(
        created.exchange.status < 300 and created.location,
        f"a storagelink to a suspended compute: {created.exchange.summary()}",
        created.exchange,
    )
    ensure(ctx, url, "active")


@case(
    "occi.errors.vocabulary",
    "A refused action's message names the compute's OCCI state",
    requirements=["GFD.223/errors.vocabulary"],
    profile="full",
)
def error_vocabulary(ctx: CaseContext) -> None:
    url = compute(ctx)
    ensure(ctx, url, "active")
    exchange = ctx.occi.invoke(url, action(ctx, "start"))
    if exchange.status < 300:
        ctx.skip("the server accepts start on an active compute: nothing is refused")
    text = exchange.response.body.decode("utf-8", "replace")
    ctx.check(
        any(state in text for state in OCCI_STATES),
        f"the refusal names no OCCI state: {text[:200]!r}",
        exchange,
    )
    foreign = [w for w in FOREIGN_STATES if w in text.split() or f" {w}" in text]
    ctx.check(not foreign, f"the refusal speaks another vocabulary: {foreign}", exchange)


@case(
    "occi.headers.spelling",
    "X-OCCI-Location and X-OCCI-Attribute are spelled as GFD.223 spells them",
    requirements=["GFD.223/headers.spelling"],
    profile="full",
)
def header_spelling(ctx: CaseContext) -> None:
    url = compute(ctx)
    listing = ctx.client.get(ctx.occi.location(ctx.occi.kind(COMPUTE)), TEXT_OCCI)
    entity = ctx.client.get(url, TEXT_OCCI)
    ctx.require(
        listing.status == 200 and entity.status == 200, "the server does not serve text/occi"
    )
    names = {name for name, _ in listing.response.headers + entity.response.headers}
    for wanted in ("X-OCCI-Location", "X-OCCI-Attribute"):
        spelled = sorted(n for n in names if n.lower() == wanted.lower())
        ctx.check(
            spelled == [wanted] or not spelled,
            f"{wanted} is sent as {', '.join(spelled)}",
            listing,
            entity,
        )
    ctx.check("X-OCCI-Attribute" in names, "the entity has no X-OCCI-Attribute header", entity)
