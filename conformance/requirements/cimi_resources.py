"""DSP0263 2.0.0, CIMI: Machine (5.14), Volume (5.15), Network (5.16) and Job (5.17)."""

from __future__ import annotations

from conformance.requirements.model import MUST, SHOULD, table

_D = "DSP0263"

MACHINE = table(
    _D,
    "CIMI Machine",
    "cimi",
    [
        (
            "machine.attributes",
            "5.14.1 Machine",
            MUST,
            "A Machine has a state; cpu and memory, when given, are integers; disks, volumes "
            "and networkInterfaces, when given, are references.",
        ),
        (
            "machine.state",
            "5.14.1 Machine",
            MUST,
            "Machine.state is one of CREATING, STARTING, STARTED, STOPPING, STOPPED, PAUSING, "
            "PAUSED, SUSPENDING, SUSPENDED, CAPTURING, RESTORING, DELETING, ERROR.",
        ),
        (
            "machine.create",
            "5.14.1 Machine: create",
            MUST,
            "A MachineCreate with a template (a MachineConfiguration and a MachineImage) "
            "creates a Machine that can then be read.",
        ),
        (
            "machine.stable-state",
            "5.14.1 Machine: create",
            MUST,
            "A new Machine settles in a stable state (STARTED, STOPPED, PAUSED or SUSPENDED).",
        ),
        (
            "machine.start",
            "5.14.1 Machine: start",
            MUST,
            "start on a STOPPED Machine brings it to STARTED.",
        ),
        (
            "machine.stop",
            "5.14.1 Machine: stop",
            MUST,
            "stop on a STARTED Machine brings it to STOPPED.",
        ),
        (
            "machine.restart",
            "5.14.1 Machine: restart",
            SHOULD,
            "restart on a STARTED Machine leaves it STARTED.",
        ),
        (
            "machine.operations",
            "5.14.1 Machine: operations",
            SHOULD,
            "A STARTED Machine advertises stop and not start; a STOPPED one start and not stop.",
        ),
        ("machine.delete", "5.14.1 Machine: delete", MUST, "Deleting a Machine removes it."),
        (
            "machine.update",
            "5.14.1 Machine: update",
            MUST,
            "A Machine's name and description can be changed through its edit operation.",
        ),
        (
            "machineconfig.attributes",
            "5.14.3 MachineConfiguration",
            MUST,
            "A MachineConfiguration has integer cpu and memory.",
        ),
        (
            "machineimage.attributes",
            "5.14.7 MachineImage",
            MUST,
            "A MachineImage has a state (CREATING, AVAILABLE, DELETING, ERROR) and a type "
            "(IMAGE, SNAPSHOT, PARTIAL_SNAPSHOT).",
        ),
        (
            "machinevolume.attach",
            "5.14.1 Machine: volumes",
            MUST,
            "Adding a MachineVolume to a Machine's volumes attaches the Volume; deleting the "
            "MachineVolume detaches it.",
        ),
    ],
)

VOLUME = table(
    _D,
    "CIMI Volume",
    "cimi",
    [
        (
            "volume.attributes",
            "5.15.1 Volume",
            MUST,
            "A Volume has a state; capacity is an integer; bootable, when given, a boolean.",
        ),
        (
            "volume.state",
            "5.15.1 Volume",
            MUST,
            "Volume.state is one of CREATING, AVAILABLE, CAPTURING, DELETING, ERROR.",
        ),
        (
            "volume.create",
            "5.15.1 Volume: create",
            MUST,
            "A VolumeCreate with a template (a VolumeConfiguration) creates a Volume that can "
            "then be read and becomes AVAILABLE.",
        ),
        ("volume.delete", "5.15.1 Volume: delete", MUST, "Deleting a Volume removes it."),
        (
            "volumeconfig.attributes",
            "5.15.5 VolumeConfiguration",
            MUST,
            "A VolumeConfiguration has an integer capacity.",
        ),
        (
            "volumeimage.attributes",
            "5.15.7 VolumeImage",
            MUST,
            "A VolumeImage has a state (CREATING, AVAILABLE, DELETING, ERROR) and, when given, "
            "a boolean bootable.",
        ),
    ],
)

NETWORK = table(
    _D,
    "CIMI Network",
    "cimi",
    [
        (
            "network.attributes",
            "5.16.1 Network",
            MUST,
            "A Network has a state; networkType, when given, is PUBLIC or PRIVATE; mtu an integer.",
        ),
        (
            "network.state",
            "5.16.1 Network",
            MUST,
            "Network.state is one of CREATING, STARTING, STARTED, STOPPING, STOPPED, DELETING, "
            "ERROR.",
        ),
        (
            "network.create",
            "5.16.1 Network: create",
            MUST,
            "A NetworkCreate with a template (a NetworkConfiguration) creates a Network that "
            "can then be read.",
        ),
        (
            "network.actions",
            "5.16.1 Network: start, stop",
            MUST,
            "The start and stop a Network advertises bring it to STARTED and STOPPED.",
        ),
        ("network.delete", "5.16.1 Network: delete", MUST, "Deleting a Network removes it."),
        (
            "networkconfig.attributes",
            "5.16.3 NetworkConfiguration",
            MUST,
            "A NetworkConfiguration's networkType, when given, is PUBLIC or PRIVATE; mtu an "
            "integer.",
        ),
    ],
)

JOB = table(
    _D,
    "CIMI Job",
    "cimi",
    [
        (
            "job.header",
            "4.2.1.7 Asynchronous operations",
            MUST,
            "A provider offering Jobs answers an asynchronous operation 202 with a CIMI-Job-URI "
            "header naming the Job.",
        ),
        (
            "job.attributes",
            "5.17 Job",
            MUST,
            "A Job has an id, a state, a targetResource reference and an action; progress, "
            "when given, is 0..100; timeOfStatusChange a dateTime.",
        ),
        (
            "job.state",
            "5.17 Job",
            MUST,
            "Job.state is one of QUEUED, RUNNING, FAILED, SUCCESS, STOPPING, STOPPED.",
        ),
        (
            "job.target",
            "5.17 Job",
            MUST,
            "A Job's targetResource is the resource the operation acts on.",
        ),
        (
            "job.completes",
            "5.17 Job",
            MUST,
            "A Job reaches a final state (SUCCESS, FAILED or STOPPED), and after SUCCESS the "
            "operation's effect is visible.",
        ),
        (
            "job.listed",
            "5.17 Job",
            MUST,
            "A Job is an entry of the Cloud Entry Point's jobs collection.",
        ),
        (
            "job.location",
            "4.2.1.7 Asynchronous operations",
            SHOULD,
            "A 202 for a creation gives the new resource's Location.",
        ),
    ],
)

REQUIREMENTS = MACHINE + VOLUME + NETWORK + JOB
