"""Machine resources (DSP0263 2.0.0 5.14): Machine and its link resources, templates,
configurations, images, and MachineCreate.

Attribute order is the XML element order (cimi.md 3.2). Units: ``memory`` is
in kibibytes (KiB), ``capacity`` in kibibytes too (see the decisions in
``docs/``).
"""

from __future__ import annotations

from cimi.resources._common import (
    CR,
    RW,
    boolean,
    collection,
    create_request,
    enum,
    integer,
    ref,
    refs,
    resource,
    string,
    structs,
    structure,
    uri,
)

#: Machine.state (5.14.1): the stable and transitional states.
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
#: MachineTemplate.initialState: the non-transient states a new Machine may start in.
INITIAL_STATES = ("STARTED", "STOPPED", "PAUSED", "SUSPENDED")
#: cpuArch values (5.14 MachineConfiguration).
CPU_ARCHITECTURES = (
    "68000",
    "Alpha",
    "ARM",
    "Itanium",
    "MIPS",
    "PA_RISC",
    "POWER",
    "PowerPC",
    "x86",
    "x86_64",
    "zArchitecture",
    "SPARC",
)
IMAGE_STATES = ("CREATING", "AVAILABLE", "DELETING", "ERROR")
#: Concord extension (docs/cimi.rst): the policies of a placement group.
PLACEMENT_POLICIES = ("affinity", "anti-affinity")
IMAGE_TYPES = ("IMAGE", "SNAPSHOT", "PARTIAL_SNAPSHOT")
NETWORK_TYPES = ("PUBLIC", "PRIVATE")
#: Base64 (RFC 4648, no line breaks); valid in Python, ECMA 262 and XSD regex syntax.
BASE64 = "([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"

MACHINE = resource(
    "Machine",
    enum("state", MACHINE_STATES, doc="5.14.1 operational state"),
    integer("cpu", minimum=0, doc="5.14.1 number of CPUs"),
    integer("memory", minimum=0, doc="5.14.1 memory in KiB"),
    collection("disks", "MachineDisk", doc="5.14.1 the Machine's disks"),
    enum("cpuArch", CPU_ARCHITECTURES, doc="5.14.1 CPU architecture"),
    collection("volumes", "MachineVolume", doc="5.14.1 attached Volumes"),
    collection("networkInterfaces", "MachineNetworkInterface", doc="5.14.1 network interfaces"),
    ref("eventLog", doc="5.14.1 the Machine's EventLog"),
    string("placementGroup", doc="Concord extension: the placement group it joined"),
    enum("placementPolicy", PLACEMENT_POLICIES, doc="Concord extension: its group's policy"),
    boolean(
        "highlyAvailable",
        doc="Concord extension: restarted on another host when its host fails (docs/ha.rst)",
    ),
    string("stateMessage", doc="Concord extension: why the Machine is in its state"),
    string("zone", doc="Concord extension: the name of the availability zone it is placed in"),
    doc="5.14.1 Machine: a virtual machine.",
)

MACHINE_DISK = resource(
    "MachineDisk",
    integer("capacity", minimum=0, doc="disk capacity in KiB"),
    string("initialLocation", doc="operating-system specific location of the disk"),
    doc="5.14 MachineDisk: an entry of Machine.disks.",
)

MACHINE_VOLUME = resource(
    "MachineVolume",
    string("initialLocation", CR, doc="where the Volume appears, e.g. /dev/sdf"),
    ref("volume", "Volume", CR, create_required=True, doc="the attached Volume"),
    doc="5.14 MachineVolume: the link resource between a Machine and a Volume.",
)

MACHINE_NETWORK_INTERFACE = resource(
    "MachineNetworkInterface",
    collection("addresses", "MachineNetworkInterfaceAddress", doc="addresses of the interface"),
    ref("network", "Network", CR, create_required=True, doc="the Network it connects to"),
    ref("networkPort", "NetworkPort", CR, doc="the NetworkPort it uses"),
    string("state", doc="state of the interface"),
    string("macAddress", CR, doc="MAC address"),
    integer("mtu", CR, minimum=0, doc="maximum transmission unit"),
    enum("networkType", NETWORK_TYPES, CR, doc="PUBLIC or PRIVATE"),
    doc="5.14 MachineNetworkInterface: a network interface of a Machine.",
)

MACHINE_NETWORK_INTERFACE_ADDRESS = resource(
    "MachineNetworkInterfaceAddress",
    ref("address", "Address", CR, create_required=True, doc="the Address"),
    doc="5.14 MachineNetworkInterfaceAddress: an Address of a network interface.",
)

