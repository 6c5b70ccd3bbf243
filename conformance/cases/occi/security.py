"""Tenant isolation (GFD.223 §12): another identity sees nothing of the run's entities."""

from __future__ import annotations

from conformance.cases import case
from conformance.cases.context import CaseContext
from conformance.cases.occi.create import resource_kind
from conformance.formats import occi_build
from conformance.formats.occi_model import TEXT_PLAIN


@case(
    "occi.security.isolation",
    "Another identity can neither list, read nor change our entity",
    requirements=["GFD.223/security.authorization"],
    profile="full",
)
def isolation(ctx: CaseContext) -> None:
    other = ctx.session.other
    if other is None:
        ctx.skip("needs a second identity (--other-user/--other-password or --other-api-key)")
    kind = resource_kind(ctx)
    url = ctx.occi.fixture(kind.type_id)
    title = ctx.occi.attribute(url, "occi.core.title")
    urls, listing = ctx.occi.list_locations(ctx.occi.location(kind), other)
    ctx.check(url not in urls, f"the other identity lists {url}", listing)
    read = other.get(url, TEXT_PLAIN)
    ctx.check(read.status in (403, 404), f"the other identity reads it: {read.summary()}", read)
    payload = occi_build.partial(TEXT_PLAIN, {"occi.core.title": "taken-over"})
    change = other.request("POST", url, headers=payload.all_headers(TEXT_PLAIN), body=payload.body)
    ctx.check(change.status >= 400, f"the other identity updates it: {change.summary()}", change)
    now = ctx.occi.attribute(url, "occi.core.title")
    ctx.check(now == title, f"the title changed to {now!r} through the other identity", change)
