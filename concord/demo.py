"""The demo tenant and zone that ``concord serve --demo`` provisions.

A loopback-only convenience for a first look: the user ``demo`` with the
password ``demo`` in account ``demo`` of domain ``ROOT/demo``. The password is
below the policy's minimum length on purpose (it is what the README tells a
newcomer to type), which is why the demo refuses any non-loopback address.

The demo keeps its own database (``var/demo.sqlite`` unless the settings name
one), and a server that is not the demo refuses to start on a database that
still holds the demo's credentials (:func:`check_no_demo_credentials`) unless
told to remove them (:func:`remove_demo_credentials`): the well-known password
must never outlive the loopback-only demo.

The demo zone is real libvirt all the way down: three ``test:///`` hosts
(libvirt's simulated hypervisor, one node file each under ``var/demo-hosts``)
added like any host, so their capacity is what libvirt reports, with public
templates and offerings to create guests from.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.catalog.models import ComputeOffering, DiskOffering, Image, NetworkOffering
from engine.catalog.service import CatalogService
from engine.drivers.libvirt.testhost import write_test_host
from engine.inventory.hosts import shared_pool_names
from engine.inventory.models import Cluster, Host, ImageStore, Pod, Zone
from engine.inventory.service import DriverFactory, InventoryService
from engine.network.defaults import DefaultNetworks
from engine.network.service import NetworkService
from engine.scope import Scope
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import AccountType, ApiKey, Domain, User
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.service import TenancyService

log = logging.getLogger(__name__)

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105  (documented, served on loopback only)


def is_loopback(host: str) -> bool:
    """True for addresses that only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def provision_demo_tenant(session: Session, hasher: PasswordHasher) -> None:
    """Create (or repair) the demo domain, account and user; idempotent."""
    tenancy = TenancyService(session, hasher)
    root = tenancy.ensure_root()
    system = Scope.system(root)
    domain = session.scalar(
        sa.select(Domain).where(Domain.parent_id == root.id, Domain.name == DEMO_USER)
    ) or tenancy.create_domain(system, DEMO_USER, root.id)
    user = session.scalar(sa.select(User).where(User.username == DEMO_USER))
    if user is None:
        account = tenancy.create_account(system, DEMO_USER, domain.id, AccountType.USER)
        user = tenancy.create_user(system, account.id, DEMO_USER)
    # Set directly: the demo password is shorter than the policy allows.
    if not hasher.verify(user.password_hash, DEMO_PASSWORD):
        user.password_hash = hasher.hash(DEMO_PASSWORD)
    session.flush()


class DemoCredentialsFound(RuntimeError):
    """A server that is not the demo was asked to serve the demo's credentials."""


#: How a server that is not the demo is told to remove the demo's credentials.
REMOVE_HINT = (
    "start it once with --remove-demo-credentials (setting remove_demo_credentials) to remove them"
)


def _signs_in_as_demo(session: Session, hasher: PasswordHasher) -> User | None:
    """User ``demo``, if it signs in with the well-known password ``demo``."""
    user = session.scalar(sa.select(User).where(User.username == DEMO_USER))
    if user is None or user.password_hash is None:
        return None
    return user if hasher.verify(user.password_hash, DEMO_PASSWORD) else None


def holds_demo_credentials(session: Session, hasher: PasswordHasher) -> bool:
    """Whether user ``demo`` signs in with the well-known password ``demo``."""
    return _signs_in_as_demo(session, hasher) is not None


def check_no_demo_credentials(session: Session, hasher: PasswordHasher) -> None:
    """Refuse a database whose demo user still has the well-known password.

    :raises DemoCredentialsFound: with a message saying what to do.
    """
    if holds_demo_credentials(session, hasher):
        raise DemoCredentialsFound(
            f"this database holds the demo's well-known credentials "
            f"({DEMO_USER}/{DEMO_PASSWORD}), which only 'concord serve --demo' serves, "
            f"on loopback; {REMOVE_HINT}"
        )


def remove_demo_credentials(session: Session, hasher: PasswordHasher) -> bool:
    """Make the demo user unable to sign in, if it still has the well-known password.

    Its password is removed and its API keys (issued by whoever knew the
    password) are revoked; the user, its account and what they own stay, for
    an administrator to keep, hand over or delete.

    :returns: whether there was anything to remove.
    """
    user = _signs_in_as_demo(session, hasher)
    if user is None:
        return False
    user.password_hash = None
    system = Scope.system(TenancyService(session).root())
    credentials = CredentialService(session)
    for key in session.scalars(
        sa.select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked.is_(None))
    ):
        credentials.revoke_api_key(system, key.access_key)
    session.flush()
    return True


# -- the demo zone -------------------------------------------------------------------

