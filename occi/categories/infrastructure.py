"""OCCI Infrastructure 1.2 (GFD.224): the Kinds, Actions and Mixins of an IaaS.

Section numbers are GFD.224's (occi-wg ``infrastructure.tex``); the tables are
transcribed in occi.md §6. Required flags follow occi.md §10 item 10: only what a
client must really send is ``{required}``; server-generated values (states,
interface names, MACs, device ids) are not, although GFD.224 gives them
multiplicity 1.
"""

from __future__ import annotations

from occi.categories.core import LINK, RESOURCE, core_registry
from occi.categories.registry import CategoryRegistry
from occi.categories.types import Action, Attribute, AttributeType, Kind, Mixin

T = AttributeType

INFRASTRUCTURE = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE_ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
STORAGE_ACTION = "http://schemas.ogf.org/occi/infrastructure/storage/action#"
NETWORK_ACTION = "http://schemas.ogf.org/occi/infrastructure/network/action#"
NETWORK_MIXINS = "http://schemas.ogf.org/occi/infrastructure/network#"
NETWORKINTERFACE_MIXINS = "http://schemas.ogf.org/occi/infrastructure/networkinterface#"
CREDENTIALS = "http://schemas.ogf.org/occi/infrastructure/credentials#"
COMPUTE_MIXINS = "http://schemas.ogf.org/occi/infrastructure/compute#"
#: The OpenStack-namespace contextualisation Mixins EGI's federated cloud agreed
#: before GFD.224 had its own (ooi, rOCCI-server's OpenStack backend); IM's OCCI
#: connector (``im`` 1.19.1, IM/connectors/OCCI.py ``launch``) still sends them
#: with every compute. Read as aliases of ``user_data`` and ``ssh_key``
#: (occi.md §10 item 23; docs/occi.rst, "Robustness choices").
OPENSTACK_INSTANCE = "http://schemas.openstack.org/compute/instance#"
OPENSTACK_CREDENTIALS = "http://schemas.openstack.org/instance/credentials#"

#: GFD.224 writes sizes as "Float, 10^9 (GiB)": 10^9 is a gigabyte, GiB 2^30
#: bytes. Concord reads GiB, as rOCCI and the CRTP value tables do (1.0 = 1 GiB).
GIB = "GiB"
#: RFC 7230 tchar+, for GFD.224's "Token" (occi.network.label).
LABEL_PATTERN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
#: Six colon- or hyphen-separated octets.
MAC_PATTERN = r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$"

LINK_STATES = ("active", "inactive", "error")


def _state(prefix: str, states: tuple[str, ...], initial: str) -> tuple[Attribute, Attribute]:
    """A ``*.state`` enum and its ``*.state.message`` (both immutable, GFD.224 §3)."""
    return (
        Attribute(
            f"{prefix}.state",
            T.ENUM,
            mutable=False,
            default=initial,
            enum=states,
            description="Current state of the instance",
        ),
        Attribute(
            f"{prefix}.state.message",
            mutable=False,
            description="Human-readable explanation of the current instance state",
        ),
    )


def _method(values: tuple[str, ...], default: str | None, description: str) -> Attribute:
    # Action parameters are exempt from the occi. prefix rule (GFD.221 §3.2.2).
    return Attribute("method", T.ENUM, enum=values, default=default, description=description)


# GFD.224 §3.1 Compute actions. Defaults: GFD.224 gives none; Concord picks the
# least destructive method (a graceful stop, a graceful restart, a suspend that
# keeps memory), the engine's plain STOP/RESTART/PAUSE. save has no default: the
# provider decides (GFD.224 §3.1 "the provider MAY honour or override").
START = Action("start", COMPUTE_ACTION, "Start the compute instance")
STOP = Action(
    "stop",
    COMPUTE_ACTION,
    "Stop the compute instance",
    (_method(("graceful", "acpioff", "poweroff"), "graceful", "How to stop the instance"),),
)
RESTART = Action(
    "restart",
    COMPUTE_ACTION,
    "Restart the compute instance",
    (_method(("graceful", "warm", "cold"), "graceful", "How to restart the instance"),),
)
SUSPEND = Action(
    "suspend",
    COMPUTE_ACTION,
    "Suspend the compute instance",
    (
        _method(
            ("hibernate", "suspend"),
            "suspend",
            "suspend keeps memory in RAM; hibernate saves it to disk",
        ),
    ),
)
SAVE = Action(
    "save",
    COMPUTE_ACTION,
    "Save the compute instance as a new OS template",
    (
        _method(("hot", "deferred"), None, "Save while running (hot) or at the next stop"),
        Attribute("name", description="A name for the new OS template (the provider MAY override)"),
    ),
)

