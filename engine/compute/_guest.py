"""What compute jobs need besides the lifecycle: the guest's definition and power moves.

The database is the source of truth for what a guest *is* (size, disks,
interfaces): :func:`guest_spec` builds its
:class:`~engine.drivers.specs.GuestSpec` from the rows every time a job needs
one, so a resize or an attachment recorded while the guest was stopped
reaches the hypervisor at its next start.

:func:`bring_up` and :func:`bring_down` look at the guest's power state
first and do only what is missing. That is what makes the handlers
idempotent: a job re-run after its worker died finds the work half or fully
done and finishes it, instead of failing because a started guest cannot be
started again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.compute._root_disk import root_disk_path
from engine.compute.models import Compute
from engine.drivers.base import HypervisorDriver
from engine.drivers.specs import BOOT_DEVICE, DiskSpec, GuestSpec, NicSpec, PowerState
from engine.errors import DriverError
from engine.events.alerts import AlertSubject, raise_alert
from engine.lifecycle import State
from engine.network.models import Network, NetworkInterface
from engine.network.state import hypervisor_name
from engine.storage.models import StorageAttachment, Volume

log = logging.getLogger("engine.compute")

#: Power states that satisfy each stable compute state.
EXPECTED_POWER: dict[State, frozenset[PowerState]] = {
    State.RUNNING: frozenset({PowerState.RUNNING, PowerState.BLOCKED}),
    State.STOPPED: frozenset({PowerState.SHUTOFF}),
    State.PAUSED: frozenset({PowerState.PAUSED}),
    State.SUSPENDED: frozenset({PowerState.SUSPENDED}),
}
_UP = EXPECTED_POWER[State.RUNNING]
#: Attachment states whose disk belongs in the definition (not detaching or gone).
_LIVE_LINKS = ("attaching", "attached")
#: The bus the usual device-name prefixes imply.
_BUS_OF_PREFIX = (("sd", "scsi"), ("hd", "ide"))


@dataclass(frozen=True)
class SpecNotes:
    """What :func:`guest_spec` had to leave out, for the job's result."""

    nics_skipped: int = 0
    disks_skipped: tuple[str, ...] = field(default=())


def supports_networks(driver: HypervisorDriver) -> bool:
    """Whether the driver can create the libvirt networks NICs join (``ensure_network``).

    Every driver of :mod:`engine.drivers.base` can now; the check stays for
    drivers written against the older contract, whose guests then get no
    NICs (the job's result counts them in ``nics_skipped``) rather than a
    NIC on a network that may not exist, which fails the guest's start.
    """
    return callable(getattr(driver, "ensure_network", None))


def guest_spec(
    session: Session, compute: Compute, driver: HypervisorDriver
) -> tuple[GuestSpec, SpecNotes]:
    """The guest's definition, built from its rows (compute, image, attachments, NICs).

    NICs join ``concord-<network id>`` libvirt networks; building the spec
    makes sure each of them exists and is active on the host (the guest could
    not start otherwise). NICs on networks that are not running are left out.

    :raises NotFound: the guest's root disk is gone from the host.
    """
    disks: list[DiskSpec] = []
    # The guest's own copy of its image (engine.compute._root_disk), a raw volume.
    root = root_disk_path(session, compute, driver)
    if root is not None:
        disks.append(DiskSpec(root, BOOT_DEVICE))
    skipped: list[str] = []
    rows = session.execute(
        sa.select(StorageAttachment.device, Volume.path)
        .join(Volume, StorageAttachment.volume_id == Volume.id)
        .where(
            StorageAttachment.compute_id == compute.id,
            StorageAttachment.state.in_(_LIVE_LINKS),
        )
        .order_by(StorageAttachment.device)
    )
    for device, volume_path in rows:
        if volume_path is None or (device == BOOT_DEVICE and disks):
            skipped.append(device)  # not created in its pool yet, or hidden by the image
            continue
        disks.append(DiskSpec(volume_path, device, bus=_bus_of(device)))
    interfaces = session.execute(
        sa.select(NetworkInterface.mac, Network.id, Network.state)
        .join(Network, NetworkInterface.network_id == Network.id)
        .where(
            NetworkInterface.compute_id == compute.id,
            NetworkInterface.state.in_(_LIVE_LINKS),
        )
        .order_by(NetworkInterface.interface)
    ).all()
    nics: list[NicSpec] = []
    if supports_networks(driver):
        for mac, network_id, network_state in interfaces:
            # A stopped network gives no link (OCCI inactive); and a guest
            # whose NIC joins an inactive libvirt network cannot start.
            if network_state != State.RUNNING:
                continue
            name = hypervisor_name(network_id)
            driver.ensure_network(name, active=True)
            nics.append(NicSpec(mac, network_name=name))
    spec = GuestSpec(
        guest_id=compute.guest_id,
        vcpus=compute.vcpus,
        memory_mib=compute.memory_mib,
        disks=tuple(disks),
        nics=tuple(nics),
        user_data=compute.user_data,
        ssh_keys=(compute.ssh_public_key,) if compute.ssh_public_key else (),
        owner=compute.id,
    )
    return spec, SpecNotes(len(interfaces) - len(nics), tuple(skipped))


