"""The engine's lifecycle vocabulary: resource kinds, states, actions.

The values are engine-neutral, lower-case words. They are stored in the
database and appear in job records, so they never change once released. The
OCCI and CIMI renderings translate them into their own words; no OCCI or CIMI
term appears here (see :mod:`engine.lifecycle` for which engine state serves
which spec state).
"""

from __future__ import annotations

import enum


class Kind(enum.StrEnum):
    """The resource kinds that have a lifecycle."""

    #: A virtual machine: OCCI ``compute``, CIMI Machine.
    COMPUTE = "compute"
    #: A block volume: OCCI ``storage``, CIMI Volume.
    VOLUME = "volume"
    #: A layer-2 network: OCCI ``network``, CIMI Network.
    NETWORK = "network"
    #: A compute's port on a network: OCCI ``networkinterface``, CIMI
    #: MachineNetworkInterface.
    NETWORK_INTERFACE = "network_interface"
    #: A volume attached to a compute: OCCI ``storagelink``, CIMI MachineVolume.
    STORAGE_ATTACHMENT = "storage_attachment"
    #: A captured template: OCCI ``os_tpl`` mixin, CIMI MachineImage.
    IMAGE = "image"

    @property
    def label(self) -> str:
        """The kind in words, for messages (``"network interface"``)."""
        return self.value.replace("_", " ")


class State(enum.StrEnum):
    """Every lifecycle state of every kind.

    A state is *stable* for a kind when no job is running on the resource,
    and *transitional* while a job is; each kind declares which of these
    states it uses and how (see :data:`engine.lifecycle.MACHINES`).
    """

    # Shared by all kinds.
    CREATING = "creating"
    DELETING = "deleting"
    DELETED = "deleted"
    ERROR = "error"
    # Compute and network.
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    # Compute only.
    RESTARTING = "restarting"
    PAUSING = "pausing"
    PAUSED = "paused"
    RESUMING = "resuming"
    SUSPENDING = "suspending"
    SUSPENDED = "suspended"
    # Compute and volume.
    CAPTURING = "capturing"
    # Volume and image.
    AVAILABLE = "available"
    # Volume only.
    RESIZING = "resizing"
    GOING_OFFLINE = "going_offline"
    OFFLINE = "offline"
    GOING_ONLINE = "going_online"
    DEGRADED = "degraded"
    # Attachments (network interfaces and storage attachments).
    ATTACHING = "attaching"
    ATTACHED = "attached"
    DETACHING = "detaching"


class Action(enum.StrEnum):
    """Every operation that changes a resource's state through a job.

    Creation is not an action: a new resource starts in
    :func:`engine.lifecycle.initial` and its creation job ends with
    :func:`engine.lifecycle.complete_creation` or
    :func:`engine.lifecycle.fail_creation`.
    """

    START = "start"
    STOP = "stop"
    FORCE_STOP = "force_stop"
    RESTART = "restart"
    PAUSE = "pause"
    RESUME = "resume"
    SUSPEND = "suspend"
    CAPTURE = "capture"
    RESIZE = "resize"
    ONLINE = "online"
    OFFLINE = "offline"
    DELETE = "delete"


class OnFailure(enum.StrEnum):
    """Where a failed job leaves its resource."""

    #: Back to the stable state the job started from: a failed attempt
    #: leaves the hypervisor as it was.
    RESTORE = "restore"
    #: To :attr:`State.ERROR`: the job has several hypervisor steps, or an
    #: asynchronous one, so a failure may leave the resource half-changed
    #: and the previous state would be a guess.
    ERROR = "error"


__all__ = ["Action", "Kind", "OnFailure", "State"]
