"""Infrastructure (GFD.224): Kinds, attributes, actions, states, templates, Mixins."""

from __future__ import annotations

from conformance.cases import case
from conformance.cases.context import CaseContext
from conformance.formats.occi_model import (
    COMPUTE,
    INFRA,
    IPNETWORK,
    IPNETWORKINTERFACE,
    LINK,
    NETWORK,
    NETWORKINTERFACE,
    OS_TPL,
    RESOURCE,
    RESOURCE_TPL,
    SSH_KEY,
    STORAGE,
    STORAGELINK,
    TEXT_PLAIN,
    USER_DATA,
)

PARENTS = {
    COMPUTE: RESOURCE,
    STORAGE: RESOURCE,
    NETWORK: RESOURCE,
    NETWORKINTERFACE: LINK,
    STORAGELINK: LINK,
}
ATTRIBUTES = {
    COMPUTE: ("architecture", "cores", "hostname", "share", "memory", "state", "state.message"),
    STORAGE: ("size", "state", "state.message"),
    NETWORK: ("vlan", "label", "state", "state.message"),
    NETWORKINTERFACE: ("interface", "mac", "state", "state.message"),
    STORAGELINK: ("deviceid", "mountpoint", "state", "state.message"),
}
ACTIONS = {
    COMPUTE: ("start", "stop", "restart", "suspend", "save"),
    STORAGE: ("online", "offline"),
    NETWORK: ("up", "down"),
}
STATES = {
    COMPUTE: ("active", "inactive", "suspended", "error"),
    STORAGE: ("online", "offline", "error"),
    NETWORK: ("active", "inactive", "error"),
    NETWORKINTERFACE: ("active", "inactive", "error"),
    STORAGELINK: ("active", "inactive", "error"),
}
APPLIES = {
    IPNETWORK: NETWORK,
    IPNETWORKINTERFACE: NETWORKINTERFACE,
    SSH_KEY: COMPUTE,
    USER_DATA: COMPUTE,
}


def term(type_id: str) -> str:
    """The term of a type identifier."""
    return type_id.rsplit("#", 1)[-1]