def _bus_of(device: str) -> str:
    for prefix, bus in _BUS_OF_PREFIX:
        if device.startswith(prefix):
            return bus
    return "virtio"


SpecFactory = Callable[[], GuestSpec]


class GuestNameTaken(DriverError):
    """The host already has a domain under the compute's guest name that the
    engine did not define for this compute: it is never adopted nor replaced."""


def claim_guest(driver: HypervisorDriver, compute: Compute) -> None:
    """Make sure the compute's guest name on the host is free, or already its own.

    A guest the engine defined for this compute (an earlier attempt of the same
    creation) records the compute as its owner and is taken up again; any other
    domain of that name, running or not, is left alone and the placement fails.
    Guest names are server-side random UUIDs (``Compute.guest_id``), so this
    happens only if someone with access to the host defined one.

    :raises GuestNameTaken: the name is taken; an operator alert is logged.
    """
    owner = driver.guest_owner(compute.guest_id)
    if owner is None or owner == compute.id:
        return
    log.error(
        "host %s already has a domain concord-%s that Concord did not define for compute "
        "%s (it records owner %r): the placement is refused and the domain left untouched; "
        "an operator should find out who defined it",
        driver.uri,
        compute.guest_id,
        compute.id,
        owner,
    )
    raise GuestNameTaken(
        "the host already has a guest under this compute's name that Concord did not "
        "define; the placement was refused and an operator alerted"
    )


def alert_name_clash(
    session: Session, host_id: str, driver: HypervisorDriver, compute: Compute
) -> None:
    """Raise the operator alert of a creation refused for a name clash, if that is what failed.

    Called when a creation failed, in the failure's own transaction (the
    creation's rolled back): the alert says which host has a foreign domain
    under which name, and stays until an operator clears the host.
    """
    owner = driver.guest_owner(compute.guest_id)
    if owner is None or owner == compute.id:
        return
    raise_alert(
        session,
        key=f"guest-name-clash:{host_id}:{compute.guest_id}",
        source="compute",
        subject=AlertSubject("host", host_id),
        severity="critical",
        message=(
            f"host {driver.uri} has a domain concord-{compute.guest_id} that Concord did not "
            f"define (owner {owner!r}); compute {compute.id} was refused and the domain left alone"
        ),
    )


def guest_is_own(driver: HypervisorDriver, compute: Compute) -> bool:
    """Whether the host has this compute's guest, defined by the engine for it."""
    return driver.guest_owner(compute.guest_id) == compute.id


def bring_up(driver: HypervisorDriver, guest_id: str, spec: SpecFactory) -> None:
    """Make the guest run, from whatever power state it is in.

    A shut-off or missing guest is (re)defined from the database first, so
    changes made while it was stopped apply; a suspended one is restored as
    it is (its saved memory matches its old definition).
    """
    power = driver.guest_state(guest_id)
    if power in _UP:
        return
    if power is PowerState.PAUSED:
        driver.resume(guest_id)
        return
    if power in (PowerState.CRASHED, PowerState.SHUTDOWN_IN_PROGRESS):
        driver.stop(guest_id, force=True)
        power = PowerState.SHUTOFF
    if power in (PowerState.SHUTOFF, PowerState.NOSTATE, PowerState.ABSENT):
        driver.define_guest(spec())
    elif power is not PowerState.SUSPENDED:
        raise DriverError(f"the guest is {power.value} and cannot be started now")
    driver.start(guest_id)


def bring_down(
    driver: HypervisorDriver,
    guest_id: str,
    spec: SpecFactory,
    *,
    force: bool,
    timeout: float | None = None,
) -> None:
    """Make the guest shut off (without saved memory when ``force``).

    A guest missing from its host is defined again, stopped, so that the
    compute's record and the host agree (this is how a compute whose guest
    vanished comes back: force-stop it, then start it).
    """
    power = driver.guest_state(guest_id)
    if power is PowerState.ABSENT:
        driver.ensure_defined(spec())
        return
    if power is PowerState.SHUTOFF:
        return
    if force:
        driver.stop(guest_id, force=True)
    else:
        driver.stop(guest_id, force=False, timeout=60.0 if timeout is None else timeout)


def check_power(driver: HypervisorDriver, guest_id: str, state: State) -> PowerState:
    """Read the guest's power state and insist it matches ``state``.

    :raises DriverError: the hypervisor reports something else, so the job
        must not record ``state``.
    """
    power = driver.guest_state(guest_id)
    expected = EXPECTED_POWER.get(state)
    if expected is not None and power not in expected:
        raise DriverError(
            f"the guest is {power.value} on its host, not {state.value}",
            power_state=power.value,
        )
    return power


__all__ = [
    "EXPECTED_POWER",
    "GuestNameTaken",
    "SpecNotes",
    "alert_name_clash",
    "bring_down",
    "bring_up",
    "check_power",
    "claim_guest",
    "guest_is_own",
    "guest_spec",
    "supports_networks",
]
