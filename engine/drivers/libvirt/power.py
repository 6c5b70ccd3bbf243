"""A guest's power: its state as the engine names it, and the actions that change it.

Every action checks the guest's state first (:func:`require`), so that an
action the state forbids is an :class:`~engine.errors.InvalidTransition` on
every hypervisor alike: libvirt's test driver and QEMU word and classify these
errors differently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import libvirt

from engine.drivers.libvirt.mapping import (
    CRASH_REASONS,
    domain_power_state,
    is_error,
    translate_error,
    translating,
)
from engine.drivers.libvirt.xmlbuild import guest_id_of
from engine.drivers.specs import PowerState
from engine.errors import InvalidTransition, NotFound

T = TypeVar("T")

RUNNING = frozenset({PowerState.RUNNING, PowerState.BLOCKED})
#: States in which the guest has a QEMU process (or the test driver's equivalent).
ACTIVE = RUNNING | {PowerState.PAUSED, PowerState.SHUTDOWN_IN_PROGRESS, PowerState.CRASHED}
STARTABLE = frozenset({PowerState.SHUTOFF, PowerState.SUSPENDED, PowerState.NOSTATE})
#: First and longest pause between checks while waiting for a guest to stop.
_POLL_FIRST, _POLL_MAX = 0.02, 0.25


def require(state: PowerState, allowed: Iterable[PowerState], action: str) -> None:
    """Refuse ``action`` unless ``state`` is one of ``allowed``.

    :raises InvalidTransition: naming the state the guest is in.
    """
    if state not in allowed:
        raise InvalidTransition(
            f"cannot {action}: the guest is {state.value}",
            power_state=state.value,
            subject="guest",
            reason="state",
        )


def domain_state(dom: libvirt.virDomain) -> PowerState:
    """The guest's power state; a shut-off guest with saved memory is ``suspended``."""
    with translating("read the guest's state"):
        state = dom.state()[0]
        managed = state == libvirt.VIR_DOMAIN_SHUTOFF and bool(dom.hasManagedSaveImage(0))
    return domain_power_state(state, managed)


def power_off(dom: libvirt.virDomain) -> None:
    """Pull the guest's plug (libvirt ``destroy``); a guest already off is fine."""
    try:
        dom.destroy()
    except libvirt.libvirtError as exc:
        # The guest can stop by itself between the state check and this
        # call (or, right after a libvirtd restart, while the daemon is
        # still reconnecting to QEMU): then the goal is met.
        with translating("power off the guest"):
            if is_error(exc, libvirt.VIR_ERR_OPERATION_INVALID) and not dom.isActive():
                return
        raise translate_error(exc, "power off the guest") from exc


def start(dom: libvirt.virDomain) -> None:
    """Boot a stopped guest, or restore a suspended one from its saved memory."""
    require(domain_state(dom), STARTABLE, "start the guest")
    with translating("start the guest"):
        dom.create()


def stop(dom: libvirt.virDomain, force: bool = False, timeout: float | None = 60.0) -> PowerState:
    """Stop a guest: ACPI shutdown, or power off when ``force``.

    A forced stop of a stopped guest does nothing, and of a suspended one
    discards its saved memory.

    :param timeout: for a graceful stop, seconds to wait for the guest to
        shut down before powering it off; ``None`` sends the request and
        returns at once.
    :returns: the power state after the call.
    """
    state = domain_state(dom)
    if force:
        if state in ACTIVE:
            power_off(dom)
        elif state is PowerState.SUSPENDED:
            with translating("discard the guest's saved memory"):
                dom.managedSaveRemove(0)
        return domain_state(dom)
    require(state, ACTIVE - {PowerState.CRASHED}, "shut down the guest")
    with translating("shut down the guest"):
        dom.shutdown()
    if timeout is None:
        return domain_state(dom)
    deadline = time.monotonic() + timeout
    pause_s = _POLL_FIRST
    while time.monotonic() < deadline:
        with translating("read the guest's state"):
            if not dom.isActive():
                return domain_state(dom)
        time.sleep(min(pause_s, max(0.0, deadline - time.monotonic())))
        pause_s = min(pause_s * 2, _POLL_MAX)
    # The guest ignored the request (no OS, hung OS): power it off, as a
    # user asking for a stop within a time expects.
    return stop(dom, force=True)


def restart(dom: libvirt.virDomain) -> None:
    """Ask a running guest to reboot."""
    require(domain_state(dom), RUNNING, "restart the guest")
    with translating("restart the guest"):
        dom.reboot(0)


def pause(dom: libvirt.virDomain) -> None:
    """Freeze a running guest's vCPUs, keeping its memory in place."""
    require(domain_state(dom), RUNNING, "pause the guest")
    with translating("pause the guest"):
        dom.suspend()


def resume(dom: libvirt.virDomain) -> None:
    """Let a paused guest run again."""
    require(domain_state(dom), {PowerState.PAUSED}, "resume the guest")
    with translating("resume the guest"):
        dom.resume()


def suspend(dom: libvirt.virDomain) -> None:
    """Save a running or paused guest's memory to disk and stop it.

    The guest is restored running either way (``VIR_DOMAIN_SAVE_RUNNING``): the
    lifecycle's ``suspended -start-> running`` holds for a guest that was
    paused when saved, which libvirt would otherwise restore paused.
    """
    require(domain_state(dom), RUNNING | {PowerState.PAUSED}, "suspend the guest")
    with translating("suspend the guest"):
        dom.managedSave(libvirt.VIR_DOMAIN_SAVE_RUNNING)


__all__ = [
    "ACTIVE",
    "RUNNING",
    "STARTABLE",
    "domain_state",
    "pause",
    "power_off",
    "require",
    "restart",
    "resume",
    "start",
    "stop",
    "suspend",
]


def engine_guests(
    conn: libvirt.virConnect, flags: int, read: Callable[[libvirt.virDomain], T]
) -> Iterator[tuple[str, T]]:
    """``(guest id, read(domain))`` of the engine's domains that ``listAllDomains`` lists.

    Domains not named by the engine are skipped, and so are those undefined
    while they are being read.
    """
    with translating("list the guests"):
        domains = conn.listAllDomains(flags)
    for dom in domains:
        guest_id = guest_id_of(dom.name())
        if guest_id is None:
            continue
        try:
            yield guest_id, read(dom)
        except NotFound:
            continue  # undefined while we were listing


def crashed(dom: libvirt.virDomain) -> bool:
    """Whether a domain is shut off because it crashed (as libvirt records the reason)."""
    with translating("read the guest's state"):
        state, reason = dom.state()
    return bool(state == libvirt.VIR_DOMAIN_SHUTOFF and reason in CRASH_REASONS)
