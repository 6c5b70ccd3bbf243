"""What a failed host leaves behind: its stopped HA guests, and its guests' old definitions.

Three simulated libvirt hosts, on SQLite and MariaDB. host-1 is declared down by an
operator while it still answers (``concord host fence HOST``), so that the ``libvirt``
fencer powers its guests off through the connection that reaches it: the guests HA then
restarts elsewhere leave their shut-off definitions on host-1, as a host that comes back
after a power loss would have them.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from unit.engine.cloud import Cloud
from unit.engine.ha.test_ha_recovery import (
    CONFIG,
    assert_counters_match_a_recount,
    host_uri,
    recover,
    running,
)

from engine.compute.service import ComputeService
from engine.drivers.specs import PowerState
from engine.errors import Conflict
from engine.ha import operator
from engine.ha.fenced import RELEASED_MESSAGE
from engine.ha.recovery import Recovery
from engine.ha.returning import check_no_open_item, prepare_return
from engine.inventory.models import Host, HostState
from engine.lifecycle import Action, State


def stopped(cloud: Cloud, name: str, **kwargs: object) -> str:
    compute_id = running(cloud, name, **kwargs)
    with cloud.database.transaction() as session:
        ComputeService(session).perform(cloud.scopes["alice"], compute_id, Action.STOP)
    cloud.run_jobs()
    assert cloud.compute(compute_id).state == State.STOPPED
    return compute_id


def declare_and_recover(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        operator.open_item(session, "host-1", "declared down by a test")
    recover(cloud, Recovery(cloud.database, cloud.drivers, CONFIG, worker_id="ha-1"))


def allocated(cloud: Cloud, name: str) -> tuple[int, int]:
    host = cloud.host(name)
    return host.allocated_vcpus, host.allocated_memory_mib


def test_a_stopped_ha_guest_is_released_from_its_failed_host_and_placed_when_it_starts(
    cloud: Cloud,
) -> None:
    parked = stopped(cloud, "parked", ha_enabled=True)
    plain = stopped(cloud, "plain", ha_enabled=False)
    before = allocated(cloud, "host-1")
    declare_and_recover(cloud)

    compute = cloud.compute(parked)
    assert (compute.state, compute.host_id) == (State.STOPPED, None)
    assert compute.last_host_id == cloud.ids["host-1"]
    assert compute.state_message == RELEASED_MESSAGE
    assert "compute.ha.released" in cloud.event_types(parked)
    # Its capacity left the dead host; the guest without HA stays there, stopped.
    assert allocated(cloud, "host-1") == (before[0] - 1, before[1] - 256)
    assert (cloud.compute(plain).state, cloud.compute(plain).host_id) == (
        State.STOPPED,
        cloud.ids["host-1"],
    )
    assert_counters_match_a_recount(cloud.database)

    # Its owner starts it: it is placed on a host that is up, and runs there.
    with cloud.database.transaction() as session:
        ComputeService(session).perform(cloud.scopes["alice"], parked, Action.START)
    cloud.run_jobs()
    compute = cloud.compute(parked)
    assert compute.state == State.RUNNING
    assert compute.host_id in (cloud.ids["host-2"], cloud.ids["host-3"])
    assert cloud.drivers(host_uri(cloud, compute.host_id)).guest_state(compute.guest_id) is (
        PowerState.RUNNING
    )
    assert_counters_match_a_recount(cloud.database)


def test_a_returning_host_loses_the_stale_definitions_and_keeps_the_live_copies(
    cloud: Cloud,
) -> None:
    moved = running(cloud, "moved", ha_enabled=True)
    twin = running(cloud, "twin", ha_enabled=True)
    parked = stopped(cloud, "parked", ha_enabled=True)
    plain = stopped(cloud, "plain", ha_enabled=False)
    old = cloud.drivers(cloud.host("host-1").uri)
    # Enabling the host is refused while HA works on it.
    with cloud.database.transaction() as session:
        operator.open_item(session, "host-1", "declared down by a test")
    with cloud.database.transaction() as session:
        host = session.get(Host, cloud.ids["host-1"])
        assert host is not None
        with pytest.raises(Conflict, match="being handled by HA"):
            check_no_open_item(session, host)
        with pytest.raises(Conflict, match="being handled by HA"):
            prepare_return(session, old, host)
    recover(cloud, Recovery(cloud.database, cloud.drivers, CONFIG, worker_id="ha-1"))
    for compute_id in (moved, twin):
        assert cloud.compute(compute_id).host_id != cloud.ids["host-1"]
        assert cloud.compute(compute_id).state == State.RUNNING
    assert cloud.host("host-1").state is HostState.DOWN
    # What the dead host kept: every definition, shut off by the fence.
    guests = {cloud.guest(c): c for c in (moved, twin, parked, plain)}
    assert set(old.list_guests()) == set(guests)
    assert set(old.list_guests().values()) == {PowerState.SHUTOFF}
    # Something started one copy again behind Concord's back: it is never touched.
    old.start(cloud.guest(twin))

    with cloud.database.transaction() as session:
        host = session.get(Host, cloud.ids["host-1"])
        assert host is not None
        back = prepare_return(session, old, host)
    assert sorted(back.removed) == sorted([cloud.guest(moved), cloud.guest(parked)])
    assert [guest for guest, _why in back.left] == [cloud.guest(twin)]
    assert "running here, while its compute is elsewhere" in back.left[0][1]
    assert old.list_guests() == {
        cloud.guest(twin): PowerState.RUNNING,
        cloud.guest(plain): PowerState.SHUTOFF,  # its compute is still placed here
    }
    # The restarted copy runs on, where its compute is.
    copy = cloud.compute(moved)
    assert cloud.drivers(host_uri(cloud, copy.host_id)).guest_state(copy.guest_id) is (
        PowerState.RUNNING
    )
    with cloud.database.transaction() as session:
        events = session.execute(
            sa.text("SELECT count(*) FROM events WHERE type = 'host.stale_guest_removed'")
        ).scalar()
    assert events == 2
