"""Machines and their configurations, images and volumes (DSP0263 5.14; CRUD 4.2.1)."""

from __future__ import annotations

from conformance.cases import CIMI_RENDERINGS, case
from conformance.cases.cimi.protocol import INTEGER
from conformance.cases.cimi.support import KINDS
from conformance.cases.context import CaseContext
from conformance.formats import cimi
from conformance.formats.cimi import JSON
from conformance.ledger import Owned

MACHINE_STATES = (
    "CREATING",
    "STARTING",
    "STARTED",
    "STOPPING",
    "STOPPED",
    "PAUSING",
    "PAUSED",
    "SUSPENDING",
    "SUSPENDED",
    "CAPTURING",
    "RESTORING",
    "DELETING",
    "ERROR",
)
IMAGE_STATES = ("CREATING", "AVAILABLE", "DELETING", "ERROR")
IMAGE_TYPES = ("IMAGE", "SNAPSHOT", "PARTIAL_SNAPSHOT")
GONE = (404, 410)


def is_integer(value: object, rendering: str) -> bool:
    """An integer in JSON, or integer text in XML."""
    if rendering == JSON:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str) and bool(INTEGER.match(value))


@case(
    "cimi.machine.attributes",
    "A Machine has a state, integer cpu/memory and references",
    requirements=["DSP0263/machine.attributes"],
    renderings=CIMI_RENDERINGS,
)
def attributes(ctx: CaseContext) -> None:
    exchange, machine = ctx.cimi.read(ctx.cimi.sample("machine"), ctx.media)
    ctx.check(machine.get("state"), "the Machine has no state", exchange)
    for name in ("cpu", "memory"):
        if machine.get(name) is not None:
            ctx.check(
                is_integer(machine.get(name), ctx.media),
                f"{name} is {machine.get(name)!r}",
                exchange,
            )
    for name in ("disks", "volumes", "networkInterfaces"):
        if machine.get(name) is not None:
            ctx.check(machine.href(name), f"{name} is not a reference", exchange)


@case(
    "cimi.machine.state",
    "Machine.state takes a value of the spec",
    requirements=["DSP0263/machine.state"],
)
def state(ctx: CaseContext) -> None:
    exchange, machine = ctx.cimi.read(ctx.cimi.sample("machine"))
    ctx.check(
        machine.get("state") in MACHINE_STATES, f"state is {machine.get('state')!r}", exchange
    )


@case(
    "cimi.machineconfig.attributes",
    "MachineConfigurations have integer cpu and memory",
    requirements=["DSP0263/machineconfig.attributes"],
    renderings=CIMI_RENDERINGS,
)
def config_attributes(ctx: CaseContext) -> None:
    exchange, document = ctx.cimi.collection("machineConfigs", ctx.media)
    if not document.entries:
        ctx.skip("the provider lists no MachineConfiguration")
    for entry in document.entries:
        for name in ("cpu", "memory"):
            ctx.check(
                is_integer(entry.get(name), ctx.media),
                f"{entry.get('id')}: {name} is {entry.get(name)!r}",
                exchange,
            )


@case(
    "cimi.machineimage.attributes",
    "MachineImages have a state and a type of the spec",
    requirements=["DSP0263/machineimage.attributes"],
    renderings=CIMI_RENDERINGS,
)
def image_attributes(ctx: CaseContext) -> None:
    exchange, document = ctx.cimi.collection("machineImages", ctx.media)
    if not document.entries:
        ctx.skip("the provider lists no MachineImage")
    for entry in document.entries:
        ctx.check(
            entry.get("state") in IMAGE_STATES and entry.get("type") in IMAGE_TYPES,
            f"{entry.get('id')}: state {entry.get('state')!r}, type {entry.get('type')!r}",
            exchange,
        )


