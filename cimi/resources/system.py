"""Provider-level resources: CloudEntryPoint (5.12), Job (5.17), ResourceMetadata (5.11)
and the Action request body (4.2.1.5, 5.13.1.2).
"""

from __future__ import annotations

from cimi.resources._common import (
    CR,
    PROPERTIES,
    RESOURCE_URI,
    RW,
    boolean,
    collection,
    datetime,
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
from cimi.resources._model import Place, Role, Table, type_uri

#: The CloudEntryPoint's collection attributes, in spec order, with their member types
#: (None: a collection Concord does not model; the CEP leaves it out, 2.1).
#: The keys are short (``machineConfigs``); the arrays inside are long
#: (``machineConfigurations``) (cimi.md 2.1).
CEP_COLLECTIONS: tuple[tuple[str, str | None], ...] = (
    ("resourceMetadata", "ResourceMetadata"),
    ("systems", None),
    ("systemTemplates", None),
    ("machines", "Machine"),
    ("machineTemplates", "MachineTemplate"),
    ("machineConfigs", "MachineConfiguration"),
    ("machineImages", "MachineImage"),
    ("credentials", "Credential"),
    ("credentialTemplates", "CredentialTemplate"),
    ("volumes", "Volume"),
    ("volumeTemplates", "VolumeTemplate"),
    ("volumeConfigs", "VolumeConfiguration"),
    ("volumeImages", "VolumeImage"),
    ("networks", "Network"),
    ("networkTemplates", "NetworkTemplate"),
    ("networkConfigs", "NetworkConfiguration"),
    ("networkPorts", "NetworkPort"),
    ("networkPortTemplates", None),
    ("networkPortConfigs", None),
    ("addresses", "Address"),
    ("addressTemplates", "AddressTemplate"),
    ("forwardingGroups", None),
    ("forwardingGroupTemplates", None),
    ("jobs", "Job"),
    ("meters", "Meter"),
    ("meterTemplates", None),
    ("meterConfigs", "MeterConfiguration"),
    ("eventLogs", None),
    ("eventLogTemplates", None),
)

CLOUD_ENTRY_POINT = resource(
    "CloudEntryPoint",
    uri("baseURI", required=True, doc="5.12 base for relative URIs; ends with '/'"),
    *(collection(key, member, doc="5.12 a CEP collection") for key, member in CEP_COLLECTIONS),
    parent=False,
    doc="5.12 CloudEntryPoint: the catalog of every collection the consumer may use.",
)

#: Job.state: the list StratusLab and SlipStream share (cimi.md 2.12, 6.8).
JOB_STATES = ("QUEUED", "RUNNING", "FAILED", "SUCCESS", "STOPPING", "STOPPED")

JOB = resource(
    "Job",
    enum("state", JOB_STATES, doc="5.17 state of the job"),
    ref("targetResource", doc="5.17 the resource the operation targets"),
    refs("affectedResources", "affectedResource"),
    string("action", doc="5.17 the operation: add, edit, delete or an action URI"),
    integer("returnCode", doc="5.17 result code"),
    integer("progress", minimum=0, maximum=100, doc="5.17 percentage done"),
    string("statusMessage", doc="5.17 human-readable status"),
    datetime("timeOfStatusChange", doc="5.17 time of the last state change"),
    ref("parentJob", "Job", doc="5.17 the job this one is part of"),
    refs("nestedJobs", "nestedJob", "Job"),
    doc="5.17 Job: an asynchronous operation.",
)

RMD_ATTRIBUTE = structure(
    "attribute",
    string("name", RW, required=True, create_required=True, place=Place.ATTRIBUTE),
    uri("namespace", RW, place=Place.ATTRIBUTE, doc="omitted for CIMI attributes"),
    string("type", RW, place=Place.ATTRIBUTE, doc="data type; omitted for CIMI attributes"),
    boolean("required", RW, place=Place.ATTRIBUTE),
    boolean("providerMandatory", RW, place=Place.ATTRIBUTE),
    boolean("consumerMandatory", RW, place=Place.ATTRIBUTE),
    boolean("mutable", RW, place=Place.ATTRIBUTE),
    boolean("consumerWritable", RW, place=Place.ATTRIBUTE),
    doc="5.11 metadata of one attribute of the target type",
)

RMD_CAPABILITY = structure(
    "capability",
    string("name", RW, place=Place.ATTRIBUTE),
    uri("uri", RW, required=True, create_required=True, place=Place.ATTRIBUTE),
    string("description", RW, place=Place.ATTRIBUTE),
    string("value", RW, place=Place.TEXT, doc="lists are comma-separated (cimi.md 2.13)"),
    doc="5.11.1 a provider capability",
)

RMD_ACTION = structure(
    "action",
    string("name", RW, required=True, create_required=True, place=Place.ATTRIBUTE),
    uri("uri", RW, required=True, create_required=True, place=Place.ATTRIBUTE),
    string("description", RW, place=Place.ATTRIBUTE),
    string("method", RW, required=True, create_required=True, place=Place.ATTRIBUTE),
    string("inputMessage", RW, place=Place.ATTRIBUTE),
    string("outputMessage", RW, place=Place.ATTRIBUTE),
    doc="5.11 an operation of the target type",
)

RESOURCE_METADATA = resource(
    "ResourceMetadata",
    uri("typeURI", RW, required=True, create_required=True, doc="5.11 the described type"),
    structs("attributes", "attribute", RMD_ATTRIBUTE, RW, doc="5.11 attribute metadata"),
    structs("capabilities", "capability", RMD_CAPABILITY, RW, doc="5.11.1 capabilities"),
    structs("actions", "action", RMD_ACTION, RW, doc="5.11 operations"),
    doc="5.11 ResourceMetadata: constraints, extensions and capabilities of a type.",
)

ACTION = Table(
    "Action",
    (
        RESOURCE_URI,
        string("name", CR),
        string("description", CR),
        uri("action", CR, required=True, create_required=True, doc="the action URI"),
        boolean("force", CR, doc="stop, restart: forceful rather than graceful"),
        string("format", CR, doc="export: media type, default application/ovf"),
        uri("destination", CR, doc="export: where to put the data"),
        uri("source", CR, doc="import: where the data is"),
        ref("image", "MachineImage", CR, doc="restore: the MachineImage to restore"),
        string("initialLocation", CR, doc="insert: accessory attribute (5.5.12.2)"),
        ref("volume", "Volume", CR, doc="insert, remove: the Volume (5.5.12.2, 5.5.12.3)"),
        PROPERTIES,
    ),
    Role.REQUEST,
    uri=type_uri("Action"),
    doc="4.2.1.5 Action: the body of every operation POSTed to an action href.",
)

TABLES = (CLOUD_ENTRY_POINT, JOB, RESOURCE_METADATA, ACTION)
