"""Links and deletion (GFD.221 Link and Resource, GFD.223 §10.4, ETSI DELETE/001)."""

from __future__ import annotations

from conformance.cases import case
from conformance.cases.context import CaseContext
from conformance.cases.occi.create import resource_kind
from conformance.formats.occi_model import COMPUTE, STORAGE, STORAGELINK, TEXT_PLAIN
from conformance.wait import settled

GONE = (404, 410)


@case(
    "occi.link.source",
    "A Link's source is a Resource the server serves",
    requirements=["GFD.221/link.source-local"],
    profile="full",
)
def link_source(ctx: CaseContext) -> None:
    link, _, _ = ctx.occi.link_fixture(STORAGELINK)
    source = ctx.occi.read(link).attributes.get("occi.core.source")
    ctx.check(isinstance(source, str) and source, f"occi.core.source is {source!r}")
    exchange = ctx.occi.get(ctx.client.url(str(source)), TEXT_PLAIN)
    ctx.expect_status(exchange, 200, what="reading the link's source")
    kind = ctx.occi.entity(exchange, TEXT_PLAIN)[0].kind
    ctx.check(kind == COMPUTE, f"the source is a {kind}, not the compute", exchange)


@case(
    "occi.link.delete",
    "Deleting a Link removes it from its Resource",
    requirements=[
        "GFD.221/resource.link-removal",
        "GFD.223/entity.DELETE.status",
        "GFD.223/entity.DELETE.gone",
    ],
    profile="full",
)
def link_delete(ctx: CaseContext) -> None:
    ctx.occi.kind(STORAGELINK)
    compute = ctx.occi.fixture(COMPUTE)
    # A storage of its own: a server may let a storage be linked to one compute
    # only, and the shared storage is linked already (OcciFixtures.link_fixture).
    own = ctx.occi.create(STORAGE, what="link-delete-storage")
    ctx.require(
        own.exchange.status < 300 and own.location,
        f"could not create a storage: {own.exchange.summary()}",
    )
    storage = own.location or ""
    # An asynchronous server may refuse the link until the storage is ready.
    created = settled(
        ctx.session.waiter,
        lambda: ctx.occi.create_link(STORAGELINK, compute, storage),
        "the server to accept a storagelink",
    )
    ctx.require(
        created.exchange.status < 300 and created.location,
        f"could not create a storagelink: {created.exchange.summary()}",
    )
    link = created.location or ""
    # Likewise until the link is made (an asynchronous server attaches in a job).
    exchange = ctx.occi.settled(
        lambda: ctx.client.request("DELETE", link), f"{link} to accept DELETE"
    )
    ctx.expect_status(exchange, 200, 204)
    ctx.expect_status(ctx.client.get(link, TEXT_PLAIN), *GONE, what="the deleted link")
    ctx.session.ledger.mark_removed(link)
    read = ctx.occi.get(compute, TEXT_PLAIN)
    left = [
        lk
        for lk in ctx.occi.entity(read, TEXT_PLAIN)[0].links
        if lk.self_location and ctx.client.url(lk.self_location) == link
    ]
    ctx.check(not left, "the compute still renders the deleted link", read)


@case(
    "occi.entity.delete",
    "DELETE removes a Resource (ETSI DELETE/001)",
    requirements=[
        "GFD.223/entity.DELETE.status",
        "GFD.223/entity.DELETE.gone",
        "ETSI-TS-103-142/OCCI/CORE/DELETE/001",
    ],
    profile="full",
)
def entity_delete(ctx: CaseContext) -> None:
    kind = resource_kind(ctx)
    created = ctx.occi.create(kind.type_id, what="to-delete")
    ctx.require(
        created.exchange.status < 300 and created.location,
        f"could not create a {kind.term}: {created.exchange.summary()}",
    )
    url = created.location or ""
    exchange = ctx.occi.settled(
        lambda: ctx.client.request("DELETE", url), f"{url} to accept DELETE"
    )
    ctx.expect_status(exchange, 200, 204)
    ctx.session.waiter.until(
        lambda: True if ctx.client.get(url, TEXT_PLAIN).status in GONE else None,
        f"{url} to disappear",
    )
    ctx.session.ledger.mark_removed(url)
    urls, listing = ctx.occi.list_locations(ctx.occi.location(kind))
    ctx.check(url not in urls, f"{url} is still listed in {kind.term}", listing)
