"""Translation tables between libvirt and the engine.

Three things are mapped here and nowhere else:

* a domain's ``virDomainState`` (plus whether a managed-save image exists)
  to a :class:`~engine.drivers.specs.PowerState` — :data:`DOMAIN_STATES`,
  and the reasons of a shut-off domain that mean it crashed —
  :data:`CRASH_REASONS`;
* a lifecycle event id and detail to the power state it leaves the guest in
  — :data:`EVENT_STATES`;
* a :class:`libvirt.libvirtError` to an :class:`~engine.errors.EngineError`
  — :func:`translate_error`.

libvirt's own error text names files, sockets and internal functions, so it
is logged, never shown: the engine's messages are built from the error code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import libvirt

from engine.drivers.specs import PowerState
from engine.errors import (
    AlreadyExists,
    Conflict,
    DriverError,
    DriverUnavailable,
    EngineError,
    InvalidInput,
    NotFound,
)
from engine.lifecycle import Kind

log = logging.getLogger(__name__)

#: virDomainState -> PowerState. A shut-off domain that has a managed-save
#: image is SUSPENDED instead (see :func:`domain_power_state`).
DOMAIN_STATES: Mapping[int, PowerState] = {
    libvirt.VIR_DOMAIN_NOSTATE: PowerState.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.BLOCKED,
    libvirt.VIR_DOMAIN_PAUSED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.SHUTDOWN_IN_PROGRESS,
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.SHUTOFF,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.PMSUSPENDED,
}

#: Why a shut-off domain is off, when that means it crashed. QEMU dying
#: under a guest (its monitor closed without a shutdown) is recorded as
#: VIR_DOMAIN_SHUTOFF_CRASHED, as is a guest crash with on_crash=destroy;
#: VIR_DOMAIN_SHUTOFF_FAILED is a guest that failed to *start*, not a crash.
CRASH_REASONS = frozenset({libvirt.VIR_DOMAIN_SHUTOFF_CRASHED})

#: The lifecycle event ids libvirt defines, by lower-case name.
EVENT_NAMES: Mapping[int, str] = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: "defined",
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_DOMAIN_EVENT_STARTED: "started",
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: "suspended",
    libvirt.VIR_DOMAIN_EVENT_RESUMED: "resumed",
    libvirt.VIR_DOMAIN_EVENT_STOPPED: "stopped",
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: "shutdown",
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: "pmsuspended",
    libvirt.VIR_DOMAIN_EVENT_CRASHED: "crashed",
}

#: (event id, detail or None for "any other detail") -> the guest's power
#: state after the event; ``None`` when the event says nothing about it
#: (a definition was updated while the guest kept its state).
EVENT_STATES: Mapping[tuple[int, int | None], PowerState | None] = {
    (libvirt.VIR_DOMAIN_EVENT_DEFINED, None): None,
    (libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED): PowerState.SHUTOFF,
    (libvirt.VIR_DOMAIN_EVENT_UNDEFINED, None): PowerState.ABSENT,
    (libvirt.VIR_DOMAIN_EVENT_STARTED, None): PowerState.RUNNING,
    (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, None): PowerState.PAUSED,
    (libvirt.VIR_DOMAIN_EVENT_RESUMED, None): PowerState.RUNNING,
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, None): PowerState.SHUTOFF,
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED): (
        PowerState.CRASHED
    ),
    # "failed" means the hypervisor process died under the guest: for HA
    # that is a crash, not an orderly stop.
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED): (
        PowerState.CRASHED
    ),
    # The engine saves only through managedSave, so a saved guest is SUSPENDED.
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED): (
        PowerState.SUSPENDED
    ),
    (libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, None): PowerState.SHUTDOWN_IN_PROGRESS,
    (libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED, None): PowerState.PMSUSPENDED,
    # Suspend-to-disk ends with the guest powered off.
    (libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED, libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED_DISK): (
        PowerState.SHUTOFF
    ),
    (libvirt.VIR_DOMAIN_EVENT_CRASHED, None): PowerState.CRASHED,
    # A crash kernel took over: the guest still runs (and may reboot itself).
    (libvirt.VIR_DOMAIN_EVENT_CRASHED, libvirt.VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED): (
        PowerState.RUNNING
    ),
}


def _detail_names() -> dict[tuple[int, int], str]:
    # Built from the binding's own constants (VIR_DOMAIN_EVENT_STOPPED_CRASHED
    # ...) so that details added by newer libvirt releases get a name too.
    names: dict[tuple[int, int], str] = {}
    for event, event_name in EVENT_NAMES.items():
        prefix = f"VIR_DOMAIN_EVENT_{event_name.upper()}_"
        for attr in dir(libvirt):
            if attr.startswith(prefix) and not attr.endswith("_LAST"):
                names[(event, getattr(libvirt, attr))] = attr[len(prefix) :].lower()
    return names


_DETAIL_NAMES = _detail_names()


def domain_power_state(state: int, has_managed_save: bool) -> PowerState:
    """Map a domain's state to a power state.

    :param state: the ``virDomainState`` from ``virDomain.state()``.
    :param has_managed_save: whether a managed-save image exists.
    :returns: the power state; :attr:`PowerState.NOSTATE` for a state this
        table does not know (a newer libvirt).
    """
    power = DOMAIN_STATES.get(state, PowerState.NOSTATE)
    if power is PowerState.SHUTOFF and has_managed_save:
        return PowerState.SUSPENDED
    return power


def event_power_state(event: int, detail: int) -> PowerState | None:
    """Map a lifecycle event to the power state the guest is left in.

    :param event: a ``VIR_DOMAIN_EVENT_*`` id.
    :param detail: the event's detail code.
    :returns: the state, or ``None`` when the event does not change it or is
        unknown to this table.
    """
    if (event, detail) in EVENT_STATES:
        return EVENT_STATES[(event, detail)]
    return EVENT_STATES.get((event, None))


def event_reason(event: int, detail: int) -> str:
    """Name an event and its detail, e.g. ``stopped:crashed``.

    :param event: a ``VIR_DOMAIN_EVENT_*`` id.
    :param detail: the event's detail code.
    """
    event_name = EVENT_NAMES.get(event, f"event{event}")
    return f"{event_name}:{_DETAIL_NAMES.get((event, detail), str(detail))}"


_NOT_FOUND: Mapping[int, str] = {
    libvirt.VIR_ERR_NO_DOMAIN: "guest not found on the host",
    libvirt.VIR_ERR_NO_STORAGE_VOL: "volume not found",
    libvirt.VIR_ERR_NO_STORAGE_POOL: "storage pool not found",
}
#: What each of those is, as the subject of the error (engine.errors).
_NOT_FOUND_SUBJECTS: Mapping[int, str] = {
    libvirt.VIR_ERR_NO_DOMAIN: "guest",
    libvirt.VIR_ERR_NO_STORAGE_VOL: Kind.VOLUME.value,
    libvirt.VIR_ERR_NO_STORAGE_POOL: "storage_pool",
}

# Errors that mean the connection to the host is gone or was never made.
_UNREACHABLE_CODES = frozenset({libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN})
# A dead socket surfaces as a system or internal error raised by the RPC
# layer ("client socket is closed", "Failed to connect socket").
_RPC_DOMAINS = frozenset({libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE})
_RPC_FAILURES = frozenset({libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_INTERNAL_ERROR})

_INVALID_CONFIG = frozenset(
    {
        libvirt.VIR_ERR_XML_ERROR,
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        libvirt.VIR_ERR_INVALID_ARG,
        libvirt.VIR_ERR_XML_DETAIL,
    }
)
_EXISTS = frozenset({libvirt.VIR_ERR_STORAGE_VOL_EXIST, libvirt.VIR_ERR_DOM_EXIST})


def translate_error(exc: libvirt.libvirtError, action: str) -> EngineError:
    """Turn a libvirt error into the engine error a caller should see.

    :param exc: the error libvirt raised.
    :param action: what was being done, in words for the user, e.g.
        ``"start the guest"``.
    :returns: an :class:`EngineError` whose message contains no libvirt
        internals; the original error is logged at debug level.
    """
    code = exc.get_error_code()
    domain = exc.get_error_domain()
    log.debug("libvirt failed to %s: code=%s domain=%s: %s", action, code, domain, exc)
    if code in _NOT_FOUND:
        return NotFound(_NOT_FOUND[code], subject=_NOT_FOUND_SUBJECTS[code])
    if code in _UNREACHABLE_CODES or (domain in _RPC_DOMAINS and code in _RPC_FAILURES):
        return DriverUnavailable(f"cannot {action}: the hypervisor host cannot be reached")
    if code == libvirt.VIR_ERR_OPERATION_INVALID:
        return Conflict(
            f"cannot {action} in the guest's current state", subject="guest", reason="state"
        )
    if code == libvirt.VIR_ERR_OPERATION_UNSUPPORTED:
        return Conflict(
            f"cannot {action} while the guest is in this state or configuration",
            subject="guest",
            reason="state",
        )
    if code in _EXISTS:
        return AlreadyExists(f"cannot {action}: the name is already in use", subject="resource")
    if code in _INVALID_CONFIG:
        return InvalidInput(
            f"cannot {action}: the host rejected the requested configuration",
            subject="guest",
            reason="rejected",
        )
    if code == libvirt.VIR_ERR_NO_SUPPORT:
        return DriverError(f"cannot {action}: the host's hypervisor does not support it")
    return DriverError(f"cannot {action}: the hypervisor reported a failure")


@contextmanager
def translating(action: str) -> Iterator[None]:
    """Run a block, turning any :class:`libvirt.libvirtError` into an engine error.

    :param action: what the block does, for the message (see :func:`translate_error`).
    """
    try:
        yield
    except libvirt.libvirtError as exc:
        raise translate_error(exc, action) from exc


def is_error(exc: libvirt.libvirtError, *codes: int) -> bool:
    """Tell whether a libvirt error carries one of ``codes``.

    :param exc: the error.
    :param codes: ``VIR_ERR_*`` codes.
    """
    return exc.get_error_code() in codes
