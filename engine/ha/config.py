"""HA's operator settings, as the engine receives them.

``concord/settings.py`` declares them (``ha_*``, documented in docs/ha.rst)
and hands them over as one :class:`HaConfig`; the defaults here are the
same. They aim at CloudStack's promise of a short time to recovery without
its false positives (reference/engine.md §1.4, §5.1): a host is checked every
second, suspect after 3 s of silence and declared down after 6 s of silence
*and* a failed second check, so that detection plus recovery of 100
simulated guests stays under 15 s (bench/ha.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.ha.health import HealthPolicy


@dataclass(frozen=True)
class HaConfig:
    """HA's thresholds and limits; every time in seconds.

    :param check_interval: between two heartbeats of each host.
    :param probe_timeout: a heartbeat (and the second check) not answered in
        this time has failed.
    :param suspect_after: silence after which a host is ``suspect`` (no new guests).
    :param down_after: silence after which a host whose second check also
        fails is ``down`` (fenced, its guests recovered).
    :param fence_timeout: the longest a fencer may take before its fence is
        unconfirmed.
    :param stale_after: an HA item whose holder has not refreshed its
        heartbeat for this long is taken over by another process.
    :param storm_share: more than this share of a zone's hosts failing within
    :param storm_window: seconds stops automatic fencing and recovery in
        the zone (the storm guard).
    :param poll_interval: how often idle HA workers look for work.
    :param fence_retry_first: after an unconfirmed fence, seconds before the
        fencer is tried again; each further attempt waits twice as long...
    :param fence_retry_max: ...but never longer than this.
    :param restarts_per_host: guests a recovery starts at once on one host.
    :param restart_threads: guests a recovery starts at once in all.
    """

    check_interval: float = 1.0
    probe_timeout: float = 2.0
    suspect_after: float = 3.0
    down_after: float = 6.0
    fence_timeout: float = 30.0
    stale_after: float = 30.0
    storm_share: float = 0.5
    storm_window: float = 300.0
    poll_interval: float = 0.2
    fence_retry_first: float = 10.0
    fence_retry_max: float = 300.0
    restarts_per_host: int = 4
    restart_threads: int = 16

    def __post_init__(self) -> None:
        for name in (
            "check_interval",
            "probe_timeout",
            "fence_timeout",
            "stale_after",
            "storm_window",
            "poll_interval",
            "fence_retry_first",
            "restarts_per_host",
            "restart_threads",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive")
        if self.fence_retry_max < self.fence_retry_first:
            raise ValueError("fence_retry_max: must be at least fence_retry_first")
        if not 0 < self.storm_share <= 1:
            raise ValueError("storm_share: must be more than 0 and at most 1")
        HealthPolicy(self.suspect_after, self.down_after)  # raises for bad thresholds

    @property
    def policy(self) -> HealthPolicy:
        """The host state machine's thresholds."""
        return HealthPolicy(self.suspect_after, self.down_after)

    def fence_retry_delay(self, attempts: int) -> float:
        """Seconds before the next fence after ``attempts`` unconfirmed ones (1, 2...)."""
        doubled = self.fence_retry_first * 2.0 ** max(attempts - 1, 0)
        return min(doubled, self.fence_retry_max)

    @property
    def stale(self) -> dt.timedelta:
        """:attr:`stale_after` as a duration."""
        return dt.timedelta(seconds=self.stale_after)


__all__ = ["HaConfig"]
