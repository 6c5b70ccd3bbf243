"""The HA agent: the monitor and the recovery loop, as threads of a Concord process.

``concord worker`` (and ``concord serve`` with its embedded worker) start one
:class:`HaAgent`. Any number of processes may run one on the same database:
the monitors agree through conditional updates and the recovery loops
through claims (:mod:`engine.ha.queue`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from engine.db import Database
from engine.drivers.base import HypervisorDriver
from engine.ha.config import HaConfig
from engine.ha.monitor import HostMonitor
from engine.ha.recovery import Recovery

log = logging.getLogger("engine.ha")


class HaAgent:
    """Runs :class:`HostMonitor` every ``check_interval`` and :class:`Recovery` continuously.

    :param database: the engine's database.
    :param drivers: the process's driver factory.
    :param config: HA's settings.
    :param worker_id: this process's name in HA claims.
    """

    def __init__(
        self,
        database: Database,
        drivers: Callable[[str], HypervisorDriver],
        config: HaConfig,
        worker_id: str | None = None,
    ) -> None:
        self.config = config
        self.monitor = HostMonitor(database, drivers, config)
        self.recovery = Recovery(database, drivers, config, worker_id)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _loop(self, interval: float, function: Callable[[], object], what: str) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                function()
            except Exception:
                log.exception("HA %s failed; retrying", what)
            self._stop.wait(max(interval - (time.monotonic() - started), 0.0))

    def start(self) -> list[threading.Thread]:
        """Start the monitor and recovery threads (daemons); return them."""
        for name, interval, function in (
            ("monitor", self.config.check_interval, self.monitor.check_once),
            ("recovery", self.config.poll_interval, self.recovery.run_once),
        ):
            thread = threading.Thread(
                target=self._loop,
                args=(interval, function, name),
                name=f"concord-ha-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        log.info("HA agent started", extra={"worker": self.recovery.worker_id})
        return list(self._threads)

    def stop(self) -> None:
        """Stop both loops and wait for them."""
        self._stop.set()
        for thread in self._threads:
            thread.join()


__all__ = ["HaAgent"]
