"""The ``libvirt`` fencer: power off a host's guests through a connection that still reaches it.

For a host whose management connection failed while the host itself may
still run (a stuck libvirtd socket, a network path that came back): if any
connection reaches the host, every Concord guest on it is powered off
(``virDomainDestroy``) and the guests are listed again. The fence is
*confirmed* only when that second listing shows every one of them off; a
host that cannot be reached at all is *unconfirmed*, because its guests may
well still be running (reference/engine.md §5.1: restarting them elsewhere
then corrupts their disks).

Option ``uri``: another libvirt URI reaching the same host (a second
network, ``qemu+ssh://`` through another address); the host's own URI by
default.
"""

from __future__ import annotations

from engine.drivers.fencing.base import FenceOutcome, FenceResult, FenceTarget
from engine.drivers.fencing.registry import Drivers, FencerKind, register_fencer
from engine.drivers.specs import PowerState
from engine.drivers.timed import TimedOut, call_with_timeout
from engine.errors import DriverError

#: Power states in which nothing of the guest runs.
OFF = frozenset({PowerState.SHUTOFF, PowerState.CRASHED, PowerState.SUSPENDED})


class LibvirtFencer:
    """Fence by destroying every Concord guest of the host through libvirt.

    :param drivers: the driver of a host by URI (the process's driver cache).
    """

    name = "libvirt"

    def __init__(self, drivers: Drivers) -> None:
        self.drivers = drivers

    def fence(self, target: FenceTarget, timeout: float) -> FenceResult:
        """Destroy the guests, list them again, confirm only if all are off."""
        uri = target.options.get("uri") or target.uri
        try:
            destroyed, total = call_with_timeout(lambda: self._destroy_all(uri), timeout)
        except TimedOut:
            return FenceResult(
                FenceOutcome.UNCONFIRMED,
                f"libvirt at {uri} did not answer within {timeout:g} s: "
                "the guests cannot be known to be off",
            )
        except DriverError as exc:
            return FenceResult(
                FenceOutcome.UNCONFIRMED,
                f"libvirt at {uri} cannot be reached ({exc}): the guests cannot be known to be off",
            )
        except _StillRunning as exc:
            return FenceResult(FenceOutcome.UNCONFIRMED, str(exc))
        return FenceResult(
            FenceOutcome.CONFIRMED,
            f"destroyed {destroyed} guest(s) through {uri}; all {total} are off",
        )

    def _destroy_all(self, uri: str) -> tuple[int, int]:
        driver = self.drivers(uri)
        destroyed = 0
        for guest_id, power in driver.list_guests().items():
            if power not in OFF:
                driver.stop(guest_id, force=True)
                destroyed += 1
        after = driver.list_guests()
        running = sorted(guest for guest, power in after.items() if power not in OFF)
        if running:
            raise _StillRunning(f"{len(running)} guest(s) still run after destroy: {running[0]}...")
        return destroyed, len(after)


class _StillRunning(Exception):
    pass


register_fencer(
    FencerKind(
        name=LibvirtFencer.name,
        factory=LibvirtFencer,
        options={"uri": "another libvirt URI reaching the host (default: the host's own)"},
    )
)

__all__ = ["OFF", "LibvirtFencer"]