DEMO_ZONE = "demo-zone"
DEMO_POD = "demo-pod"
DEMO_CLUSTER = "demo-cluster"
DEMO_IMAGE_STORE = "demo-images"
#: (name, cores, memory MiB): simulated libvirt hosts, each with a local pool.
DEMO_HOSTS = (("demo-host-1", 16, 65536), ("demo-host-2", 16, 65536), ("demo-host-3", 8, 32768))
DEMO_HOST_MHZ = 2400
DEMO_POOL_GIB = 500
#: A pool every demo host defines (one directory): the cluster's shared storage,
#: where volumes go unless a guest's host is known, so that any guest can use them.
DEMO_SHARED_POOL = ("shared", 1000)
#: Public templates. They have no bytes: guests boot to firmware, which is all
#: a simulated (or TCG) host needs to run them.
DEMO_TEMPLATES = (
    ("debian-12", "Debian 12 (demo image: boots to firmware)", 512),
    ("alpine-3.20", "Alpine Linux 3.20 (demo image: boots to firmware)", 128),
)
DEMO_COMPUTE_OFFERINGS = (("small", 1, 512), ("medium", 2, 2048), ("large", 4, 8192))
DEMO_DISK_OFFERINGS = (("10GiB", 10), ("50GiB", 50), ("100GiB", 100))
DEMO_NETWORK_OFFERING = ("isolated", "10.1.0.0/24")
#: The demo tenant's own networks (name, CIDR, label), the first its default in
#: the demo zone, so that a guest created with no network link gets an address
#: there, as on CloudStack and OpenStack. The second stands for a provider's
#: public network: its range is TEST-NET-3 (RFC 5737), outside every private
#: range, which is how clients such as IM's OCCI connector tell a public
#: network (and address) from a private one.
DEMO_NETWORKS = (("private", "10.1.0.0/24", "private"), ("public", "203.0.113.0/24", "public"))


def demo_var_dir(database_url: str) -> Path:
    """Where the demo keeps its files: beside an SQLite database, else ``./var``."""
    if database_url.startswith("sqlite:///"):
        return Path(database_url.removeprefix("sqlite:///")).absolute().parent
    return Path("var").absolute()


def provision_demo_zone(
    session: Session, var_dir: str | os.PathLike[str], drivers: DriverFactory | None = None
) -> Zone:
    """Create (or complete) the demo zone; idempotent.

    One zone, pod and cluster (CPU over-provisioning 4.0), three simulated
    libvirt hosts whose node files live in ``<var_dir>/demo-hosts/``, added
    through :meth:`InventoryService.add_host` so that their capacity is what
    libvirt reports, each with a local pool, a pool the cluster shares, an
    image store, public templates and offerings.

    :param drivers: opens hosts; the process-wide libvirt connections by default,
        so that the server that provisions the demo also runs its hosts.
    :returns: the zone.
    """
    if drivers is None:
        from engine.drivers.libvirt import LibvirtDriver

        drivers = LibvirtDriver
    system = Scope.system(TenancyService(session).ensure_root())
    inventory = InventoryService(session, drivers)
    var = Path(var_dir).absolute()
    zone = session.scalar(sa.select(Zone).where(Zone.name == DEMO_ZONE))
    if zone is None:
        zone = inventory.create_zone(system, DEMO_ZONE, "simulated libvirt hosts (demo)")
    pod = session.scalar(sa.select(Pod).where(Pod.zone_id == zone.id, Pod.name == DEMO_POD))
    if pod is None:
        pod = inventory.create_pod(system, zone.id, DEMO_POD)
    cluster = session.scalar(
        sa.select(Cluster).where(Cluster.pod_id == pod.id, Cluster.name == DEMO_CLUSTER)
    ) or inventory.create_cluster(system, pod.id, DEMO_CLUSTER, cpu_overprovisioning=4.0)
    hosts_dir = var / "demo-hosts"
    hosts_dir.mkdir(parents=True, exist_ok=True)
    for number, (name, cores, memory_mib) in enumerate(DEMO_HOSTS, start=1):
        # Written when missing (a first start, or var/ was cleaned); otherwise kept:
        # it holds the guests and volumes the last server saved (save_demo_hosts).
        path = hosts_dir / f"host{number}.xml"
        if path.is_file():
            uri = f"test://{path.as_posix()}"
        else:
            uri = write_test_host(
                path,
                hostname=name,
                cpu_cores=cores,
                cpu_mhz=DEMO_HOST_MHZ,
                memory_mib=memory_mib,
                pools=[
                    ("local", DEMO_POOL_GIB, str(var / "demo-pools" / name)),
                    (DEMO_SHARED_POOL[0], DEMO_SHARED_POOL[1], str(var / "demo-pools" / "shared")),
                ],
            )
        if session.scalar(sa.select(Host.id).where(Host.name == name)) is None:
            inventory.add_host(system, cluster.id, uri, name=name)
    if DEMO_SHARED_POOL[0] not in shared_pool_names(session, cluster.id):
        inventory.add_shared_pool(system, cluster.id, DEMO_SHARED_POOL[0])
    if session.scalar(sa.select(ImageStore.id).where(ImageStore.name == DEMO_IMAGE_STORE)) is None:
        store = var / "demo-images"
        store.mkdir(parents=True, exist_ok=True)
        inventory.create_image_store(system, zone.id, DEMO_IMAGE_STORE, str(store))
    _provision_demo_catalog(session, system, zone)
    return zone


