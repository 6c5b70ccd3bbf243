"""GFD.224, OCCI Infrastructure 1.2 (sections named by title)."""

from __future__ import annotations

from conformance.requirements.model import MAY, MUST, SHOULD, table

REQUIREMENTS = table(
    "GFD.224",
    "OCCI Infrastructure",
    "occi",
    [
        (
            "kinds.exposed",
            "Infrastructure: Kinds",
            MUST,
            "Each infrastructure type the server offers uses its Kind (infrastructure scheme, "
            "spec term) with the spec parent: resource for compute, storage, network; link for "
            "networkinterface and storagelink.",
        ),
        (
            "kinds.immutable",
            "Infrastructure: Kinds",
            MUST,
            "The infrastructure Kinds cannot be changed by clients.",
            "Not run: a server that wrongly accepted the change would lose a Kind for every user.",
        ),
        (
            "compute.attributes",
            "Compute",
            MUST,
            "The compute Kind defines occi.compute.architecture, cores, hostname, share, "
            "memory, state and state.message.",
        ),
        (
            "compute.actions",
            "Compute",
            MUST,
            "The compute Kind exposes the actions start, stop, restart, suspend and save.",
        ),
        (
            "compute.state",
            "Compute",
            MUST,
            "occi.compute.state is one of active, inactive, suspended, error.",
        ),
        (
            "compute.start",
            "Compute: state model",
            MUST,
            "start brings an inactive or suspended compute to active.",
        ),
        (
            "compute.stop",
            "Compute: state model",
            MUST,
            "stop brings an active compute to inactive.",
        ),
        (
            "compute.suspend",
            "Compute: state model",
            MUST,
            "suspend brings an active compute to suspended.",
        ),
        (
            "compute.restart",
            "Compute: state model",
            MUST,
            "restart leaves an active compute active.",
        ),
        (
            "compute.save",
            "Compute: save action",
            MUST,
            "A successful save answers with the rendering of the new OS template.",
            "Not run: OCCI gives no way to remove the template a save creates, so the harness "
            "could not clean up after itself.",
        ),
        (
            "storage.attributes",
            "Storage",
            MUST,
            "The storage Kind defines occi.storage.size, state and state.message.",
        ),
        (
            "storage.actions",
            "Storage",
            MUST,
            "The storage Kind exposes the actions online and offline.",
        ),
        ("storage.state", "Storage", MUST, "occi.storage.state is one of online, offline, error."),
        (
            "network.attributes",
            "Network",
            MUST,
            "The network Kind defines occi.network.vlan, label, state and state.message.",
        ),
        ("network.actions", "Network", MUST, "The network Kind exposes the actions up and down."),
        ("network.state", "Network", MUST, "occi.network.state is one of active, inactive, error."),
        (
            "ipnetwork.applies",
            "IPNetwork Mixin",
            MUST,
            "The ipnetwork Mixin, when offered, applies to the network Kind and defines "
            "occi.network.address, gateway and allocation.",
        ),
        (
            "networkinterface.attributes",
            "NetworkInterface",
            MUST,
            "The networkinterface Kind defines occi.networkinterface.interface, mac, state and "
            "state.message.",
        ),
        (
            "networkinterface.state",
            "NetworkInterface",
            MUST,
            "occi.networkinterface.state is one of active, inactive, error.",
        ),
        (
            "ipnetworkinterface.applies",
            "IPNetworkInterface Mixin",
            MUST,
            "The ipnetworkinterface Mixin, when offered, applies to the networkinterface Kind.",
        ),
        (
            "storagelink.attributes",
            "StorageLink",
            MUST,
            "The storagelink Kind defines occi.storagelink.deviceid, mountpoint, state and "
            "state.message.",
        ),
        (
            "storagelink.state",
            "StorageLink",
            MUST,
            "occi.storagelink.state is one of active, inactive, error.",
        ),
        (
            "links.targets",
            "NetworkInterface, StorageLink",
            MUST,
            "A networkinterface links a compute to a network; a storagelink links a compute to a "
            "storage.",
        ),
        (
            "os_tpl.supported",
            "OS Template",
            MUST,
            "When OS templates are offered, the os_tpl Mixin is, and each template depends on it.",
        ),
        (
            "os_tpl.replace",
            "OS Template",
            MUST,
            "Associating a new OS template with a Resource, if supported, removes the old one "
            "at once.",
        ),
        (
            "resource_tpl.depends",
            "Resource Template",
            MUST,
            "Provider resource templates depend on the resource_tpl Mixin.",
        ),
        (
            "resource_tpl.replace",
            "Resource Template",
            MUST,
            "A newly associated resource template replaces the old one at once.",
        ),
        (
            "ssh_key.applies",
            "Credentials Mixin",
            MUST,
            "The ssh_key Mixin, when offered, applies only to compute.",
        ),
        (
            "user_data.applies",
            "Contextualization Mixin",
            MUST,
            "The user_data Mixin, when offered, applies only to compute.",
        ),
        ("templates.offered", "OS Template", SHOULD, "The provider offers OS templates."),
        (
            "inline-links",
            "Compute (with HTTP Protocol, Creation)",
            MUST,
            "Links given inline in a Resource creation request are created with it.",
        ),
        (
            "compute.suspended-links",
            "Compute, Storage Link",
            MAY,
            "A suspended compute can take a storagelink, as an active or inactive one can.",
            "GFD.224 ties links to no compute state; hypervisors attach to paused guests, and "
            "third-party test sequences link storage to a suspended compute.",
        ),
    ],
)
