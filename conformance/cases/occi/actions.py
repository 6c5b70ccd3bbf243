"""Actions and the compute state model (GFD.223 §10.3.2, GFD.224 Compute, ETSI MISC/001).

The cases drive the run's own compute through its states; each first brings it
to the state it needs, waiting for servers that change state asynchronously.
"""

from __future__ import annotations

from conformance.cases import OCCI_TEXT, case
from conformance.cases.context import CaseContext
from conformance.client import Exchange
from conformance.formats.occi_model import COMPUTE, INFRA, OCCI_JSON, TEXT_PLAIN, Category

STATE = "occi.compute.state"
ACTION_SCHEME = INFRA[:-1] + "/compute/action#"
#: Which action moves a compute from a state towards another.
ROUTE = {
    ("inactive", "active"): "start",
    ("suspended", "active"): "start",
    ("active", "inactive"): "stop",
    ("active", "suspended"): "suspend",
    ("suspended", "inactive"): "start",
}


def action(ctx: CaseContext, name: str) -> Category:
    """The compute Action ``name`` as advertised."""
    found = ctx.occi.model().get(ACTION_SCHEME + name)
    if found is None:
        ctx.skip(f"the server does not advertise the compute action {name}")
    return found


def compute(ctx: CaseContext) -> str:
    """The run's own compute."""
    ctx.occi.require_full()
    ctx.occi.kind(COMPUTE)
    return ctx.occi.fixture(COMPUTE)


def ensure(ctx: CaseContext, url: str, wanted: str) -> None:
    """Bring the compute at ``url`` to state ``wanted`` (at most two actions)."""
    for _ in range(2):
        state = ctx.occi.attribute(url, STATE)
        if state == wanted:
            return
        name = ROUTE.get((str(state), wanted))
        if name is None:
            ctx.skip(f"cannot bring the compute from {state!r} to {wanted}")
        exchange = _invoke_settled(ctx, url, name)
        if exchange.status >= 300:
            ctx.skip(f"could not {name} the compute to prepare: {exchange.summary()}")
        target = "inactive" if name == "stop" else "suspended" if name == "suspend" else "active"
        ctx.occi.wait_for(url, STATE, (target,))
    ctx.check(ctx.occi.attribute(url, STATE) == wanted, f"the compute did not become {wanted}")


def _invoke_settled(ctx: CaseContext, url: str, name: str, rendering: str = TEXT_PLAIN) -> Exchange:
    # The compute's state may already read as wanted while the server still
    # carries out the previous action (restart leaves it active throughout):
    # an asynchronous server answers 409 until it is done, so ask again.
    invocation = action(ctx, name)
    return ctx.occi.settled(
        lambda: ctx.occi.invoke(url, invocation, rendering),
        f"the server to accept {name} on {url}",
    )


def toggle(ctx: CaseContext, rendering: str) -> Exchange:
    """Invoke stop on an active compute, else start; check 200 and the new state."""
    url = compute(ctx)
    state = ctx.occi.attribute(url, STATE)
    name, target = ("stop", "inactive") if state == "active" else ("start", "active")
    exchange = _invoke_settled(ctx, url, name, rendering)
    ctx.expect_status(exchange, 200, what=f"{name} in {rendering}")
    ctx.occi.wait_for(url, STATE, (target,))
    return exchange


@case(
    "occi.action.text",
    "An action invoked with a text rendering is 200 and takes effect",
    requirements=[
        "GFD.223/entity.action.200",
        "GFD.223/entity.action.query",
        "GFD.229/rendering.action-invocation",
        "ETSI-TS-103-142/OCCI/CORE/MISC/001",
    ],
    renderings=OCCI_TEXT,
    profile="full",
)
def action_text(ctx: CaseContext) -> None:
    toggle(ctx, ctx.media)


@case(
    "occi.action.json",
    "An action invoked in JSON is 200 and takes effect",
    requirements=["GFD.226/action-invocation", "GFD.223/entity.action.200"],
    renderings=(OCCI_JSON,),
    profile="full",
)
def action_json(ctx: CaseContext) -> None:
    toggle(ctx, OCCI_JSON)


def _transition(ctx: CaseContext, start: str, name: str, end: str) -> None:
    url = compute(ctx)
    ensure(ctx, url, start)
    exchange = _invoke_settled(ctx, url, name)
    ctx.check(exchange.status < 300, f"{name}: {exchange.summary()}", exchange)
    ctx.occi.wait_for(url, STATE, (end,))


@case(
    "occi.infra.compute-stop",
    "stop brings an active compute to inactive",
    requirements=["GFD.224/compute.stop"],
    profile="full",
)
def compute_stop(ctx: CaseContext) -> None:
    _transition(ctx, "active", "stop", "inactive")


@case(
    "occi.infra.compute-start",
    "start brings an inactive compute to active",
    requirements=["GFD.224/compute.start"],
    profile="full",
)
def compute_start(ctx: CaseContext) -> None:
    _transition(ctx, "inactive", "start", "active")


@case(
    "occi.infra.compute-restart",
    "restart leaves an active compute active",
    requirements=["GFD.224/compute.restart"],
    profile="full",
)
def compute_restart(ctx: CaseContext) -> None:
    _transition(ctx, "active", "restart", "active")


@case(
    "occi.infra.compute-suspend",
    "suspend brings an active compute to suspended, start back",
    requirements=["GFD.224/compute.suspend", "GFD.224/compute.start"],
    profile="full",
)
def compute_suspend(ctx: CaseContext) -> None:
    _transition(ctx, "active", "suspend", "suspended")
    _transition(ctx, "suspended", "start", "active")