@case(
    "occi.infra.kinds",
    "Infrastructure Kinds have the spec's scheme, term and parent",
    requirements=["GFD.224/kinds.exposed"],
)
def kinds(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    offered = [t for t in PARENTS if model.get(t) is not None]
    if not offered:
        ctx.skip("the server offers no infrastructure Kind")
    for type_id in offered:
        kind = model.categories[type_id]
        ctx.check(kind.cls == "kind", f"{type_id} is a {kind.cls}, not a kind")
        ctx.check(
            kind.rel[:1] == [PARENTS[type_id]],
            f"{type_id} has parent {kind.rel}, not {PARENTS[type_id]}",
            ctx.occi.query(TEXT_PLAIN),
        )


def _attributes_case(type_id: str, slug: str) -> None:
    @case(
        f"occi.infra.{term(type_id)}-attributes",
        f"The {term(type_id)} Kind defines its attributes",
        requirements=[f"GFD.224/{slug}.attributes"],
    )
    def check(ctx: CaseContext) -> None:
        kind = ctx.occi.kind(type_id)
        prefix = f"occi.{term(type_id)}."
        defined = ctx.occi.model().all_attributes(kind)
        missing = [prefix + a for a in ATTRIBUTES[type_id] if prefix + a not in defined]
        ctx.check(not missing, f"{type_id} does not define {missing}", ctx.occi.query(TEXT_PLAIN))


def _actions_case(type_id: str) -> None:
    @case(
        f"occi.infra.{term(type_id)}-actions",
        f"The {term(type_id)} Kind exposes its actions",
        requirements=[f"GFD.224/{term(type_id)}.actions"],
    )
    def check(ctx: CaseContext) -> None:
        kind = ctx.occi.kind(type_id)
        scheme = f"{INFRA[:-1]}/{term(type_id)}/action#"
        missing = [scheme + a for a in ACTIONS[type_id] if scheme + a not in kind.actions]
        ctx.check(not missing, f"{type_id} does not expose {missing}", ctx.occi.query(TEXT_PLAIN))


def _state_case(type_id: str) -> None:
    name = f"occi.{term(type_id)}.state"

    @case(
        f"occi.infra.{term(type_id)}-state",
        f"{name} takes a value of the spec",
        requirements=[f"GFD.224/{term(type_id)}.state"],
        profile="full" if type_id in (NETWORKINTERFACE, STORAGELINK) else "read-only",
    )
    def check(ctx: CaseContext) -> None:
        ctx.occi.kind(type_id)
        if type_id in (NETWORKINTERFACE, STORAGELINK):
            url = ctx.occi.link_fixture(type_id)[0]
        else:
            url = ctx.occi.sample(type_id)
        exchange = ctx.occi.get(url, TEXT_PLAIN)
        value = ctx.occi.entity(exchange, TEXT_PLAIN)[0].attributes.get(name)
        ctx.check(value in STATES[type_id], f"{name} is {value!r}", exchange)


def _applies_case(type_id: str, slug: str) -> None:
    @case(
        f"occi.infra.{term(type_id)}-applies",
        f"The {term(type_id)} Mixin applies as specified",
        requirements=[f"GFD.224/{slug}.applies"],
    )
    def check(ctx: CaseContext) -> None:
        mixin = ctx.occi.model().get(type_id)
        if mixin is None:
            ctx.skip(f"the server does not offer the {term(type_id)} Mixin")
        if not ctx.occi.offered("application/occi+json"):
            ctx.skip("applies can only be read from the JSON rendering, which is not offered")
        ctx.check(
            mixin.applies == [APPLIES[type_id]],
            f"{type_id} applies to {mixin.applies}, not [{APPLIES[type_id]}]",
            ctx.occi.query("application/occi+json"),
        )
        if type_id == IPNETWORK:
            missing = [
                f"occi.network.{a}"
                for a in ("address", "gateway", "allocation")
                if f"occi.network.{a}" not in mixin.attributes
            ]
            ctx.check(not missing, f"ipnetwork does not define {missing}")


for _type, _slug in (
    (COMPUTE, "compute"),
    (STORAGE, "storage"),
    (NETWORK, "network"),
    (NETWORKINTERFACE, "networkinterface"),
    (STORAGELINK, "storagelink"),
):
    _attributes_case(_type, _slug)
    _state_case(_type)
for _type in ACTIONS:
    _actions_case(_type)
for _type, _slug in (
    (IPNETWORK, "ipnetwork"),
    (IPNETWORKINTERFACE, "ipnetworkinterface"),
    (SSH_KEY, "ssh_key"),
    (USER_DATA, "user_data"),
):
    _applies_case(_type, _slug)


@case(
    "occi.infra.templates-offered",
    "The provider offers OS templates",
    requirements=["GFD.224/templates.offered"],
)
def templates_offered(ctx: CaseContext) -> None:
    ctx.check(
        ctx.occi.model().templates(OS_TPL),
        "no OS template is offered (no Mixin depends on os_tpl)",
        ctx.occi.query(TEXT_PLAIN),
    )


@case(
    "occi.infra.os-templates",
    "OS templates depend on os_tpl, which is advertised",
    requirements=["GFD.224/os_tpl.supported"],
)
def os_templates(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    templates = model.templates(OS_TPL)
    if not templates:
        ctx.skip("the provider offers no OS template")
    ctx.check(
        model.get(OS_TPL) is not None,
        "templates depend on os_tpl, which is not advertised",
        ctx.occi.query(TEXT_PLAIN),
    )
    for template in templates:
        ctx.check(
            template.location,
            f"the OS template {template.type_id} has no location",
            ctx.occi.query(TEXT_PLAIN),
        )


@case(
    "occi.infra.resource-templates",
    "Resource templates depend on resource_tpl",
    requirements=["GFD.224/resource_tpl.depends"],
)
def resource_templates(ctx: CaseContext) -> None:
    model = ctx.occi.model()
    if model.get(RESOURCE_TPL) is None:
        ctx.skip("the server offers no resource templates")
    for template in model.templates(RESOURCE_TPL):
        ctx.check(
            template.location,
            f"the resource template {template.type_id} has no location",
            ctx.occi.query(TEXT_PLAIN),
        )
    for mixin in model.mixins():
        looks_like = mixin.scheme.rstrip("#").endswith(("resource_tpl", "resource_tpl/"))
        if looks_like and mixin.type_id != RESOURCE_TPL:
            ctx.check(
                mixin in model.templates(RESOURCE_TPL),
                f"{mixin.type_id} looks like a resource template but does not depend on "
                "resource_tpl",
                ctx.occi.query(TEXT_PLAIN),
            )
