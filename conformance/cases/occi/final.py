"""Checks over every OCCI exchange of the run (they run last)."""

from __future__ import annotations

from conformance.cases import case
from conformance.cases.context import CaseContext
from conformance.cases.occi.protocol import VERSION


@case(
    "occi.final.server-header",
    "Every OCCI response of the run carried OCCI/1.2 in Server",
    requirements=["GFD.223/versioning.server-header"],
    phase="final",
)
def server_header(ctx: CaseContext) -> None:
    exchanges = ctx.session.recorder.of("occi")
    if not exchanges:
        ctx.skip("no OCCI exchange was made")
    for exchange in exchanges:
        server = exchange.response.header("Server") or ""
        ctx.check(VERSION.search(server), f"{exchange.summary()} had Server {server!r}", exchange)


@case(
    "occi.final.content-type",
    "Every OCCI response with a body had a Content-Type",
    requirements=["GFD.223/headers.content-type"],
    phase="final",
)
def content_type(ctx: CaseContext) -> None:
    exchanges = [e for e in ctx.session.recorder.of("occi") if e.response.body]
    if not exchanges:
        ctx.skip("no OCCI response had a body")
    for exchange in exchanges:
        ctx.check(
            exchange.response.media_type,
            f"{exchange.summary()} had a body and no Content-Type",
            exchange,
        )