def check_created(ctx: CaseContext, kind: str) -> str:
    """Create a resource of ``kind`` in the case's rendering; check the answer; return it."""
    created = ctx.cimi.create(kind, ctx.media)
    exchange = created.exchange
    ctx.expect_status(exchange, 201, 202)
    ctx.check(
        exchange.response.header("Location") or created.job,
        f"{exchange.status} without a Location header or a Job",
        exchange,
    )
    ctx.check(created.location, "the new resource cannot be found", exchange)
    url = created.location or ""
    if created.job:
        ctx.cimi.wait_job(created.job)
    read, document = ctx.cimi.read(url)
    ctx.check(
        (document.resource_uri or "").endswith("/" + KINDS[kind].type),
        f"the new resource is a {document.resource_uri}",
        read,
    )
    return url


@case(
    "cimi.machine.create",
    "A MachineCreate creates a Machine (201/202 + Location)",
    requirements=["DSP0263/machine.create", "DSP0263/crud.create"],
    renderings=CIMI_RENDERINGS,
    profile="full",
)
def create(ctx: CaseContext) -> None:
    check_created(ctx, "machine")


@case(
    "cimi.machine.stable",
    "A new Machine settles in a stable state",
    requirements=["DSP0263/machine.stable-state"],
    profile="full",
)
def stable(ctx: CaseContext) -> None:
    ctx.cimi.fixture("machine", failing=True)


def ensure(ctx: CaseContext, url: str, wanted: str) -> None:
    """Bring the machine to STARTED or STOPPED."""
    current = ctx.cimi.state(url)
    if current == wanted:
        return
    exchange = ctx.cimi.invoke(url, "start" if wanted == "STARTED" else "stop")
    if exchange.status >= 300:
        ctx.skip(f"could not prepare the machine: {exchange.summary()}")
    ctx.cimi.settle(exchange)
    ctx.cimi.wait_state(url, (wanted,))


def _transition(ctx: CaseContext, start: str, name: str, end: str) -> None:
    url = ctx.cimi.fixture("machine")
    ensure(ctx, url, start)
    exchange = ctx.cimi.invoke(url, name)
    ctx.expect_status(exchange, 200, 202, 204, what=name)
    ctx.cimi.settle(exchange)
    ctx.cimi.wait_state(url, (end,))


@case(
    "cimi.machine.stop",
    "stop brings a STARTED Machine to STOPPED",
    requirements=["DSP0263/machine.stop", "DSP0263/operations.action"],
    profile="full",
)
def stop(ctx: CaseContext) -> None:
    _transition(ctx, "STARTED", "stop", "STOPPED")


@case(
    "cimi.machine.start",
    "start brings a STOPPED Machine to STARTED",
    requirements=["DSP0263/machine.start", "DSP0263/operations.action"],
    profile="full",
)
def start(ctx: CaseContext) -> None:
    _transition(ctx, "STOPPED", "start", "STARTED")


@case(
    "cimi.machine.restart",
    "restart leaves a STARTED Machine STARTED",
    requirements=["DSP0263/machine.restart"],
    profile="full",
)
def restart(ctx: CaseContext) -> None:
    _transition(ctx, "STARTED", "restart", "STARTED")


@case(
    "cimi.machine.operations",
    "Machines advertise the actions of their state",
    requirements=["DSP0263/machine.operations", "DSP0263/operations.current"],
    profile="full",
)
def operations(ctx: CaseContext) -> None:
    url = ctx.cimi.fixture("machine")
    for wanted, offered, absent in (("STARTED", "stop", "start"), ("STOPPED", "start", "stop")):
        ensure(ctx, url, wanted)
        exchange, machine = ctx.cimi.read(url)
        rels = [rel for rel, _ in machine.operations()]
        ctx.check(ctx.cimi.action(offered) in rels, f"a {wanted} Machine lacks {offered}", exchange)
        ctx.check(
            ctx.cimi.action(absent) not in rels, f"a {wanted} Machine offers {absent}", exchange
        )


