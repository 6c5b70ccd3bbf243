"""Bursts of creations through two API processes on MariaDB: quota and capacity hold exactly.

Two ``concord serve`` processes and two ``concord worker`` processes share one MariaDB
database. Two zones each have three simulated hosts (libvirt ``test:///`` URIs) that
together fit exactly 120 one-vCPU guests after over-provisioning. Placement and quota are
decided in the request's transaction, so what the bursts prove is what the API answers:

* 200 concurrent creations by a tenant whose limit is 50 instances, half in OCCI text/plain
  and half in CIMI JSON, spread over both API processes: exactly 50 succeed and the other
  150 are refused with the quota error in the rendering each client asked for;
* 200 concurrent creations by a tenant with no limit into the second zone: exactly 120 are
  placed and the other 80 are refused with the capacity error, each in its own rendering;
* afterwards every usage counter and every host's allocation equals a recount of the rows.

The workers run the creation jobs meanwhile on their own simulated hosts: the counters are
checked once every job has ended, whatever became of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from integration.processes import (
    ManagedProcess,
    ProcessGroup,
    Reply,
    basic_auth,
    http,
    private_mariadb,
    run_cli,
    wait_until,
)

from engine.compute.models import Compute
from engine.db import Database
from engine.drivers.libvirt import write_test_host
from engine.inventory.models import Host
from engine.jobs.models import Job
from engine.tenancy.models import Account, LimitOwner, ResourceType
from engine.tenancy.quota_models import ResourceCount

pytestmark = pytest.mark.integration

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
RESOURCE_TPL_SCHEME = "http://schemas.concord.invalid/occi/resource_tpl#"
CIMI_JSON = "application/json"
CREATIONS = 200
QUOTA = 50
#: 3 hosts x 10 cores x CPU over-provisioning 4 = 120 one-vCPU guests per zone.
FITS = 120

LIMITED = ("alice", "alice-password-1")
UNLIMITED = ("bob", "bob-password-1")


@dataclass
class Burst:
    """The deployment the bursts go through."""

    group: ProcessGroup
    database: Database
    servers: list[ManagedProcess]
    offering_id: str


@pytest.fixture(scope="module")
def mariadb_url() -> Iterator[str]:
    """A private database on the MariaDB server, dropped afterwards (or a skip with the reason)."""
    with private_mariadb("concord_burst") as url:
        yield url


def _provision(group: ProcessGroup, hosts_dir: Path) -> str:
    """Two zones of three 10-core hosts, two tenants (one limited to 50), a 1-vCPU offering."""
    env = group.env()
    for account, (username, password) in (("tenant-a", LIMITED), ("tenant-b", UNLIMITED)):
        run_cli(env, "account", "create", account)
        run_cli(env, "user", "create", username, "--account", account, "--password-stdin",
                stdin=password + "\n")  # fmt: skip
    # The limit that binds is the first tenant's instances; nothing else may bind first.
    for account in ("tenant-a", "tenant-b"):
        for resource in ("instances", "cpu", "memory"):
            run_cli(env, "limit", "set", "account", account, resource, "-1")
    run_cli(env, "limit", "set", "account", "tenant-a", "instances", str(QUOTA))
    for zone in ("z1", "z2"):
        run_cli(env, "zone", "create", zone)
        run_cli(env, "pod", "create", f"{zone}-p", "--zone", zone)
        run_cli(env, "cluster", "create", f"{zone}-c", "--pod", f"{zone}-p", "--zone", zone,
                "--cpu-overprovisioning", "4")  # fmt: skip
        for index in range(3):
            name = f"{zone}-h{index}"
            uri = write_test_host(
                hosts_dir / f"{name}.xml",
                hostname=name,
                cpu_cores=10,
                cpu_mhz=2000,
                memory_mib=16384,
                pools=[("local", 100, f"/srv/{name}")],
            )
            run_cli(env, "host", "add", uri, "--cluster", f"{zone}-c", "--zone", zone,
                    "--pod", f"{zone}-p", "--name", name)  # fmt: skip
    # An image without a location boots to firmware: no root disk to copy.
    run_cli(env, "template", "create", "firmware", "--public")
    out = run_cli(env, "offering", "create", "compute", "one", "--vcpus", "1", "--memory-mib", "64")
    found = re.search(r"\(([0-9a-f-]{36})\)", out)
    assert found, out
    return found.group(1)


@pytest.fixture(scope="module")
def burst(mariadb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Burst]:
    base = tmp_path_factory.mktemp("burst")
    group = ProcessGroup(base, mariadb_url)
    database = Database(mariadb_url)
    try:
        with group.explain_failure():
            env = group.env()
            run_cli(env, "db", "upgrade")
            run_cli(env, "init")
            servers = [group.start_server(name, threads=8) for name in ("api-a", "api-b")]
            workers = [group.start_worker(name) for name in ("worker-1", "worker-2")]
            hosts_dir = base / "hosts"
            hosts_dir.mkdir()
            offering_id = _provision(group, hosts_dir)
            for server in servers:
                group.wait_healthy(server)
            for worker in workers:
                group.wait_ready(worker)
        yield Burst(group, database, servers, offering_id)
    finally:
        leftovers = group.stop_all()
        database.dispose()
        assert not leftovers, f"processes still running after stop_all: {leftovers}"


def _occi_create(
    server: ManagedProcess, user: tuple[str, str], title: str, offering_id: str
) -> Reply:
    body = (
        f'Category: compute; scheme="{INFRA}"; class="kind"\n'
        f'Category: {offering_id}; scheme="{RESOURCE_TPL_SCHEME}"; class="mixin"\n'
        f'X-OCCI-Attribute: occi.core.title="{title}"\n'
    )
    headers = {**basic_auth(*user), "Accept": "text/plain", "Content-Type": "text/plain"}
    return http("POST", server.url + "/compute/", headers=headers, body=body, timeout=60)


def _cimi_create(
    server: ManagedProcess, user: tuple[str, str], name: str, hrefs: tuple[str, str]
) -> Reply:
    body = json.dumps(
        {
            "resourceURI": "http://schemas.dmtf.org/cimi/2/MachineCreate",
            "name": name,
            "machineTemplate": {
                "machineConfig": {"href": hrefs[0]},
                "machineImage": {"href": hrefs[1]},
            },
        }
    )
    headers = {**basic_auth(*user), "Accept": CIMI_JSON, "Content-Type": CIMI_JSON}
    return http("POST", server.url + "/cimi/machines", headers=headers, body=body, timeout=60)


def _href(server: ManagedProcess, user: tuple[str, str], collection: str, name: str) -> str:
    """The href of the entry called ``name`` in a CIMI collection."""
    reply = http(
        "GET",
        f"{server.url}/cimi/{collection}",
        headers={**basic_auth(*user), "Accept": CIMI_JSON},
    )
    assert reply.status == 200, reply.text
    value = json.loads(reply.text)
    (entries,) = [v for k, v in value.items() if isinstance(v, list) and k != "operations"]
    return next(str(e["id"]) for e in entries if e["name"] == name)


def _fire(burst: Burst, user: tuple[str, str]) -> list[tuple[str, Reply]]:
    """CREATIONS creations at once, alternating OCCI and CIMI and the two API processes."""
    # CIMI hrefs are absolute: each API process is given its own.
    hrefs = {
        server.name: (
            _href(server, user, "machineConfigs", "one"),
            _href(server, user, "machineImages", "firmware"),
        )
        for server in burst.servers
    }

    def one(index: int) -> tuple[str, Reply]:
        server = burst.servers[index % 2]
        if index % 4 < 2:
            return "occi", _occi_create(server, user, f"vm-{index}", burst.offering_id)
        return "cimi", _cimi_create(server, user, f"vm-{index}", hrefs[server.name])

    with ThreadPoolExecutor(max_workers=24) as pool:
        return list(pool.map(one, range(CREATIONS)))


def _refused_in_its_rendering(rendering: str, reply: Reply, status: int, word: str) -> None:
    assert reply.status == status, (rendering, reply.status, reply.text)
    content_type = reply.headers.get("content-type", "")
    if rendering == "occi":
        assert content_type.startswith("text/plain"), content_type
    else:
        assert content_type.startswith(CIMI_JSON), content_type
        assert json.loads(reply.text)["code"] == status
    assert word in reply.text.lower(), reply.text


def _wait_for_jobs(burst: Burst) -> None:
    def ended() -> bool:
        with burst.database.transaction() as session:
            pending = session.scalar(
                sa.select(sa.func.count()).select_from(Job).where(Job.finished.is_(None))
            )
        return pending == 0

    wait_until(ended, 180, "every creation job to end", burst.group.logs)


def _assert_counters_match_a_recount(burst: Burst) -> None:
    with burst.database.transaction() as session:
        for account in session.scalars(sa.select(Account)):
            held = session.scalar(
                sa.select(sa.func.count())
                .select_from(Compute)
                .where(Compute.account_id == account.id, Compute.quota_held.is_(True))
            )
            counted = session.scalar(
                sa.select(ResourceCount.used).where(
                    ResourceCount.owner_kind == LimitOwner.ACCOUNT,
                    ResourceCount.owner_id == account.id,
                    ResourceCount.resource_type == ResourceType.INSTANCES,
                )
            )
            assert (counted or 0) == held, account.name
        for host in session.scalars(sa.select(Host)):
            vcpus, memory = session.execute(
                sa.select(
                    sa.func.coalesce(sa.func.sum(Compute.vcpus), 0),
                    sa.func.coalesce(sa.func.sum(Compute.memory_mib), 0),
                ).where(Compute.host_id == host.id)
            ).one()
            assert (host.allocated_vcpus, host.allocated_memory_mib) == (vcpus, memory), host.name
            assert host.allocated_vcpus <= 40, host.name  # 10 cores x 4


def test_a_burst_against_a_quota_places_exactly_the_quota(burst: Burst) -> None:
    with burst.group.explain_failure():
        answers = _fire(burst, LIMITED)
        created = [r for _, r in answers if r.status in (201, 202)]
        refusals = {(k, r.status, r.text[:160]) for k, r in answers if r.status not in (201, 202)}
        assert len(created) == QUOTA, sorted(refusals)
        for rendering, reply in answers:
            if reply.status not in (201, 202):
                _refused_in_its_rendering(rendering, reply, 403, "limit")
        _wait_for_jobs(burst)
        _assert_counters_match_a_recount(burst)


def test_a_burst_against_capacity_places_exactly_what_fits(burst: Burst) -> None:
    with burst.group.explain_failure():
        # The first zone holds the first tenant's guests: send this burst to the second.
        run_cli(burst.group.env(), "zone", "disable", "z1")
        answers = _fire(burst, UNLIMITED)
        created = [r for _, r in answers if r.status in (201, 202)]
        assert len(created) == FITS, sorted({r.status for _, r in answers})
        for rendering, reply in answers:
            if reply.status not in (201, 202):
                _refused_in_its_rendering(rendering, reply, 409, "host")
        _wait_for_jobs(burst)
        _assert_counters_match_a_recount(burst)
        with burst.database.transaction() as session:
            hosts = {h.name: h.allocated_vcpus for h in session.scalars(sa.select(Host))}
        assert sum(v for name, v in hosts.items() if name.startswith("z2")) == FITS