COMPUTE = Kind(
    "compute",
    INFRASTRUCTURE,
    "Compute Resource",
    (
        Attribute(
            "occi.compute.architecture",
            T.ENUM,
            enum=("x86", "x64"),
            description="CPU architecture of the instance",
        ),
        Attribute(
            "occi.compute.cores",
            T.INTEGER,
            minimum=1,
            description="Number of virtual CPU cores assigned to the instance",
        ),
        Attribute(
            "occi.compute.hostname", description="Fully qualified DNS hostname for the instance"
        ),
        Attribute(
            "occi.compute.share",
            T.INTEGER,
            minimum=0,
            description="Relative number of CPU shares for the instance",
        ),
        Attribute(
            "occi.compute.memory",
            T.FLOAT,
            minimum=0,
            unit=GIB,
            description="Maximum RAM in gigabytes (GiB) allocated to the instance",
        ),
        *_state("occi.compute", ("active", "inactive", "suspended", "error"), "inactive"),
    ),
    parent=RESOURCE,
    actions=(START, STOP, RESTART, SUSPEND, SAVE),
    location="/compute/",
)

# GFD.224 §3.3 Storage: 1.2 keeps only online/offline; resize is an update of
# occi.storage.size (occi.md §10 item 21).
ONLINE = Action("online", STORAGE_ACTION, "Bring the storage online")
OFFLINE = Action("offline", STORAGE_ACTION, "Take the storage offline")
STORAGE = Kind(
    "storage",
    INFRASTRUCTURE,
    "Storage Resource",
    (
        Attribute(
            "occi.storage.size",
            T.FLOAT,
            required=True,
            minimum=0,
            unit=GIB,
            description="Storage size of the instance in gigabytes (GiB)",
        ),
        *_state("occi.storage", ("online", "offline", "error"), "offline"),
    ),
    parent=RESOURCE,
    actions=(ONLINE, OFFLINE),
    location="/storage/",
)

# GFD.224 §3.2 Network.
UP = Action("up", NETWORK_ACTION, "Bring the network up")
DOWN = Action("down", NETWORK_ACTION, "Take the network down")
NETWORK = Kind(
    "network",
    INFRASTRUCTURE,
    "Network Resource",
    (
        Attribute(
            "occi.network.vlan",
            T.INTEGER,
            minimum=0,
            maximum=4095,
            description="802.1q VLAN identifier (e.g. 343)",
        ),
        Attribute(
            "occi.network.label",
            pattern=LABEL_PATTERN,
            description="Tag-based VLAN (e.g. external-dmz)",
        ),
        *_state("occi.network", ("active", "inactive", "error"), "inactive"),
    ),
    parent=RESOURCE,
    actions=(UP, DOWN),
    location="/network/",
)

# GFD.224 §3.4.1 NetworkInterface. The link state machine has no actions
# (occi.md §10 item 20), so none are defined.
NETWORKINTERFACE = Kind(
    "networkinterface",
    INFRASTRUCTURE,
    "NetworkInterface Link",
    (
        Attribute(
            "occi.networkinterface.interface",
            mutable=False,
            description="Identifier of the link's device interface (e.g. eth0)",
        ),
        Attribute(
            "occi.networkinterface.mac",
            pattern=MAC_PATTERN,
            description="MAC address of the link's device interface",
        ),
        *_state("occi.networkinterface", LINK_STATES, "inactive"),
    ),
    parent=LINK,
    location="/networkinterface/",
)

# GFD.224 §3.4.2 StorageLink.
STORAGELINK = Kind(
    "storagelink",
    INFRASTRUCTURE,
    "StorageLink Link",
    (
        Attribute(
            "occi.storagelink.deviceid",
            description="Device identifier as defined by the provider (e.g. /dev/vdb)",
        ),
        Attribute(
            "occi.storagelink.mountpoint",
            description="Where the storage is mounted in the guest OS",
        ),
        *_state("occi.storagelink", LINK_STATES, "inactive"),
    ),
    parent=LINK,
    location="/storagelink/",
)

