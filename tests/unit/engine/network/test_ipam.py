"""IP address management: the pure allocation rules (with Hypothesis) and the database side.

The database tests allocate through :meth:`NetworkService.attach_interface`,
the only way addresses are handed out, on SQLite and MariaDB; the
concurrency test runs several threads, each in its own transactions, against
one network and checks that no address (nor MAC, nor interface name) is
ever handed out twice.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from unit.engine.cloud import Cloud, build_cloud

from engine.compute.interfaces import InterfaceService
from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.db import Database
from engine.errors import CapacityUnavailable, Conflict, InvalidInput
from engine.jobs.models import Job
from engine.network.addressing import check_address, check_addresses, check_cidr, check_netmask
from engine.network.ipam import (
    IPAM,
    MAC_PREFIX,
    VNI_MAX,
    IPNetwork,
    check_mac,
    check_requested,
    default_gateway,
    first_free,
    first_free_vni,
    is_reserved,
    parse_network,
    random_mac,
    usable_range,
)
from engine.network.models import Network, NetworkInterface
from engine.network.service import NetworkService
from engine.tenancy.passwords import PasswordHasher

# -- pure rules -------------------------------------------------------------------------------


def test_ipv4_skips_network_gateway_and_broadcast() -> None:
    net = parse_network("192.168.7.0/29")
    gateway = default_gateway(net)
    assert str(gateway) == "192.168.7.1"
    taken: list[str] = []
    while True:
        try:
            taken.append(str(first_free(net, gateway, taken)))
        except CapacityUnavailable:
            break
    assert taken == [f"192.168.7.{i}" for i in range(2, 7)]


def test_ipv6_allocates_sequentially_from_the_first_host_address() -> None:
    net = parse_network("fd00:1::/125")
    gateway = ipaddress.ip_address("fd00:1::5")
    taken: list[str] = []
    with pytest.raises(CapacityUnavailable):
        while True:
            taken.append(str(first_free(net, gateway, taken)))
    # No broadcast in IPv6: the last address is handed out; the gateway is not.
    assert taken == ["fd00:1::1", "fd00:1::2", "fd00:1::3", "fd00:1::4", "fd00:1::6", "fd00:1::7"]


def test_lowest_free_address_fills_holes() -> None:
    net = parse_network("10.0.0.0/24")
    gateway = default_gateway(net)
    assert str(first_free(net, gateway, ["10.0.0.2", "10.0.0.4"])) == "10.0.0.3"
    # A huge range costs nothing more than its taken addresses.
    big = parse_network("fd00::/48")
    assert str(first_free(big, default_gateway(big), ["fd00::2"])) == "fd00::3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.1.5", "not inside"),
        ("fd00::5", "not inside"),
        ("10.0.0.0", "reserved"),
        ("10.0.0.255", "reserved"),
        ("10.0.0.1", "reserved"),
        ("nonsense", "invalid"),
        ("10.0.0.256", "invalid"),
    ],
)
def test_requested_addresses_are_checked(text: str, message: str) -> None:
    net = parse_network("10.0.0.0/24")
    with pytest.raises(InvalidInput, match=message) as caught:
        check_requested(net, default_gateway(net), text)
    assert caught.value.details["field"] == "ip_address"


def test_requested_address_is_normalised() -> None:
    net = parse_network("fd00::/64")
    assert str(check_requested(net, default_gateway(net), "FD00:0:0:0::0a")) == "fd00::a"


def test_usable_ranges_of_tiny_networks_are_empty() -> None:
    for cidr in ("10.0.0.0/31", "10.0.0.0/32", "fd00::/128"):
        first, last = usable_range(parse_network(cidr))
        assert first > last
        with pytest.raises(InvalidInput):
            default_gateway(parse_network(cidr))


def test_macs_are_local_unicast_under_the_qemu_prefix() -> None:
    macs = {random_mac() for _ in range(200)}
    assert len(macs) > 190
    for mac in macs:
        assert mac.startswith(MAC_PREFIX + ":") and check_mac(mac) == mac
        first = int(mac[:2], 16)
        assert first & 0b10 and not first & 0b01  # locally administered, unicast
    assert random_mac(lambda n: bytes([0xAB] * n)) == "52:54:00:ab:ab:ab"


@pytest.mark.parametrize(
    "mac",
    [
        "01:00:5e:00:00:01",
        "ff:ff:ff:ff:ff:ff",
        "00:00:00:00:00:00",
        "52:54:00:00:00",
        "52-54-00-00-00-01",
        "",
        "zz:54:00:00:00:01",
    ],
)
def test_bad_macs_are_refused(mac: str) -> None:
    with pytest.raises(InvalidInput):
        check_mac(mac)


@pytest.mark.parametrize(
    "text",
    ["999.1.1.1", "10.0.0.1/8", "10.0.0.1/8; rm", "10.0.0.1 ", "fe80::1%eth0", "fd00::1%x;rm",
     "", "1" * 100, None, 10],
)  # fmt: skip
def test_a_client_address_is_one_address_and_nothing_more(text: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_address(text, "ip")
    assert caught.value.details["field"] == "ip"
    assert "IPv4 or IPv6 address" in caught.value.message


def test_client_addresses_and_lists() -> None:
    assert str(check_address("10.1.0.5", "ip")) == "10.1.0.5"
    assert [str(a) for a in check_addresses("10.1.0.2, 2001:db8::53", "dns")] == [
        "10.1.0.2",
        "2001:db8::53",
    ]
    for bad in ("8.8.8.8, 999.1.1.1", "10.0.0.1/8; rm", "", ",", "8.8.8.8," * 17, None):
        with pytest.raises(InvalidInput, match="dns"):
            check_addresses(bad, "dns")


@pytest.mark.parametrize(
    ("text", "length"),
    [("255.255.255.0", 24), ("255.255.255.255", 32), ("0.0.0.0", 0), ("24", 24), ("/64", 64)],  # noqa: S104
)
def test_netmasks(text: str, length: int) -> None:
    assert check_netmask(text, "mask") == length


@pytest.mark.parametrize("text", ["255.0.255.0", "0.0.0.255", "129", "/x", "10.0.0.1/8; rm", ""])
def test_bad_netmasks(text: str) -> None:
    with pytest.raises(InvalidInput, match="mask"):
        check_netmask(text, "mask")


def test_a_client_range_has_no_host_bits() -> None:
    assert str(check_cidr("10.0.0.0/24")) == "10.0.0.0/24"
    assert str(check_cidr("fd00::/64")) == "fd00::/64"
    with pytest.raises(InvalidInput) as caught:
        check_cidr("10.0.0.1/24")
    assert "host bits" in caught.value.message and "10.0.0.0/24" in caught.value.message
    for bad in ("10.0.0.0", "nonsense", "10.0.0.0/24; rm", "fd00::%x/64", None):
        with pytest.raises(InvalidInput):
            check_cidr(bad)


def test_vni_allocation() -> None:
    assert first_free_vni([]) == 1
    assert first_free_vni([1, 2, 4]) == 3
    assert first_free_vni([VNI_MAX - 1]) == 1
    with pytest.raises(CapacityUnavailable):
        first_free_vni([1, 2, 3], maximum=3)


@st.composite
def small_networks(
    draw: st.DrawFn,
) -> tuple[IPNetwork, ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """A random IPv4 /24-/30 or IPv6 /120-/126 and a gateway inside it."""
    if draw(st.booleans()):
        prefix = draw(st.integers(24, 30))
        base = draw(st.integers(0, 2**32 - 1))
        net: IPNetwork = ipaddress.IPv4Network((base, prefix), strict=False)
    else:
        prefix = draw(st.integers(120, 126))
        base = draw(st.integers(0, 2**128 - 1))
        net = ipaddress.IPv6Network((base, prefix), strict=False)
    first, last = usable_range(net)
    gateway = net.network_address + (draw(st.integers(first, last)) - first + 1)
    return net, gateway


@settings(max_examples=60, deadline=None)
@given(small_networks())
def test_allocating_until_exhausted(
    case: tuple[IPNetwork, ipaddress.IPv4Address | ipaddress.IPv6Address],
) -> None:
    net, gateway = case
    taken: list[str] = []
    with pytest.raises(CapacityUnavailable):
        for _ in range(net.num_addresses + 1):
            taken.append(str(first_free(net, gateway, taken)))
    addresses = [ipaddress.ip_address(a) for a in taken]
    assert all(a.version == net.version for a in addresses)
    assert len(set(addresses)) == len(addresses)
    assert all(a in net and not is_reserved(net, gateway, a) for a in addresses)
    assert net.network_address not in addresses and gateway not in addresses
    if net.version == 4:
        assert net.broadcast_address not in addresses
    # Exhausted means every usable address but the gateway was handed out.
    first, last = usable_range(net)
    assert len(addresses) == last - first  # (last - first + 1) minus the gateway
    assert addresses == sorted(addresses)
    # A freed address is the next one handed out again.
    freed = taken.pop(len(taken) // 2)
    assert str(first_free(net, gateway, taken)) == freed


# -- the database side ------------------------------------------------------------------------


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def make_network(cloud: Cloud, cidr: str) -> str:
    with cloud.database.transaction() as session:
        network, _ = NetworkService(session).create_network(
            cloud.scopes["alice"], name="net", cidr=cidr
        )
        network_id = network.id
    cloud.run_jobs()
    return network_id


def make_computes(cloud: Cloud, count: int) -> list[str]:
    ids = []
    with cloud.database.transaction() as session:
        for index in range(count):
            compute, _ = ComputeService(session).create(
                cloud.scopes["alice"], name=f"vm{index}", vcpus=1, memory_mib=64, start=False
            )
            ids.append(compute.id)
    cloud.run_jobs()
    return ids


def nic_rows(cloud: Cloud) -> list[NetworkInterface]:
    with cloud.database.transaction() as session:
        return list(session.scalars(sa.select(NetworkInterface)))


def test_exhaustion_through_the_service(cloud: Cloud) -> None:
    network_id = make_network(cloud, "10.9.0.0/29")
    (compute_id,) = make_computes(cloud, 1)
    for _ in range(5):
        with cloud.database.transaction() as session:
            InterfaceService(session).attach_interface(
                cloud.scopes["alice"], compute_id=compute_id, network_id=network_id
            )
    with cloud.database.transaction() as session:
        jobs = session.scalar(sa.select(sa.func.count()).select_from(Job))
    with pytest.raises(CapacityUnavailable), cloud.database.transaction() as session:
        InterfaceService(session).attach_interface(
            cloud.scopes["alice"], compute_id=compute_id, network_id=network_id
        )
    rows = nic_rows(cloud)
    assert sorted(r.ip_address or "" for r in rows) == [f"10.9.0.{i}" for i in range(2, 7)]
    assert sorted(r.interface for r in rows) == [f"eth{i}" for i in range(5)]
    with cloud.database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == jobs
    # A requested address that is taken is a conflict; a reserved one is invalid.
    with pytest.raises(Conflict), cloud.database.transaction() as session:
        InterfaceService(session).attach_interface(
            cloud.scopes["alice"],
            compute_id=compute_id,
            network_id=network_id,
            ip_address="10.9.0.4",
        )
    with pytest.raises(InvalidInput), cloud.database.transaction() as session:
        InterfaceService(session).attach_interface(
            cloud.scopes["alice"],
            compute_id=compute_id,
            network_id=network_id,
            ip_address="10.9.0.7",
        )


def test_concurrent_allocation_never_duplicates(cloud: Cloud) -> None:
    network_id = make_network(cloud, "10.20.0.0/24")
    computes = make_computes(cloud, 3)
    threads, per_thread = 6, 5
    errors: list[BaseException] = []
    retried = [0]
    barrier = threading.Barrier(threads)

    def work(compute_id: str) -> None:
        barrier.wait()
        for _ in range(per_thread):
            for _attempt in range(10):
                try:
                    with cloud.database.transaction() as session:
                        InterfaceService(session).attach_interface(
                            cloud.scopes["alice"], compute_id=compute_id, network_id=network_id
                        )
                    break
                except sa.exc.OperationalError as exc:
                    # A deadlock victim (MariaDB 1213) rolls back and retries, as
                    # clients do; anything else is a failure.
                    if "1213" not in str(exc) and "locked" not in str(exc):
                        errors.append(exc)
                        return
                    retried[0] += 1
                except BaseException as exc:
                    errors.append(exc)
                    return

    workers = [
        threading.Thread(target=work, args=(computes[i % len(computes)],)) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert not errors, errors
    rows = nic_rows(cloud)
    assert len(rows) == threads * per_thread
    addresses = [r.ip_address for r in rows]
    assert len(set(addresses)) == len(addresses)
    # Lowest free first: exactly the first 30 addresses after the gateway.
    assert sorted(addresses, key=lambda a: ipaddress.ip_address(a or "")) == [
        f"10.20.0.{i}" for i in range(2, 2 + threads * per_thread)
    ]
    assert len({r.mac for r in rows}) == len(rows)
    names = [(r.compute_id, r.interface) for r in rows]
    assert len(set(names)) == len(names)


def test_an_address_taken_by_a_concurrent_transaction_is_skipped(cloud: Cloud) -> None:
    # IPAM.assign without the service's row pins: the second transaction picks
    # the address the first one inserted but has not committed (on MariaDB it
    # cannot see it yet), waits for it on the unique index, gets the clash,
    # rolls back only its SAVEPOINT and takes the next address.
    network_id = make_network(cloud, "10.30.0.0/24")
    first_compute, second_compute = make_computes(cloud, 2)
    inserted, results = threading.Event(), {}

    def assign(label: str, compute_id: str, hold: threading.Event | None) -> None:
        with cloud.database.transaction() as session:
            # A write first: on SQLite a SAVEPOINT must not open the transaction.
            session.execute(
                sa.update(Compute).where(Compute.id == compute_id).values(name=Compute.name)
            )
            network = session.get(Network, network_id)
            assert network is not None
            row = NetworkInterface(
                state="attaching",
                account_id=cloud.ids["dev"],
                domain_id=cloud.ids["acme"],
                compute_id=compute_id,
                network_id=network_id,
                interface="eth0",
            )
            IPAM(session).assign(row, network)
            results[label] = row.ip_address
            if hold is not None:
                inserted.set()
                hold.wait(2)  # let the other transaction run into the uncommitted row

    release = threading.Event()
    first = threading.Thread(target=assign, args=("first", first_compute, release))
    first.start()
    assert inserted.wait(30)
    second = threading.Thread(target=assign, args=("second", second_compute, None))
    second.start()
    second.join(0.5)
    release.set()
    first.join(30)
    second.join(30)
    assert results == {"first": "10.30.0.2", "second": "10.30.0.3"}
