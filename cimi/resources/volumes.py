"""Volume resources (DSP0263 2.0.0 5.15): Volume, VolumeTemplate, VolumeConfiguration,
VolumeImage and VolumeCreate. ``capacity`` is in kibibytes (KiB).
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
    resource,
    string,
    uri,
)

VOLUME_STATES = ("CREATING", "AVAILABLE", "CAPTURING", "DELETING", "ERROR")
IMAGE_STATES = ("CREATING", "AVAILABLE", "DELETING", "ERROR")

VOLUME = resource(
    "Volume",
    enum("state", VOLUME_STATES, doc="5.15 state; attachment is MachineVolume, not a state"),
    uri("type", doc="5.15 type URI, e.g. http://schemas.dmtf.org/cimi/1/mapped"),
    integer("capacity", minimum=0, doc="5.15 capacity in KiB"),
    boolean("bootable", doc="5.15 whether a Machine can boot from it"),
    collection("images", None, doc="5.15 VolumeImages of this Volume"),
    ref("eventLog", doc="5.15 the Volume's EventLog"),
    string("zone", doc="Concord extension: the name of the availability zone it is placed in"),
    doc="5.15 Volume: a block storage device.",
)

VOLUME_CONFIGURATION = resource(
    "VolumeConfiguration",
    uri("type", RW, doc="5.15.5 type URI"),
    string("format", RW, doc="5.15.5 file system format, e.g. ext3"),
    integer("capacity", RW, create_required=True, minimum=0, doc="5.15.5 capacity in KiB"),
    doc="5.15.5 VolumeConfiguration: the shape of a Volume.",
)

VOLUME_IMAGE = resource(
    "VolumeImage",
    enum("state", IMAGE_STATES, doc="5.15 state of the image"),
    ref("imageLocation", access=CR, create_required=True, doc="5.15 where the image is"),
    boolean("bootable", CR, doc="5.15 whether the image is bootable"),
    doc="5.15 VolumeImage: the initial contents of a Volume.",
)

VOLUME_TEMPLATE = resource(
    "VolumeTemplate",
    ref("volumeConfig", "VolumeConfiguration", RW, create_required=True, doc="5.15"),
    ref("volumeImage", "VolumeImage", RW, doc="5.15 initial contents"),
    ref("eventLogTemplate", access=RW, doc="5.15 EventLog to create"),
    doc="5.15 VolumeTemplate: how to create a Volume.",
)

VOLUME_CREATE = create_request(
    "Volume",
    "volumeTemplate",
    "VolumeTemplate",
    string(
        "zone",
        CR,
        doc="Concord extension: the availability zone to place it in, by name "
        "(default: the first enabled zone)",
    ),
)

TABLES = (VOLUME, VOLUME_CONFIGURATION, VOLUME_IMAGE, VOLUME_TEMPLATE, VOLUME_CREATE)
