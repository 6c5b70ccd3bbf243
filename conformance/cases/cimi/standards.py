"""What CIMI clients rely on beyond the letter of DSP0263 (SHOULD requirements).

A read-only attribute changed by edit is refused rather than dropped, a
refused operation speaks CIMI's states, and ``CIMI-Job-URI`` is spelled as
DSP0263 spells it (each argued in its requirement's note).
"""

from __future__ import annotations

import json

from conformance.cases import case
from conformance.cases.cimi.machines import ensure
from conformance.cases.context import CaseContext
from conformance.formats import cimi
from conformance.formats.cimi import JSON

#: Machine states of DSP0263 5.14.1 a message may name.
CIMI_STATES = ("STARTED", "STOPPED", "PAUSED", "SUSPENDED", "STARTING", "STOPPING", "ERROR")
#: Words for a Machine's state that are not CIMI's: a hypervisor's or OCCI's.
FOREIGN_STATES = ("running", "shutoff", "inactive", "active")


@case(
    "cimi.machine.read-only-refused",
    "An edit changing a Machine's state is a client error and changes nothing",
    requirements=["DSP0263/edit.read-only-refused"],
    profile="full",
)
def read_only_refused(ctx: CaseContext) -> None:
    url = ctx.cimi.fixture("machine")
    ensure(ctx, url, "STARTED")
    exchange, machine = ctx.cimi.read(url)
    href = machine.operation("edit")
    if href is None:
        ctx.skip("the Machine advertises no edit operation")
    data = json.loads(exchange.response.body.decode("utf-8"))
    data["state"] = "STOPPED"
    put = ctx.client.request(
        "PUT",
        ctx.cimi.resolve(href),
        headers=[("Content-Type", JSON)],
        body=json.dumps(data).encode("utf-8"),
    )
    ctx.check(
        400 <= put.status < 500,
        f"an edit of state was answered {put.summary()}, not a 4xx",
        put,
    )
    ctx.check(ctx.cimi.state(url) == "STARTED", "the refused edit changed the Machine", put)


@case(
    "cimi.errors.vocabulary",
    "A refused operation's message names the Machine's CIMI state",
    requirements=["DSP0263/errors.vocabulary"],
    profile="full",
)
def error_vocabulary(ctx: CaseContext) -> None:
    url = ctx.cimi.fixture("machine")
    ensure(ctx, url, "STARTED")
    # start is not advertised on a STARTED Machine (DSP0263 4.2.1.5): it is sent
    # where the Machine's advertised stop goes.
    _, machine = ctx.cimi.read(url)
    href = machine.operation(ctx.cimi.action("stop"))
    if href is None:
        ctx.skip("the STARTED Machine advertises no stop, so no action href to send start to")
    body = cimi.body(JSON, ctx.cimi.namespace, "Action", {"action": ctx.cimi.action("start")})
    exchange = ctx.client.request(
        "POST", ctx.cimi.resolve(href), headers=[("Content-Type", JSON)], body=body
    )
    if exchange.status < 300:
        ctx.cimi.settle(exchange)
        ctx.skip("the server accepts start on a STARTED Machine: nothing is refused")
    text = exchange.response.body.decode("utf-8", "replace")
    ctx.check(
        any(state in text for state in CIMI_STATES),
        f"the refusal names no CIMI state: {text[:200]!r}",
        exchange,
    )
    words = set(text.replace(";", " ").replace(":", " ").replace(",", " ").split())
    foreign = [w for w in FOREIGN_STATES if w in words]
    ctx.check(not foreign, f"the refusal speaks another vocabulary: {foreign}", exchange)


@case(
    "cimi.headers.job-uri-spelling",
    "CIMI-Job-URI is spelled as DSP0263 spells it",
    requirements=["DSP0263/headers.job-uri-spelling"],
    profile="full",
)
def job_uri_spelling(ctx: CaseContext) -> None:
    url = ctx.cimi.fixture("machine")
    ensure(ctx, url, "STARTED")
    exchange = ctx.cimi.invoke(url, "stop")
    ctx.require(exchange.status < 300, f"could not stop the Machine: {exchange.summary()}")
    ctx.cimi.settle(exchange)
    ensure(ctx, url, "STARTED")
    spelled = [n for n, _ in exchange.response.headers if n.lower() == "cimi-job-uri"]
    if not spelled:
        ctx.skip("the server answered stop without a CIMI-Job-URI header")
    ctx.check(spelled == ["CIMI-Job-URI"], f"the job header is sent as {spelled}", exchange)