def _provision_demo_catalog(session: Session, system: Scope, zone: Zone) -> None:
    catalog = CatalogService(session)

    def missing(model: type[Any], name: str) -> bool:
        return not any(e.name == name for e in catalog.list_entries(system, model) if e.is_public)

    for name, description, min_memory in DEMO_TEMPLATES:
        if missing(Image, name):
            catalog.create_image(
                system,
                name,
                public=True,
                description=description,
                zone_id=zone.id,
                min_memory_mib=min_memory,
                properties={"demo": "true"},
            )
    for name, vcpus, memory_mib in DEMO_COMPUTE_OFFERINGS:
        if missing(ComputeOffering, name):
            catalog.create_compute_offering(system, name, vcpus=vcpus, memory_mib=memory_mib)
    for name, size_gib in DEMO_DISK_OFFERINGS:
        if missing(DiskOffering, name):
            catalog.create_disk_offering(system, name, size_gib=size_gib)
    name, cidr = DEMO_NETWORK_OFFERING
    if missing(NetworkOffering, name):
        catalog.create_network_offering(system, name, default_cidr=cidr)


def save_demo_hosts(session: Session, var_dir: str | os.PathLike[str]) -> int:
    """Write the demo hosts' guests and volumes back into their node files.

    Called when the demo server stops, after its worker: the simulated hosts live in
    this process, and the next start opens the files again, so that a restart of
    ``make serve`` keeps the guests in their states instead of finding empty hosts
    (which reconciliation would record as vanished guests).

    :returns: the number of guests saved.
    """
    from engine.drivers.libvirt import default_pool, save_test_host

    hosts_dir = (Path(var_dir).absolute() / "demo-hosts").as_posix()
    saved = 0
    for uri in session.scalars(sa.select(Host.uri).where(Host.uri.like("test://%"))):
        if not uri.removeprefix("test://").startswith(hosts_dir + "/"):
            continue  # an operator's own test host: not the demo's to rewrite
        try:
            saved += save_test_host(default_pool().get(uri), uri)
        except Exception as exc:  # one host failing to save must not keep the others from it
            log.warning("could not save demo host %s: %s", uri, exc)
    return saved


def provision_demo_networks(session: Session, zone: Zone) -> None:
    """Give the demo tenant a private and a public network in the demo zone,
    the private one its default there (:data:`DEMO_NETWORKS`); idempotent.

    Call after :func:`provision_demo_tenant` and :func:`provision_demo_zone`.
    """
    user = session.scalar(sa.select(User).where(User.username == DEMO_USER))
    if user is None:
        raise RuntimeError("provision the demo tenant before its networks")
    scope = CredentialService(session).scope_for(user)
    networks = NetworkService(session)
    mine = {n.name: n for n in networks.list(scope, zone_id=zone.id)}
    for number, (name, cidr, label) in enumerate(DEMO_NETWORKS):
        network = mine.get(name)
        if network is None:
            network, _job = networks.create_network(
                scope, name=name, zone_id=zone.id, cidr=cidr, label=label, start=True
            )
        if number == 0 and DefaultNetworks(session).of(user.account_id, zone.id) is None:
            DefaultNetworks(session).set(scope, network.id)


def describe_zone(session: Session, zone: Zone) -> str:
    """One line about a zone's hosts and capacity, for start-up output."""
    system = Scope.system(TenancyService(session).root())
    capacities = InventoryService(session, _unused_driver).host_capacities(system, zone.id)
    cores = sum(c.host.cpu_cores for c in capacities)
    vcpus = sum(c.vcpus_total for c in capacities)
    memory_gib = sum(c.memory_total_mib for c in capacities) // 1024
    return (
        f"zone {zone.name}: {len(capacities)} simulated libvirt hosts, {cores} cores "
        f"({vcpus} vCPUs with over-provisioning), {memory_gib} GiB memory"
    )


def describe_capacity(session: Session, zone: Zone) -> str:
    """One line of the zone's capacity now (``concord capacity``'s zone row), for start-up."""
    from engine.allocation.report import capacity_levels
    from engine.compute.state import running_sizes_by_host

    levels = capacity_levels(session, running_sizes_by_host(session), zone_id=zone.id)
    row = next((item for item in levels if item.level == "zone"), None)
    if row is None:
        return f"zone {zone.name} has no hosts"
    cpu, memory = row.figures["vcpus"], row.figures["memory_mib"]
    storage = row.figures["storage_bytes"]
    return (
        f"{cpu['allocated']}/{cpu['limit']} vCPUs and {memory['allocated'] // 1024}/"
        f"{memory['limit'] // 1024} GiB memory allocated, "
        f"{storage['free'] // 1024**3} GiB storage free"
    )


def _unused_driver(uri: str) -> Any:
    raise RuntimeError(f"describing a zone opens no host ({uri})")
