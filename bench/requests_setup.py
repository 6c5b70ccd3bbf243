"""The world bench/requests.py measures: a seeded tenant, WSGI calls, a loopback HTTP client.

Split from the benchmark itself so that each stays small; nothing here is
timed.
"""

from __future__ import annotations

import base64
import http.client
import io
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from webtest.http import StopableWSGIServer

from engine.catalog.models import ComputeOffering
from engine.compute.attachments import AttachmentService
from engine.compute.interfaces import InterfaceService
from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.db import Database
from engine.drivers.factory import DriverCache
from engine.drivers.libvirt import ConnectionPool, write_test_host
from engine.handlers import register_all
from engine.inventory.models import Cluster, Host, Pod, StoragePool, Zone
from engine.jobs.worker import HandlerRegistry, Worker
from engine.lifecycle import State
from engine.network.service import NetworkService
from engine.scope import Scope
from engine.storage.service import StorageService
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import AccountType, LimitOwner, ResourceType
from engine.tenancy.passwords import PasswordHasher, PasswordPolicy
from engine.tenancy.quotas import QuotaService
from engine.tenancy.service import TenancyService

USER, PASSWORD = "bencher", "bench-password"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
CREATE = (
    b'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\r\n'
    b'X-OCCI-Attribute: occi.core.title="bench"\r\n'
)
RESTART = (
    b'Category: restart; scheme="http://schemas.ogf.org/occi/infrastructure/compute/action#";'
    b' class="action"\r\n'
)
Call = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body
SERVERS: list[StopableWSGIServer] = []


def seed(database: Database, directory: Path, computes: int) -> tuple[str, list[str]]:
    """A tenant without limits, one big simulated host, ``computes`` running computes.

    :returns: the id of the compute the single-entity GETs read (with a storage
        link and a network interface), and the ids of the others (plain
        running computes, which the action scenario restarts one by one).
    """
    hasher = PasswordHasher(PasswordPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1))
    uri = write_test_host(
        directory / "host.xml",
        hostname="bench-host",
        cpu_cores=8192,
        cpu_mhz=2400,
        memory_mib=8 * 1024 * 1024,
        pools=[("images", 1000, str(directory / "pool"))],
    )
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        system = Scope.system(tenancy.ensure_root())
        domain = tenancy.create_domain(system, "bench")
        account = tenancy.create_account(system, "bench", domain.id, AccountType.USER)
        user = tenancy.create_user(system, account.id, USER, PASSWORD)
        quotas = QuotaService(session)
        for resource in ResourceType:
            quotas.set_limit(system, LimitOwner.DOMAIN, domain.id, resource, -1)
            quotas.set_limit(system, LimitOwner.ACCOUNT, account.id, resource, -1)
        zone = Zone(name="bench")
        session.add(zone)
        session.flush()
        pod = Pod(zone_id=zone.id, name="p")
        session.add(pod)
        session.flush()
        cluster = Cluster(pod_id=pod.id, name="c", hypervisor_type="test")
        session.add(cluster)
        session.flush()
        host = Host(
            cluster_id=cluster.id,
            name="bench-host",
            uri=uri,
            hypervisor_type="test",
            cpu_cores=8192,
            cpu_mhz=2400,
            memory_mib=8 * 1024 * 1024,
        )
        session.add(host)
        session.flush()
        session.add(
            StoragePool(
                cluster_id=cluster.id,
                host_id=host.id,
                name="images",
                pool_name="images",
                capacity_bytes=1000 * 1024**3,
            )
        )
        session.add(ComputeOffering(name="tiny", vcpus=1, memory_mib=64))
        session.flush()
        scope = CredentialService(session, hasher).scope_for_user_id(user.id)
    # One compute with a volume and an interface: the entity the GET reads.
    with database.transaction() as session:
        volume, _ = StorageService(session).create_volume(scope, name="data", size_gib=1)
        network, _ = NetworkService(session).create_network(scope, name="lan")
        compute, _ = ComputeService(session).create(scope, name="web", vcpus=1, memory_mib=64)
        AttachmentService(session).prepare_attachment(scope, compute, volume)
        InterfaceService(session).prepare_interface(scope, compute, network)
        target = compute.id
    pool = ConnectionPool()
    registry = HandlerRegistry()
    register_all(registry)
    drivers = DriverCache(pool)
    Worker(database, drivers, registry, worker_id="bench").run_until_idle()
    drivers.close()
    pool.close_all()
    # The rest of the collection: real rows, marked running without booting them.
    with database.transaction() as session:
        service = ComputeService(session)
        others = [
            service.create(scope, name=f"c{index}", vcpus=1, memory_mib=64, start=False)[0].id
            for index in range(computes - 1)
        ]
        session.execute(
            sa.update(Compute)
            .where(Compute.state == State.CREATING.value)
            .values(state=State.RUNNING.value)
        )
    return target, others


def environ(method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """A WSGI environ for one request (what a server would pass)."""
    path, _, query = path.partition("?")
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        env[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return env


def call(app: Callable[..., Iterable[bytes]], request: Call) -> tuple[str, dict[str, str], bytes]:
    """Call ``app``; return its status, headers and body."""
    found: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
        found["status"], found["headers"] = status, dict(headers)

    body = b"".join(app(environ(*request), start_response))
    return found["status"], found["headers"], body


def over_http(app: Callable[..., Iterable[bytes]]) -> Callable[[Call], None]:
    """Serve ``app`` with waitress on a free loopback port; a keep-alive client for it."""
    # A text/occi listing of 1,000 locations is one header of about 80 kB,
    # beyond http.client's 64 kB line limit (a client-side guard only).
    http.client._MAXLINE = max(http.client._MAXLINE, 1 << 20)  # type: ignore[attr-defined]
    server = StopableWSGIServer.create(app)
    SERVERS.append(server)
    connection = http.client.HTTPConnection(server.adj.host, server.adj.port)

    def send(request: Call) -> None:
        method, path, headers, body = request
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status < 300, (response.status, path)

    return send


def rate(
    send: Callable[[Call], Any], requests: Callable[[], Call], seconds: float, most: int
) -> float:
    """Requests per second over about ``seconds`` and at most ``most`` requests (after a warm-up).

    ``requests`` gives the next request (the same one for a read; another
    compute for each action).
    """
    for _ in range(2):
        send(requests())
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds and count < most:
        send(requests())
        count += 1
    return count / elapsed