DISK = structure(
    "disk",
    integer("capacity", RW, create_required=True, minimum=0, doc="capacity in KiB"),
    string("format", RW, doc="file system format, e.g. ext3"),
    string("initialLocation", RW, doc="operating-system specific location"),
)

MACHINE_CONFIGURATION = resource(
    "MachineConfiguration",
    integer("cpu", RW, create_required=True, minimum=1, doc="5.14 number of CPUs"),
    integer("memory", RW, create_required=True, minimum=1, doc="5.14 memory in KiB"),
    structs("disks", "disk", DISK, RW, doc="5.14 disks to create"),
    enum("cpuArch", CPU_ARCHITECTURES, RW, doc="5.14 CPU architecture"),
    doc="5.14 MachineConfiguration: the hardware of a Machine.",
)

MACHINE_IMAGE = resource(
    "MachineImage",
    enum("state", IMAGE_STATES, doc="5.14.7 state of the image"),
    enum("type", IMAGE_TYPES, CR, doc="5.14.7 IMAGE, SNAPSHOT or PARTIAL_SNAPSHOT"),
    uri("imageLocation", CR, create_required=True, doc="5.14.7 where the image is"),
    ref("relatedImage", "MachineImage", CR, doc="5.14.7 the image this one derives from"),
    doc="5.14.7 MachineImage: the initial contents of a Machine's disks.",
)

TEMPLATE_VOLUME = structure(
    "volume",
    string("initialLocation", RW, doc="where the Volume appears"),
    ref("credential", "Credential", RW, doc="credential for accessing the Volume"),
    ref("volume", "Volume", RW, create_required=True, doc="the Volume to connect"),
    doc="5.14 MachineTemplate.volumes entry",
)

TEMPLATE_VOLUME_TEMPLATE = structure(
    "volumeTemplate",
    string("initialLocation", RW, doc="where the new Volume appears"),
    ref("volumeTemplate", "VolumeTemplate", RW, create_required=True, doc="template to use"),
    doc="5.14 MachineTemplate.volumeTemplates entry",
)

TEMPLATE_NETWORK_INTERFACE = structure(
    "networkInterface",
    refs("addresses", "address", "Address", RW),
    ref("network", "Network", RW, doc="the Network to connect to"),
    ref("networkPort", "NetworkPort", RW, doc="the NetworkPort to use"),
    integer("mtu", RW, minimum=0, doc="maximum transmission unit"),
    enum("networkType", NETWORK_TYPES, RW, doc="PUBLIC or PRIVATE"),
    doc="MachineTemplate.networkInterfaces entry (1.x network model)",
)

MACHINE_TEMPLATE = resource(
    "MachineTemplate",
    enum("initialState", INITIAL_STATES, RW, doc="5.14 state of the new Machine"),
    ref("machineConfig", "MachineConfiguration", RW, create_required=True, doc="5.14"),
    ref("machineImage", "MachineImage", RW, create_required=True, doc="5.14"),
    ref("credential", "Credential", RW, doc="5.14 initial login credentials"),
    structs("volumes", "volume", TEMPLATE_VOLUME, RW, doc="5.14 Volumes to connect"),
    structs("volumeTemplates", "volumeTemplate", TEMPLATE_VOLUME_TEMPLATE, RW, doc="5.14"),
    structs("networkInterfaces", "networkInterface", TEMPLATE_NETWORK_INTERFACE, RW),
    ref("eventLogTemplate", access=RW, doc="5.14 EventLog to create"),
    string("userData", RW, pattern=BASE64, doc="5.14 Base64 data injected into the Machine"),
    doc="5.14 MachineTemplate: how to create a Machine.",
)

MACHINE_CREATE = create_request(
    "Machine",
    "machineTemplate",
    "MachineTemplate",
    string(
        "placementGroup",
        CR,
        doc="Concord extension: the caller's placement group the new Machine joins",
    ),
    enum(
        "placementPolicy",
        PLACEMENT_POLICIES,
        CR,
        doc="Concord extension: the policy of a new group (or of the named one)",
    ),
    boolean(
        "highlyAvailable",
        CR,
        doc="Concord extension: restart it elsewhere when its host fails (default: the offering's)",
    ),
    string(
        "zone",
        CR,
        doc="Concord extension: the availability zone to place it in, by name "
        "(default: the first enabled zone)",
    ),
)

TABLES = (
    MACHINE,
    MACHINE_DISK,
    MACHINE_VOLUME,
    MACHINE_NETWORK_INTERFACE,
    MACHINE_NETWORK_INTERFACE_ADDRESS,
    MACHINE_CONFIGURATION,
    MACHINE_IMAGE,
    MACHINE_TEMPLATE,
    MACHINE_CREATE,
)
