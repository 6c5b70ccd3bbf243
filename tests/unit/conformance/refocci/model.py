"""The reference OCCI server's model: the Core and Infrastructure categories, and entities.

Written for the tests of the harness, from GFD.221/224 directly, and kept small:
just enough correct behaviour for the harness's cases to have something right to
pass against (and, with one thing broken at a time, something wrong to catch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OCCI = "http://schemas.ogf.org/occi/"
CORE, INFRA = OCCI + "core#", OCCI + "infrastructure#"
PROVIDER = "http://ref.example/occi/"
MISSING = object()


@dataclass
class Attr:
    """An attribute definition."""

    name: str
    type: str = "string"
    mutable: bool = True
    required: bool = False
    default: Any = MISSING


@dataclass
class Cat:
    """A Kind, Mixin or Action."""

    term: str
    scheme: str
    cls: str
    title: str
    rel: list[str] = field(default_factory=list)
    applies: list[str] = field(default_factory=list)
    location: str | None = None
    attrs: list[Attr] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    owner: str | None = None  # user mixins only

    @property
    def type_id(self) -> str:
        return self.scheme + self.term


def _state(prefix: str, default: str) -> list[Attr]:
    return [
        Attr(f"{prefix}.state", mutable=False, default=default),
        Attr(f"{prefix}.state.message", mutable=False),
    ]


def _actions(kind: str, *names: str) -> list[Cat]:
    scheme = f"{OCCI}infrastructure/{kind}/action#"
    method = [Attr("method")]
    return [
        Cat(
            n,
            scheme,
            "action",
            f"{n} action",
            attrs=method if n in ("stop", "restart", "suspend") else [],
        )
        for n in names
    ]


def categories() -> list[Cat]:
    """Every Category the reference server offers, in the order it renders them."""
    compute_actions = _actions("compute", "start", "stop", "restart", "suspend", "save")
    storage_actions = _actions("storage", "online", "offline")
    network_actions = _actions("network", "up", "down")
    kinds = [
        Cat(
            "entity",
            CORE,
            "kind",
            "Entity",
            attrs=[Attr("occi.core.id", mutable=False), Attr("occi.core.title")],
        ),
        Cat(
            "resource",
            CORE,
            "kind",
            "Resource",
            [CORE + "entity"],
            location="/resource/",
            attrs=[Attr("occi.core.summary")],
        ),
        Cat(
            "link",
            CORE,
            "kind",
            "Link",
            [CORE + "entity"],
            location="/link/",
            attrs=[
                Attr("occi.core.source", required=True),
                Attr("occi.core.target", required=True),
            ],
        ),
        Cat(
            "compute",
            INFRA,
            "kind",
            "Compute Resource",
            [CORE + "resource"],
            location="/compute/",
            actions=[a.type_id for a in compute_actions],
            attrs=[
                Attr("occi.compute.architecture", default="x64"),
                Attr("occi.compute.cores", "number"),
                Attr("occi.compute.hostname"),
                Attr("occi.compute.share", "number"),
                Attr("occi.compute.memory", "number"),
                *_state("occi.compute", "inactive"),
            ],
        ),
        Cat(
            "storage",
            INFRA,
            "kind",
            "Storage Resource",
            [CORE + "resource"],
            location="/storage/",
            actions=[a.type_id for a in storage_actions],
            attrs=[
                Attr("occi.storage.size", "number", required=True),
                *_state("occi.storage", "offline"),
            ],
        ),
        Cat(
            "network",
            INFRA,
            "kind",
            "Network Resource",
            [CORE + "resource"],
            location="/network/",
            actions=[a.type_id for a in network_actions],
            attrs=[
                Attr("occi.network.vlan", "number", default=0),
                Attr("occi.network.label"),
                *_state("occi.network", "inactive"),
            ],
        ),
        Cat(
            "networkinterface",
            INFRA,
            "kind",
            "NetworkInterface Link",
            [CORE + "link"],
            location="/networkinterface/",
            attrs=[
                Attr("occi.networkinterface.interface", mutable=False),
                Attr("occi.networkinterface.mac"),
                *_state("occi.networkinterface", "active"),
            ],
        ),
        Cat(
            "storagelink",
            INFRA,
            "kind",
            "StorageLink Link",
            [CORE + "link"],
            location="/storagelink/",
            attrs=[
                Attr("occi.storagelink.deviceid"),
                Attr("occi.storagelink.mountpoint"),
                *_state("occi.storagelink", "active"),
            ],
        ),
    ]
    mixins = [
        Cat("os_tpl", INFRA, "mixin", "OS template", location="/templates/os/"),
        Cat("resource_tpl", INFRA, "mixin", "resource template", location="/templates/size/"),
        Cat(
            "ipnetwork",
            OCCI + "infrastructure/network#",
            "mixin",
            "IP network",
            applies=[INFRA + "network"],
            location="/mixins/ipnetwork/",
            attrs=[
                Attr("occi.network.address"),
                Attr("occi.network.gateway"),
                Attr("occi.network.allocation"),
            ],
        ),
        Cat(
            "ipnetworkinterface",
            OCCI + "infrastructure/networkinterface#",
            "mixin",
            "IP interface",
            applies=[INFRA + "networkinterface"],
            location="/mixins/ipnetworkinterface/",
            attrs=[
                Attr("occi.networkinterface.address"),
                Attr("occi.networkinterface.gateway"),
                Attr("occi.networkinterface.allocation"),
            ],
        ),
        Cat(
            "ssh_key",
            OCCI + "infrastructure/credentials#",
            "mixin",
            "SSH key",
            applies=[INFRA + "compute"],
            location="/mixins/ssh_key/",
            attrs=[Attr("occi.credentials.ssh.publickey")],
        ),
        Cat(
            "user_data",
            OCCI + "infrastructure/compute#",
            "mixin",
            "user data",
            applies=[INFRA + "compute"],
            location="/mixins/user_data/",
            attrs=[Attr("occi.compute.userdata")],
        ),
        Cat(
            "debian",
            PROVIDER + "os#",
            "mixin",
            "Debian 12",
            [INFRA + "os_tpl"],
            applies=[INFRA + "compute"],
            location="/templates/os/debian/",
        ),
        Cat(
            "alpine",
            PROVIDER + "os#",
            "mixin",
            "Alpine 3",
            [INFRA + "os_tpl"],
            applies=[INFRA + "compute"],
            location="/templates/os/alpine/",
        ),
        Cat(
            "small",
            PROVIDER + "size#",
            "mixin",
            "1 core, 1 GiB",
            [INFRA + "resource_tpl"],
            applies=[INFRA + "compute"],
            location="/templates/size/small/",
            attrs=[
                Attr("occi.compute.cores", "number", default=1),
                Attr("occi.compute.memory", "number", default=1.0),
            ],
        ),
        Cat(
            "medium",
            PROVIDER + "size#",
            "mixin",
            "2 cores, 2 GiB",
            [INFRA + "resource_tpl"],
            applies=[INFRA + "compute"],
            location="/templates/size/medium/",
            attrs=[
                Attr("occi.compute.cores", "number", default=2),
                Attr("occi.compute.memory", "number", default=2.0),
            ],
        ),
    ]
    return kinds + mixins + compute_actions + storage_actions + network_actions


#: compute: (state, action) -> next state; the Infrastructure state model.
COMPUTE_MOVES = {
    ("inactive", "start"): "active",
    ("suspended", "start"): "active",
    ("active", "stop"): "inactive",
    ("active", "suspend"): "suspended",
    ("active", "restart"): "active",
}
OTHER_MOVES = {
    ("offline", "online"): "online",
    ("online", "offline"): "offline",
    ("inactive", "up"): "active",
    ("active", "down"): "inactive",
}


@dataclass
class Entity:
    """A Resource or Link."""

    path: str
    owner: str
    kind: Cat
    mixins: list[Cat]
    attrs: dict[str, Any]
    links: list[str] = field(default_factory=list)
    #: (target state, reads left) for the asynchronous mode.
    pending: tuple[str, int] | None = None

    @property
    def is_link(self) -> bool:
        return self.kind.rel == [CORE + "link"] or self.kind.term == "link"