_ALLOCATION = ("dynamic", "static")

# GFD.224 §3.2.1: ipnetwork MUST apply to network.
IPNETWORK = Mixin(
    "ipnetwork",
    NETWORK_MIXINS,
    "IP Network Mixin",
    (
        Attribute(
            "occi.network.address",
            T.CIDR,
            description="IP network address range in CIDR notation (e.g. 192.168.0.0/24)",
        ),
        Attribute(
            "occi.network.gateway", T.IP, description="IP address of the gateway (e.g. 192.168.0.1)"
        ),
        # GFD.224 gives no default; dynamic (DHCP) is what Concord provides.
        Attribute(
            "occi.network.allocation",
            T.ENUM,
            enum=_ALLOCATION,
            default="dynamic",
            description="Address allocation: dynamic (e.g. DHCP) or static",
        ),
    ),
    applies=(NETWORK.type_id,),
    location="/mixin/ipnetwork/",
)

# GFD.224 §3.4.1.1: ipnetworkinterface MUST apply to networkinterface.
IPNETWORKINTERFACE = Mixin(
    "ipnetworkinterface",
    NETWORKINTERFACE_MIXINS,
    "IP Network Interface Mixin",
    (
        Attribute(
            "occi.networkinterface.address",
            T.IP,
            description="IP address of the link (e.g. 192.168.0.1 or 192.168.0.1/24)",
        ),
        Attribute("occi.networkinterface.gateway", T.IP, description="IP address of the gateway"),
        Attribute(
            "occi.networkinterface.allocation",
            T.ENUM,
            enum=_ALLOCATION,
            default="dynamic",
            description="Address allocation: dynamic or static",
        ),
    ),
    applies=(NETWORKINTERFACE.type_id,),
    location="/mixin/ipnetworkinterface/",
)

# GFD.224 §3.5.1 and §3.5.2: parents of the provider's templates; they carry
# no attributes themselves.
OS_TPL = Mixin(
    "os_tpl",
    INFRASTRUCTURE,
    "OS Template",
    applies=(COMPUTE.type_id,),
    location="/mixin/os_tpl/",
)
RESOURCE_TPL = Mixin(
    "resource_tpl",
    INFRASTRUCTURE,
    "Resource Template",
    applies=(COMPUTE.type_id,),
    location="/mixin/resource_tpl/",
)

# GFD.224 §3.5.3 Credentials mixin: MUST apply only to compute.
SSH_KEY = Mixin(
    "ssh_key",
    CREDENTIALS,
    "SSH Key Credentials Mixin",
    (
        Attribute(
            "occi.credentials.ssh.publickey",
            required=True,
            description="The public key to inject into the compute instance",
            aliases=("org.openstack.credentials.publickey.data",),
        ),
    ),
    applies=(COMPUTE.type_id,),
    location="/mixin/ssh_key/",
    aliases=(OPENSTACK_CREDENTIALS + "public_key",),
)

# GFD.224 §3.5.4 Contextualization mixin: applies only to compute. GFD.224
# marks the attribute Mutable (clients set it at creation) yet says it "cannot
# be updated"; immutable would forbid setting it at all (GFD.221 §3.2.2), so it
# stays mutable here and updates are refused by the service.
USER_DATA = Mixin(
    "user_data",
    COMPUTE_MIXINS,
    "User Data Contextualization Mixin",
    (
        Attribute(
            "occi.compute.userdata",
            required=True,
            description="Contextualization data (e.g. a script) supplied once, "
            "at creation; it cannot be updated",
            aliases=("org.openstack.compute.user_data",),
        ),
    ),
    applies=(COMPUTE.type_id,),
    location="/mixin/user_data/",
    aliases=(OPENSTACK_INSTANCE + "user_data",),
)

KINDS = (COMPUTE, STORAGE, NETWORK, NETWORKINTERFACE, STORAGELINK)
MIXINS = (OS_TPL, RESOURCE_TPL, IPNETWORK, IPNETWORKINTERFACE, SSH_KEY, USER_DATA)


def infrastructure_registry() -> CategoryRegistry:
    """A registry of OCCI Core plus every GFD.224 Kind, Action and Mixin."""
    registry = core_registry()
    registry.extend(KINDS)
    registry.extend(MIXINS)
    return registry
