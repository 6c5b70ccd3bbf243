"""HA seen from outside: /metrics series and the guests' state messages in OCCI."""

from __future__ import annotations

import re

import sqlalchemy as sa
from helpers import basic
from unit.engine.cloud import add_cluster
from webtest import TestApp

from engine.compute.models import Compute
from engine.db import Database
from engine.ha import operator
from engine.ha.fenced import LOST_MESSAGE
from engine.inventory.models import Host
from engine.lifecycle import State
from engine.tenancy.models import Account

ALICE = basic("alice", "alice-password")


def _host(database: Database) -> str:
    with database.transaction() as session:
        cluster = add_cluster(session, "test")
        host = Host(
            cluster_id=cluster.id,
            name="h1",
            uri="test:///nowhere.xml",
            hypervisor_type="test",
            cpu_cores=4,
            cpu_mhz=2000,
            memory_mib=4096,
            allocated_vcpus=1,
            allocated_memory_mib=64,
        )
        session.add(host)
        session.flush()
        account = session.scalar(sa.select(Account).where(Account.name == "dev"))
        assert account is not None
        compute = Compute(
            name="web",
            state=State.RUNNING.value,
            account_id=account.id,
            domain_id=account.domain_id,
            zone_id=cluster.pod.zone_id,
            vcpus=1,
            memory_mib=64,
            host_id=host.id,
            ha_enabled=False,
        )
        session.add(compute)
        session.flush()
        return compute.id


def test_a_fenced_host_shows_in_metrics_and_its_lost_guest_says_why_in_occi(
    app: TestApp, database: Database, tenancy: object
) -> None:
    compute_id = _host(database)
    before = app.get("/metrics", status=200).text
    assert 'concord_ha_hosts{health="down"} 0.0' in before
    assert "concord_ha_detection_seconds_count 0.0" in before
    with database.transaction() as session:
        operator.confirm_fenced(session, "h1")
    text = app.get("/metrics", status=200).text
    assert 'concord_ha_items{kind="host",step="fenced"} 1.0' in text
    assert "concord_ha_detection_seconds_count 1.0" in text
    assert "concord_ha_recovery_seconds_count 0.0" in text
    # Bounded labels: no host, guest or zone names or ids.
    series = re.findall(r"^concord_ha_\w+(\{[^}]*\})?", text, re.MULTILINE)
    assert all("h1" not in s and compute_id not in s for s in series)
    occi = app.get(f"/compute/{compute_id}", headers={**ALICE, "Accept": "text/plain"}).text
    assert 'occi.compute.state="error"' in occi.replace(" ", "")
    assert LOST_MESSAGE in occi
