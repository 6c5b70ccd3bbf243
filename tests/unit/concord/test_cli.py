"""The ``concord`` command line, run in-process on a fresh SQLite file, and the demo zone.

CLI tests call :func:`concord.cli.main.main` as the console script would, with
``CONCORD_DATABASE_URL`` pointing at a file under ``tmp_path``; hosts are
libvirt ``test:///`` node files written there too. The demo-zone tests run on
both back-ends through the ``database`` fixture.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import TEST_SERVER_KEY_FILE

from concord.cli.main import main
from concord.demo import (
    DEMO_HOST_MHZ,
    DEMO_HOSTS,
    demo_var_dir,
    describe_capacity,
    describe_zone,
    provision_demo_networks,
    provision_demo_tenant,
    provision_demo_zone,
)
from engine.catalog.models import ComputeOffering, DiskOffering, Image, NetworkOffering
from engine.db import Database, utcnow
from engine.drivers.libvirt import ConnectionPool, LibvirtDriver, default_pool, write_test_host
from engine.inventory.models import Cluster, Host, ImageStore, StoragePool, Zone
from engine.network.defaults import DefaultNetworks
from engine.network.models import Network
from engine.network.service import NetworkService
from engine.scope import Role, Scope
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import Account, Domain, User
from engine.tenancy.server_keys import ServerKeys

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Run]:
    """Run ``concord ARGS...``; returns (exit status, stdout, stderr). ``init`` has run."""
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{tmp_path / 'concord.sqlite'}")
    monkeypatch.setenv("CONCORD_PASSWORD_TIME_COST", "1")
    monkeypatch.setenv("CONCORD_PASSWORD_MEMORY_KIB", "1024")
    monkeypatch.setenv("CONCORD_SERVER_KEY_FILE", TEST_SERVER_KEY_FILE)
    opened: list[str] = []

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main(list(argv))
        out, err = capsys.readouterr()
        opened.extend(a for a in argv if a.startswith("test://"))
        return status, out, err

    status, out, _err = run("init")
    assert status == 0 and "created ROOT and administrator 'admin'" in out
    yield run
    for uri in opened:  # the CLI uses the process-wide pool: end its simulated hosts
        default_pool().close(uri)


def _host(
    tmp_path: Path, name: str, cores: int = 8, memory_mib: int = 16384, shared: bool = False
) -> str:
    pools = [("local", 200, f"/srv/{name}")] + ([("nfs", 500, "/srv/nfs")] if shared else [])
    return write_test_host(
        tmp_path / f"{name}.xml",
        hostname=name,
        cpu_cores=cores,
        cpu_mhz=2000,
        memory_mib=memory_mib,
        pools=pools,
    )


def _ok(run: Run, *argv: str) -> str:
    status, out, err = run(*argv)
    assert (status, err) == (0, ""), err
    return out


def _fails(run: Run, *argv: str, progress: str = "") -> str:
    """Run a failing command: exit status 1, one error line; stdout only shows progress."""
    status, out, err = run(*argv)
    assert status == 1 and out == progress
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("concord: error: ")
    return lines[0]


def test_shared_pools(run: Run, tmp_path: Path) -> None:
    _ok(run, "zone", "create", "z1")
    _ok(run, "pod", "create", "p1", "--zone", "z1")
    _ok(run, "cluster", "create", "c1", "--pod", "p1", "--zone", "z1")
    for name in ("n1", "n2"):
        _ok(run, "host", "add", _host(tmp_path, name, shared=True), "--cluster", "c1")
    out = _ok(run, "pool", "share", "nfs", "--cluster", "c1", "--tag", "fast")
    assert out.startswith("pool c1/nfs is shared by cluster c1 (")
    table = _ok(run, "pool", "list").splitlines()
    assert table[0].split() == [
        "NAME",
        "CLUSTER",
        "HOST",
        "LIBVIRT_POOL",
        "ALLOCATION",
        "USED_GIB",
        "TAGS",
    ]
    rows = sorted(line.split()[:4] for line in table[1:])
    assert rows == [
        ["c1/nfs", "c1", "(shared)", "nfs"],
        ["n1/local", "c1", "n1", "local"],
        ["n2/local", "c1", "n2", "local"],
    ]
    assert "already shares pool 'nfs'" in _fails(run, "pool", "share", "nfs", "--cluster", "c1")
    assert "no active libvirt pool 'gone'" in _fails(
        run, "pool", "share", "gone", "--cluster", "c1"
    )


def test_zone_pod_cluster_and_hosts(run: Run, tmp_path: Path) -> None:
    assert _ok(run, "zone", "create", "z1", "--description", "first").startswith("created zone z1")
    assert "created pod p1 in zone z1" in _ok(run, "pod", "create", "p1", "--zone", "z1")
    out = _ok(
        run,
        "cluster",
        "create",
        "c1",
        "--pod",
        "p1",
        "--zone",
        "z1",
        "--cpu-overprovisioning",
        "4",
        "--memory-overprovisioning",
        "1.5",
    )
    assert out.startswith("created cluster c1 in pod p1")
    zones = _ok(run, "zone", "list")
    assert zones.splitlines()[0].split() == ["NAME", "ALLOCATION", "ALLOCATOR", "DESCRIPTION", "ID"]
    assert "z1" in zones and "enabled" in zones and "first" in zones
    assert "p1" in _ok(run, "pod", "list")
    clusters = _ok(run, "cluster", "list")
    assert "4.0" in clusters and "1.5" in clusters

    uri = _host(tmp_path, "node-1", cores=8, memory_mib=16384)
    added = _ok(run, "host", "add", uri, "--cluster", "c1", "--tag", "ssd")
    lines = added.splitlines()
    assert lines[0] == f"connecting to {uri}"
    assert "8 cores at 2000 MHz, 16384 MiB" in lines[1]
    assert lines[2].startswith("storage pool local:")
    assert lines[-1] == "host node-1 is up"
    _ok(
        run,
        "host",
        "add",
        _host(tmp_path, "node-2", cores=4, memory_mib=8192),
        "--cluster",
        "c1",
        "--zone",
        "z1",
        "--pod",
        "p1",
        "--name",
        "second",
    )
    table = _ok(run, "host", "list").splitlines()
    assert table[0].split()[:7] == [
        "NAME",
        "CLUSTER",
        "STATE",
        "ALLOCATION",
        "VCPUS",
        "MEMORY_MIB",
        "STORAGE_GIB",
    ]
    node1 = next(line.split() for line in table if line.startswith("node-1"))
    assert node1[:7] == ["node-1", "c1", "up", "enabled", "0/32", "0/24576", "0/200"]
    assert node1[7] == "ssd"
    assert any(line.startswith("second") and "0/16" in line for line in table)
    assert len(_ok(run, "host", "list", "--zone", "z1").splitlines()) == 3

    assert "in maintenance" in _ok(run, "host", "maintenance", "node-1")
    assert "maintenance" in next(
        ln for ln in _ok(run, "host", "list").splitlines() if ln.startswith("node-1")
    )
    assert "is up and enabled" in _ok(run, "host", "enable", "node-1")
    assert "takes no new guests" in _ok(run, "host", "disable", "second")
    assert "8 cores at 2000 MHz" in _ok(run, "host", "refresh", "node-1")
    assert _ok(run, "host", "remove", "second") == "removed host second\n"
    assert "second" not in _ok(run, "host", "list")
    assert "now disabled" in _ok(run, "zone", "disable", "z1")


def test_errors_are_one_line_and_exit_1(run: Run, tmp_path: Path) -> None:
    assert "no zone 'nowhere'" in _fails(run, "pod", "create", "p", "--zone", "nowhere")
    _ok(run, "zone", "create", "z1")
    assert "already exists" in _fails(run, "zone", "create", "z1")
    _ok(run, "pod", "create", "p1", "--zone", "z1")
    assert "greater than 0" in _fails(
        run, "cluster", "create", "c", "--pod", "p1", "--zone", "z1", "--cpu-overprovisioning", "0"
    )
    _ok(run, "cluster", "create", "c1", "--pod", "p1", "--zone", "z1")
    unreachable = "qemu+unix:///system?socket=/nonexistent/sock"
    assert "cannot be reached" in _fails(
        run,
        "host",
        "add",
        unreachable,
        "--cluster",
        "c1",
        progress=f"connecting to {unreachable}\n",
    )
    uri = _host(tmp_path, "h1")
    _ok(run, "host", "add", uri, "--cluster", "c1")
    assert "already registered" in _fails(run, "host", "add", uri, "--cluster", "c1")
    assert "--pod needs --zone" in _fails(run, "host", "add", uri, "--cluster", "c1", "--pod", "p1")
    assert "no host 'ghost'" in _fails(run, "host", "remove", "ghost")
    assert "vcpus" in _fails(
        run, "offering", "create", "compute", "x", "--vcpus", "0", "--memory-mib", "1"
    )
    assert "CIDR" in _fails(run, "offering", "create", "network", "n", "--cidr", "10.0.0.1/8")
    assert "no image 'ghost'" in _fails(run, "template", "delete", "ghost")


def test_templates_and_offerings(run: Run) -> None:
    _ok(run, "zone", "create", "z1")
    _ok(run, "domain", "create", "acme")
    _ok(run, "account", "create", "dev", "--domain", "ROOT/acme")
    out = _ok(
        run,
        "template",
        "create",
        "debian-12",
        "--os-type",
        "linux",
        "--min-disk-gib",
        "2",
        "--zone",
        "z1",
    )
    assert out.startswith("created template debian-12 (public,")
    out = _ok(run, "template", "create", "acme-base", "--public", "--domain", "ROOT/acme")
    assert "(domain ROOT/acme," in out
    out = _ok(run, "template", "create", "dev-image", "--account", "dev", "--domain", "ROOT/acme")
    assert "(account dev," in out
    templates = _ok(run, "template", "list")
    assert templates.splitlines()[0].split()[:4] == ["NAME", "VISIBILITY", "OS", "ARCH"]
    for expected in ("debian-12", "acme-base", "dev-image", "domain ROOT/acme", "account dev"):
        assert expected in templates
    assert "already exists" in _fails(run, "template", "create", "debian-12")

    assert "created compute offering small" in _ok(
        run, "offering", "create", "compute", "small", "--vcpus", "1", "--memory-mib", "512"
    )
    _ok(
        run,
        "offering",
        "create",
        "compute",
        "ha-large",
        "--vcpus",
        "4",
        "--memory-mib",
        "8192",
        "--root-disk-gib",
        "20",
        "--ha",
        "--host-tag",
        "ssd",
    )
    _ok(run, "offering", "create", "disk", "10GiB", "--size-gib", "10")
    _ok(run, "offering", "create", "disk", "custom")
    _ok(run, "offering", "create", "network", "isolated", "--cidr", "10.2.0.0/24")
    _ok(
        run,
        "offering",
        "create",
        "compute",
        "acme-only",
        "--vcpus",
        "2",
        "--memory-mib",
        "1024",
        "--domain",
        "ROOT/acme",
    )
    offerings = _ok(run, "offering", "list")
    for expected in (
        "1 vCPU, 512 MiB",
        "4 vCPU, 8192 MiB, 20 GiB root, HA",
        "10 GiB",
        "custom size",
        "vlan, 10.2.0.0/24",
        "domain ROOT/acme",
    ):
        assert expected in offerings, expected
    assert _ok(run, "offering", "delete", "disk", "custom") == "deleted disk offering custom\n"
    assert "custom size" not in _ok(run, "offering", "list")
    assert _ok(run, "template", "delete", "dev-image") == "deleted template dev-image\n"


def test_the_demo_command_wiring(run: Run, tmp_path: Path) -> None:
    # What `serve --demo` does before serving, without binding a port.
    assert demo_var_dir(f"sqlite:///{tmp_path / 'concord.sqlite'}") == tmp_path
    assert demo_var_dir("mysql+pymysql://u@h/db") == Path("var").absolute()


# -- the demo zone, on both back-ends ------------------------------------------------


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    pool = ConnectionPool()
    yield pool
    pool.close_all()


def test_demo_zone_is_idempotent_and_sized_by_libvirt(
    database: Database, tmp_path: Path, pool: ConnectionPool
) -> None:
    def drivers(uri: str) -> LibvirtDriver:
        return LibvirtDriver(uri, pool)

    for _ in range(2):
        with database.transaction() as session:
            zone = provision_demo_zone(session, tmp_path, drivers)
            summary = describe_zone(session, zone)
            capacity = describe_capacity(session, zone)
    assert summary == (
        "zone demo-zone: 3 simulated libvirt hosts, 40 cores "
        "(160 vCPUs with over-provisioning), 160 GiB memory"
    )
    # Nothing allocated yet; storage: the pools' bytes x the default factor 2.0.
    assert capacity.startswith("0/160 vCPUs and 0/160 GiB memory allocated, ")
    assert capacity.endswith(" GiB storage free")
    with database.session() as session:

        def count(model: type) -> int:
            return session.scalar(sa.select(sa.func.count()).select_from(model))

        # A local pool per host, and the pool the cluster shares.
        assert [count(m) for m in (Zone, Cluster, Host, StoragePool, ImageStore)] == [1, 1, 3, 4, 1]
        assert [count(m) for m in (Image, ComputeOffering, DiskOffering, NetworkOffering)] == [
            2,
            3,
            3,
            1,
        ]
        cluster = session.scalar(sa.select(Cluster))
        assert cluster.name == "demo-cluster" and cluster.cpu_overprovisioning == 4.0
        hosts = session.scalars(sa.select(Host).order_by(Host.name)).all()
        for host, (name, cores, memory_mib) in zip(hosts, DEMO_HOSTS, strict=True):
            assert (host.name, host.cpu_cores, host.memory_mib) == (name, cores, memory_mib)
            assert host.cpu_mhz == DEMO_HOST_MHZ and host.hypervisor_type == "test"
            assert host.uri.startswith(f"test://{tmp_path}/demo-hosts/host")
            reported = {p.name: p for p in drivers(host.uri).list_pools()}
            [recorded] = session.scalars(
                sa.select(StoragePool).where(StoragePool.host_id == host.id)
            ).all()
            assert recorded.pool_name == "local"
            assert recorded.capacity_bytes == reported["local"].capacity_bytes
        [shared] = session.scalars(sa.select(StoragePool).where(StoragePool.host_id.is_(None)))
        assert (shared.pool_name, shared.cluster_id) == ("shared", cluster.id)
        assert shared.capacity_bytes == reported["shared"].capacity_bytes
        images = session.scalars(sa.select(Image)).all()
        assert all(
            i.is_public and i.location is None and i.properties == {"demo": "true"} for i in images
        )
        small = session.scalar(sa.select(ComputeOffering).where(ComputeOffering.name == "small"))
        assert (small.vcpus, small.memory_mib) == (1, 512)


def test_the_demo_tenant_has_a_private_default_and_a_public_network(
    database: Database, tmp_path: Path, pool: ConnectionPool, hasher
) -> None:
    def drivers(uri: str) -> LibvirtDriver:
        return LibvirtDriver(uri, pool)

    for _ in range(2):  # idempotent, as every start of `concord serve --demo` runs it
        with database.transaction() as session:
            provision_demo_tenant(session, hasher)
            zone = provision_demo_zone(session, tmp_path, drivers)
            provision_demo_networks(session, zone)
    with database.session() as session:
        user = session.scalar(sa.select(User).where(User.username == "demo"))
        networks = session.scalars(
            sa.select(Network).where(Network.account_id == user.account_id).order_by(Network.name)
        ).all()
        assert [(n.name, n.cidr, n.label) for n in networks] == [
            ("private", "10.1.0.0/24", "private"),
            ("public", "203.0.113.0/24", "public"),
        ]
        default = DefaultNetworks(session).of(user.account_id, zone.id)
        assert default is not None and default.name == "private"


def test_allocators_are_listed_and_chosen_per_zone_and_offering(run: Run, tmp_path: Path) -> None:
    _ok(run, "zone", "create", "z1")
    listing = _ok(run, "allocator", "list").splitlines()
    assert listing[0].split() == ["NAME", "SOURCE", "ZONES"]
    names = [line.split()[0] for line in listing[1:]]
    assert names[:6] == [
        "first_fit",
        "fill_first",
        "disperse",
        "user_dispersing",
        "random",
        "os_preference",
    ]
    assert listing[1].split()[1:] == ["built-in", "z1"]  # zones default to first fit
    assert (
        _ok(run, "allocator", "zone", "z1", "disperse") == "zone z1 places guests with disperse\n"
    )
    assert "disperse" in _ok(run, "zone", "list")
    assert "unknown allocator 'best_fit'" in _fails(run, "allocator", "zone", "z1", "best_fit")
    _ok(run, "offering", "create", "compute", "small", "--vcpus", "1", "--memory-mib", "512")
    out = _ok(run, "allocator", "offering", "small", "fill_first")
    assert out == "guests of offering small are placed with fill_first\n"
    out = _ok(run, "allocator", "offering", "small", "default")
    assert out == "guests of offering small are placed with the zone's allocator\n"
    database = Database(f"sqlite:///{tmp_path / 'concord.sqlite'}")
    with database.session() as session:
        zone = session.scalar(sa.select(Zone).where(Zone.name == "z1"))
        offering = session.scalar(sa.select(ComputeOffering).where(ComputeOffering.name == "small"))
        assert zone is not None and zone.allocator == "disperse"
        assert offering is not None and offering.allocator is None
    database.dispose()


def test_thresholds_dedications_and_placement_explained(run: Run, tmp_path: Path) -> None:
    _ok(run, "zone", "create", "z1")
    _ok(run, "pod", "create", "p1", "--zone", "z1")
    _ok(run, "cluster", "create", "c1", "--pod", "p1", "--zone", "z1")
    _ok(run, "cluster", "create", "c2", "--pod", "p1", "--zone", "z1")
    _ok(run, "host", "add", _host(tmp_path, "node-1", cores=8), "--cluster", "c1", "--tag", "ssd")
    _ok(run, "host", "add", _host(tmp_path, "node-2", cores=4), "--cluster", "c2")
    out = _ok(run, "allocator", "threshold", "c1", "--cpu", "0.85")
    assert out == "cluster c1 takes no new guests or volumes with CPU above 85%\n"
    assert "share above 0 and at most 1" in _fails(
        run, "allocator", "threshold", "c1", "--memory", "2"
    )
    _ok(run, "domain", "create", "team")
    _ok(run, "account", "create", "alice", "--domain", "ROOT/team")
    out = _ok(
        run,
        "dedication",
        "add",
        "host",
        "node-2",
        "--account",
        "alice",
        "--account-domain",
        "ROOT/team",
    )
    assert out == "host node-2 is dedicated to account alice\n"
    assert "dedicated already" in _fails(
        run, "dedication", "add", "host", "node-2", "--domain", "ROOT/team"
    )
    listing = _ok(run, "dedication", "list").splitlines()
    assert listing[0].split() == ["LEVEL", "TARGET", "DEDICATED_TO"]
    assert listing[1].split() == ["host", "node-2", "account", "alice"]

    def verdicts(*extra: str) -> dict[str, str]:
        table = _ok(run, "host", "list", "--explain", *extra).splitlines()
        assert table[0].split()[4] == "PLACEMENT"
        start = table[0].index("PLACEMENT")
        end = table[0].index("VCPUS")
        return {line.split()[0]: line[start:end].strip() for line in table[1:]}

    assert verdicts() == {"node-1": "ok", "node-2": "no: its host is dedicated to another owner"}
    assert verdicts("--account", "alice") == {"node-1": "ok", "node-2": "ok"}
    assert verdicts("--vcpus", "40", "--account", "alice") == {
        "node-1": "no: it has no room for the guest",
        "node-2": "no: it has no room for the guest",
    }
    assert verdicts("--tag", "ssd", "--account", "alice")["node-2"] == (
        "no: it lacks a host tag the offering requires"
    )
    _ok(run, "dedication", "remove", "host", "node-2")
    assert _ok(run, "dedication", "list").splitlines()[1:] == []


def test_capacity_report_as_table_and_json(run: Run, tmp_path: Path) -> None:
    _ok(run, "zone", "create", "z1")
    _ok(run, "pod", "create", "p1", "--zone", "z1")
    _ok(
        run, "cluster", "create", "c1", "--pod", "p1", "--zone", "z1", "--cpu-overprovisioning", "4"
    )
    _ok(run, "host", "add", _host(tmp_path, "node-1", cores=8), "--cluster", "c1")
    table = _ok(run, "capacity").splitlines()
    assert table[0].split() == [
        "LEVEL",
        "PATH",
        "VCPUS",
        "MEMORY_MIB",
        "STORAGE_GIB",
        "HA_RESERVED",
    ]
    assert table[1].startswith("zone") and "0/32 (used 0, free 32)" in table[1]
    report = json.loads(_ok(run, "capacity", "--zone", "z1", "--format", "json"))
    assert [r["path"] for r in report] == [
        "z1",
        "z1/p1",
        "z1/p1/c1",
        "z1/p1/c1/node-1",
        "z1/p1/c1/node-1/local",
    ]
    assert report[3]["memory_mib"]["limit"] == 16384
    assert report[4]["storage_bytes"]["limit"] == 200 * 1024**3  # 100 GiB x 2.0


def test_notification_thresholds_set_listed_checked_and_removed(run: Run, tmp_path: Path) -> None:
    _ok(run, "zone", "create", "z1")
    _ok(run, "pod", "create", "p1", "--zone", "z1")
    _ok(run, "cluster", "create", "c1", "--pod", "p1", "--zone", "z1")
    _ok(run, "host", "add", _host(tmp_path, "node-1", cores=8), "--cluster", "c1")
    out = _ok(run, "threshold", "set", "host", "node-1", "cpu", "allocated", "0.5")
    assert out == "host node-1: alert when allocated cpu is above 50% of its limit\n"
    _ok(run, "threshold", "set", "pool", "node-1/local", "storage", "allocated", "0.9")
    assert "no cluster 'nope'" in _fails(
        run, "threshold", "set", "cluster", "nope", "cpu", "used", "0.5"
    )
    assert "share above 0 and at most 1" in _fails(
        run, "threshold", "set", "zone", "z1", "memory", "used", "1.5"
    )
    assert (
        _ok(run, "threshold", "check") == "0 threshold(s) crossed; 0 alert(s) raised, 0 cleared\n"
    )
    database = Database(os.environ["CONCORD_DATABASE_URL"])
    with database.transaction() as session:
        session.execute(sa.update(Host).values(allocated_vcpus=6))
    database.dispose()
    listing = _ok(run, "threshold", "list").splitlines()
    assert listing[0].split() == [
        "LEVEL",
        "TARGET",
        "RESOURCE",
        "MEASURE",
        "THRESHOLD",
        "NOW",
        "ALERT",
    ]
    assert listing[1].split() == [
        "host",
        "z1/p1/c1/node-1",
        "cpu",
        "allocated",
        "50%",
        "75%",
        "yes",
    ]
    assert listing[2].split()[:6] == [
        "pool",
        "z1/p1/c1/node-1/local",
        "storage",
        "allocated",
        "90%",
        "0%",
    ]
    out = _ok(run, "threshold", "check").splitlines()
    assert out[0] == "1 threshold(s) crossed; 1 alert(s) raised, 0 cleared"
    assert out[1].strip().startswith("capacity:host:") and out[1].endswith(":cpu:allocated")
    alerts = json.loads(_ok(run, "alert", "list", "--format", "json"))
    assert [a["source"] for a in alerts] == ["capacity"]
    assert "75%" in alerts[0]["message"]
    _ok(run, "threshold", "remove", "host", "node-1", "cpu", "allocated")
    assert _ok(run, "threshold", "check").splitlines()[0] == (
        "0 threshold(s) crossed; 0 alert(s) raised, 1 cleared"
    )
    assert _ok(run, "alert", "list").splitlines() == ["(none)"]
    assert "no such notification threshold" in _fails(
        run, "threshold", "remove", "host", "node-1", "cpu", "allocated"
    )


def test_server_key_rotation(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "server.key"  # a copy: the rotation rewrites it
    shutil.copy(TEST_SERVER_KEY_FILE, key_file)
    monkeypatch.setenv("CONCORD_SERVER_KEY_FILE", str(key_file))
    lines = _ok(run, "apikey", "create", "admin").splitlines()
    access_key = lines[0].split()[-1]
    secret = lines[1].split()[1]
    before = key_file.read_text().split()

    out = _ok(run, "serverkey", "rotate")
    assert "re-encrypted 1 API key secret(s) under the new key" in out
    after = key_file.read_text().split()
    assert len(after) == 2 and after[1:] == before  # the old key kept, after the new one
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    def secret_with(*keys: str) -> str:
        database = Database(os.environ["CONCORD_DATABASE_URL"])
        try:
            with database.session() as session:
                credentials = CredentialService(session, server_keys=ServerKeys(list(keys)))
                return credentials.key_for_signature(access_key, utcnow())[0]
        finally:
            database.dispose()

    # Re-encrypted under the new key: the old one can be deleted from the file.
    assert secret_with(after[0]) == secret
    key_file.write_text(f"{after[0]}\n")
    assert "re-encrypted 1 API key secret(s)" in _ok(run, "serverkey", "reencrypt")
    assert secret_with(after[0]) == secret
    # Without the key the secret was encrypted with, nothing is changed.
    key_file.write_text(f"{ServerKeys.generate()}\n")
    assert "decrypt with none of the configured server keys" in _fails(
        run, "serverkey", "reencrypt"
    )
    assert secret_with(after[0]) == secret
    generated = _ok(run, "serverkey", "generate").strip()
    assert ServerKeys([generated]).unseal(ServerKeys([generated]).seal("x")) == "x"


def test_alerts_are_listed_while_active_and_kept_as_history(run: Run) -> None:
    from engine.events.alerts import AlertSubject, clear_alert, raise_alert

    assert _ok(run, "alert", "list").splitlines() == ["(none)"]
    database = Database(os.environ["CONCORD_DATABASE_URL"])
    with database.transaction() as session:
        for cluster in ("c1", "c2"):
            raise_alert(
                session,
                key=f"capacity:cluster:{cluster}:cpu",
                source="capacity",
                subject=AlertSubject("cluster", cluster),
                message=f"{cluster} CPU allocated 91% >= 90%",
            )
        clear_alert(session, key="capacity:cluster:c2:cpu")
    database.dispose()
    active = json.loads(_ok(run, "alert", "list", "--format", "json"))
    assert [(a["key"], a["subject"], a["cleared"]) for a in active] == [
        ("capacity:cluster:c1:cpu", "cluster c1", "")
    ]
    table = _ok(run, "alert", "list", "--all").splitlines()
    assert table[0].split() == ["KEY", "SEVERITY", "SUBJECT", "RAISED", "CLEARED", "MESSAGE"]
    assert [line.split()[0] for line in table[1:]] == [
        "capacity:cluster:c2:cpu",
        "capacity:cluster:c1:cpu",
    ]
    assert _ok(run, "alert", "list", "--source", "ha").splitlines() == ["(none)"]


def test_federation_issuers_and_mapping(run: Run, tmp_path: Path) -> None:
    _ok(run, "federation", "issuer", "add", "aai", "https://aai.example/oidc", "--audience", "site")
    assert "already trusted" in _fails(
        run, "federation", "issuer", "add", "aai", "https://x.example", "--audience", "site"
    )
    table = _ok(run, "federation", "issuer", "list").splitlines()
    assert table[0].split() == ["NAME", "URL", "AUDIENCE", "JWKS_URI"]
    assert table[1].split() == ["aai", "https://aai.example/oidc", "site", "(discovered)"]
    rules = {
        "rules": [{"remote": [{"claim": "sub"}], "local": {"domain": "ROOT", "account": "guests"}}]
    }
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    assert _ok(run, "federation", "mapping", "set", str(tmp_path / "rules.json")) == (
        "mapping set: 1 rule(s)\n"
    )
    (tmp_path / "bad.json").write_text('{"rules": [{"remote": [{"claim": "sub"}], "local": {}}]}')
    assert "mapping rule 1" in _fails(
        run, "federation", "mapping", "set", str(tmp_path / "bad.json")
    )
    (tmp_path / "notjson.json").write_text("{")
    assert "is not JSON" in _fails(
        run, "federation", "mapping", "set", str(tmp_path / "notjson.json")
    )
    assert json.loads(_ok(run, "federation", "mapping", "show")) == rules
    _ok(run, "federation", "issuer", "remove", "aai")
    assert _ok(run, "federation", "issuer", "list").splitlines() == ["(none)"]


def test_default_networks_are_set_listed_and_cleared(run: Run, tmp_path: Path) -> None:
    _ok(run, "zone", "create", "z1")
    _ok(run, "domain", "create", "team")
    _ok(run, "account", "create", "alice", "--domain", "ROOT/team")
    database = Database(f"sqlite:///{tmp_path / 'concord.sqlite'}")
    try:
        with database.transaction() as session:
            account = session.scalar(sa.select(Account).where(Account.name == "alice"))
            domain = session.get(Domain, account.domain_id)
            alice = Scope(None, "alice", account.id, domain.id, domain.path, Role.USER)
            network, _job = NetworkService(session).create_network(
                alice, name="lan", cidr="10.3.0.0/24"
            )
            network_id = network.id
    finally:
        database.dispose()
    assert _ok(run, "network", "default", "list") == "(none)\n"
    out = _ok(run, "network", "default", "set", network_id)
    assert out == f"network {network_id} is now account alice's default in zone z1\n"
    listing = _ok(run, "network", "default", "list").splitlines()
    assert listing[1].split() == ["alice", "z1", network_id, "lan", "10.3.0.0/24"]
    assert "no network" in _fails(run, "network", "default", "set", "no-such-network")
    assert "no longer" in _ok(run, "network", "default", "clear", network_id)
    assert "was no account's default" in _ok(run, "network", "default", "clear", network_id)


def test_groups_are_listed_shown_and_explain_names_their_rule(run: Run, tmp_path: Path) -> None:
    from engine.compute.models import Compute, GroupPolicy, PlacementGroup, PlacementGroupMember

    _ok(run, "zone", "create", "z1")
    _ok(run, "pod", "create", "p1", "--zone", "z1")
    _ok(run, "cluster", "create", "c1", "--pod", "p1", "--zone", "z1")
    _ok(run, "host", "add", _host(tmp_path, "node-1"), "--cluster", "c1")
    _ok(run, "host", "add", _host(tmp_path, "node-2"), "--cluster", "c1")
    _ok(run, "domain", "create", "team")
    _ok(run, "account", "create", "alice", "--domain", "ROOT/team")
    database = Database(f"sqlite:///{tmp_path / 'concord.sqlite'}")
    with database.transaction() as session:
        alice = session.scalars(sa.select(Account).where(Account.name == "alice")).one()
        zone = session.scalars(sa.select(Zone).where(Zone.name == "z1")).one()
        node = session.scalars(sa.select(Host).where(Host.name == "node-1")).one()
        for name, policy in (("web", GroupPolicy.ANTI_AFFINITY), ("db", GroupPolicy.AFFINITY)):
            group = PlacementGroup(
                owner_key=alice.id,
                account_id=alice.id,
                domain_id=alice.domain_id,
                name=name,
                policy=policy,
                placements=1,
            )
            compute = Compute(
                name=f"{name}-1",
                account_id=alice.id,
                domain_id=alice.domain_id,
                zone_id=zone.id,
                state="running",
                vcpus=1,
                memory_mib=64,
                host_id=node.id,
            )
            session.add_all([group, compute])
            session.flush()
            session.add(PlacementGroupMember(group_id=group.id, compute_id=compute.id))
    database.dispose()
    listing = _ok(run, "group", "list").splitlines()
    assert listing[0].split() == ["NAME", "POLICY", "ACCOUNT", "PROJECT", "MEMBERS", "HOSTS"]
    assert [line.split() for line in listing[1:]] == [
        ["db", "affinity", "alice", "-", "1", "node-1"],
        ["web", "anti-affinity", "alice", "-", "1", "node-1"],
    ]
    shown = _ok(run, "group", "show", "web", "--account", "alice").splitlines()
    assert shown[0] == "web: anti-affinity, account alice"
    assert [line.split() for line in shown[1:]] == [["MEMBER", "HOST"], ["web-1", "node-1"]]
    assert "no placement group 'api' in account 'alice'" in _fails(
        run, "group", "show", "api", "--account", "alice"
    )

    def verdicts(*extra: str) -> dict[str, str]:
        table = _ok(run, "host", "list", "--explain", "--account", "alice", *extra).splitlines()
        start, end = table[0].index("PLACEMENT"), table[0].index("VCPUS")
        return {line.split()[0]: line[start:end].strip() for line in table[1:]}

    assert verdicts("--group", "web") == {
        "node-1": "no: a guest of its anti-affinity group 'web' is on it already",
        "node-2": "ok",
    }
    assert verdicts("--group", "db") == {
        "node-1": "ok",
        "node-2": "no: the guests of its affinity group 'db' are on another host",
    }
    assert "--group needs --account" in _fails(run, "host", "list", "--explain", "--group", "web")
