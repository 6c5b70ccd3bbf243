"""The capacity watch that job workers run: it checks at once, then on its interval."""

from __future__ import annotations

from unit.engine.allocation.rows import store_inventory
from unit.engine.allocation.test_policy import host

from concord.background import start_capacity_watch
from engine.allocation.notifications import ThresholdService, alert_key
from engine.db import Database
from engine.events.alerts import active_alerts
from engine.scope import Scope
from engine.tenancy.service import TenancyService


def test_the_watch_raises_an_alert_on_its_first_check(database: Database) -> None:
    store_inventory(database, [host("h1", "c1", load=8)])
    with database.transaction() as session:
        root = Scope.system(TenancyService(session).ensure_root())
        key = alert_key(ThresholdService(session).set(root, "host", "h1", "cpu", "allocated", 0.5))
    stop = start_capacity_watch(database, interval=3600)
    stop()  # returns once the first check, which runs before any wait, is done
    with database.transaction() as session:
        assert [a.key for a in active_alerts(session, source="capacity")] == [key]