@case(
    "cimi.machine.update",
    "A Machine's name can be changed through edit",
    requirements=["DSP0263/machine.update", "DSP0263/crud.update"],
    renderings=CIMI_RENDERINGS,
    profile="full",
)
def update(ctx: CaseContext) -> None:
    url = ctx.cimi.fixture("machine")
    exchange, machine = ctx.cimi.read(url, ctx.media)
    href = machine.operation("edit")
    if href is None:
        ctx.fail("the Machine advertises no edit operation", exchange)
    name = ctx.session.unique("renamed")
    body = cimi.with_name(ctx.media, exchange.response.body, name)
    put = ctx.client.request(
        "PUT", ctx.cimi.resolve(href), headers=[("Content-Type", ctx.media)], body=body
    )
    ctx.expect_status(put, 200, 202)
    ctx.cimi.settle(put)
    ctx.check(ctx.cimi.read(url)[1].get("name") == name, "the name did not change", put)


def delete_case(ctx: CaseContext, kind: str) -> None:
    """Create a resource, delete it through its delete operation, see it go."""
    created = ctx.cimi.create(kind)
    ctx.require(created.location, f"could not create a {kind}: {created.exchange.summary()}")
    url = created.location or ""
    if created.job:
        ctx.cimi.wait_job(created.job)
    _, document = ctx.cimi.read(url)
    href = ctx.cimi.resolve(document.operation("delete") or url)
    exchange = ctx.client.request("DELETE", href)
    ctx.expect_status(exchange, 200, 202, 204)

    def gone() -> bool | None:
        read = ctx.client.get(url, JSON)
        if read.status in GONE:
            return True
        state = cimi.parse_json(read.response.body).get("state") if read.status == 200 else None
        ctx.check(state in (None, "DELETING"), f"while being deleted the state is {state!r}", read)
        return None

    ctx.session.waiter.until(gone, f"{url} to disappear")
    ctx.session.ledger.mark_removed(url)


@case(
    "cimi.machine.delete",
    "Deleting a Machine removes it (DELETING meanwhile)",
    requirements=["DSP0263/machine.delete", "DSP0263/crud.delete", "DSP0263/crud.delete-state"],
    profile="full",
)
def delete(ctx: CaseContext) -> None:
    delete_case(ctx, "machine")


@case(
    "cimi.machinevolume.attach",
    "A MachineVolume attaches a Volume; deleting it detaches",
    requirements=["DSP0263/machinevolume.attach"],
    profile="full",
)
def attach(ctx: CaseContext) -> None:
    machine_url, volume_url = ctx.cimi.fixture("machine"), ctx.cimi.fixture("volume")
    _, machine = ctx.cimi.read(machine_url)
    volumes = machine.href("volumes")
    if volumes is None:
        ctx.skip("the Machine has no volumes collection")
    _, collection = ctx.cimi.read(ctx.cimi.resolve(volumes))
    add = collection.operation("add")
    if add is None:
        ctx.skip("the Machine's volumes collection advertises no add operation")
    body = cimi.body(
        JSON,
        ctx.cimi.namespace,
        "MachineVolume",
        {"initialLocation": "/dev/vdb", "volume": {"href": volume_url}},
    )
    exchange = ctx.client.request(
        "POST", ctx.cimi.resolve(add), headers=[("Content-Type", JSON)], body=body
    )
    ctx.expect_status(exchange, 201, 202)
    ctx.cimi.settle(exchange)
    location = exchange.response.header("Location")
    ctx.check(location, "no Location for the MachineVolume", exchange)
    attachment = ctx.cimi.resolve(location or "")
    ctx.session.ledger.track(Owned("cimi", "MachineVolume", attachment, ctx.client))
    _, listed = ctx.cimi.read(ctx.cimi.resolve(volumes))
    targets = [ctx.cimi.resolve(str((e.get("volume") or {}).get("href"))) for e in listed.entries]
    ctx.check(volume_url in targets, "the Volume is not in the Machine's volumes")
    detach = ctx.client.request("DELETE", attachment)
    ctx.expect_status(detach, 200, 202, 204, what="detaching")
    ctx.cimi.settle(detach)
    ctx.session.ledger.mark_removed(attachment)
