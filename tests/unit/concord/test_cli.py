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
    describe_zone,
    provision_demo_zone,
)
from engine.catalog.models import ComputeOffering, DiskOffering, Image, NetworkOffering
from engine.db import Database, utcnow
from engine.drivers.libvirt import ConnectionPool, LibvirtDriver, default_pool, write_test_host
from engine.inventory.models import Cluster, Host, ImageStore, StoragePool, Zone
from engine.tenancy.credentials import CredentialService
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
    assert summary == (
        "zone demo-zone: 3 simulated libvirt hosts, 40 cores "
        "(160 vCPUs with over-provisioning), 160 GiB memory"
    )
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
