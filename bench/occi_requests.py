"""OCCI requests per second against a bare Pyramid app returning the same bytes.

Both apps run in this one process and are called the same way (a WSGI call
with a prepared environ, the body read to the end), so the ratio compares
like with like: what Concord adds to answering a request (authentication,
the transaction, loading and rendering the entities) against Pyramid
answering with bytes it already has.

* **GET one compute** (text/plain and JSON): a running compute with a
  storage link and a network interface, read by its owner;
* **GET a collection of 1,000 computes** (``/compute/``, text/plain listing
  and JSON renderings);
* **POST create** a compute (text/plain, 201): each request really creates
  one (quota, placement, event, job), answered with its location.

The bare app serves, for each request, the exact bytes and Content-Type
Concord answered it with. Nothing is asserted; the target the issue set is
at least half the bare app's rate for the single-entity GET.

Usage::

    PYTHONPATH=. .venv/bin/python bench/occi_requests.py [--computes 1000]
        [--seconds 3] [--database URL] [--http]

``--http`` serves both apps with waitress on loopback and sends the requests
over one keep-alive connection each, as a deployment would see them.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pyramid.config import Configurator
from pyramid.response import Response
from webtest.http import StopableWSGIServer

from concord.app import make_app
from concord.settings import Settings
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
from engine.schema import upgrade
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
Call = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body
_SERVERS: list[StopableWSGIServer] = []


def seed(database: Database, directory: Path, computes: int) -> tuple[str, int]:
    """A tenant without limits, one big simulated host, ``computes`` running computes.

    :returns: the path of the compute the single-entity GET reads, and the
        number of SQL statements that took (for the record).
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
        target = f"/compute/{compute.id}"
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
        for index in range(computes - 1):
            service.create(scope, name=f"c{index}", vcpus=1, memory_mib=64, start=False)
        session.execute(
            sa.update(Compute)
            .where(Compute.state == State.CREATING.value)
            .values(state=State.RUNNING.value)
        )
    return target, computes


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


def call(app: Callable[..., Iterable[bytes]], request: Call) -> tuple[str, str, bytes]:
    """Call ``app``; return its status, Content-Type and body."""
    found: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
        found["status"], found["headers"] = status, dict(headers)

    body = b"".join(app(environ(*request), start_response))
    return found["status"], found["headers"].get("Content-Type", ""), body


def bare_app(content_type: str, body: bytes, status: str) -> Callable[..., Iterable[bytes]]:
    """A bare Pyramid app answering every request with these bytes."""
    config = Configurator()

    def view(request: Any) -> Response:
        return Response(
            body=body, content_type=None, headerlist=[("Content-Type", content_type)], status=status
        )

    config.add_route("any", "/*path")
    config.add_view(view, route_name="any")
    return config.make_wsgi_app()


def over_http(app: Callable[..., Iterable[bytes]]) -> Callable[[Call], None]:
    """Serve ``app`` with waitress on a free loopback port; a keep-alive client for it."""
    server = StopableWSGIServer.create(app)
    _SERVERS.append(server)
    connection = http.client.HTTPConnection(server.adj.host, server.adj.port)

    def send(request: Call) -> None:
        method, path, headers, body = request
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status < 300, (response.status, path)

    return send


def rate(send: Callable[[Call], Any], request: Call, seconds: float) -> float:
    """Requests per second over about ``seconds`` (after a warm-up)."""
    for _ in range(3):
        send(request)
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        send(request)
        count += 1
    return count / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--computes", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database (default: SQLite)")
    parser.add_argument(
        "--http",
        action="store_true",
        help="serve both apps with waitress on loopback and call them over HTTP",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        database = Database(args.database or f"sqlite:///{directory / 'bench.sqlite'}")
        upgrade(database)
        target, computes = seed(database, directory, args.computes)
        settings = Settings.from_mapping(
            {
                "concord.embedded_worker": "false",
                "concord.log_level": "WARNING",
                "concord.password_time_cost": "1",
                "concord.password_memory_kib": "1024",
            },
            environ={},
        )
        app = make_app(settings, database)
        json = {"Authorization": AUTH, "Accept": "application/occi+json"}
        text = {"Authorization": AUTH, "Accept": "text/plain"}
        cases: list[tuple[str, Call]] = [
            ("GET one compute, text/plain", ("GET", target, text, b"")),
            ("GET one compute, JSON", ("GET", target, json, b"")),
            (f"GET /compute/ ({computes} entries), text/plain", ("GET", "/compute/", text, b"")),
            (f"GET /compute/ ({computes} entries), JSON", ("GET", "/compute/", json, b"")),
            (
                "POST create a compute, text/plain",
                ("POST", "/compute/", {**text, "Content-Type": "text/plain"}, CREATE),
            ),
        ]
        print(
            f"python {sys.version.split()[0]}  database {database.dialect}"
            f"  cpus {os.cpu_count()}  load average "
            + " ".join(f"{x:.1f}" for x in os.getloadavg())
        )
        print(f"transport: {'HTTP/1.1 over loopback (waitress)' if args.http else 'WSGI call'}")
        print(f"{'request':44} {'Concord req/s':>14} {'bare req/s':>12} {'ratio':>7}")
        ours_send = over_http(app) if args.http else (lambda request: call(app, request))
        try:
            for name, request in cases:
                status, content_type, body = call(app, request)
                assert status.startswith(("200", "201")), (name, status, body[:200])
                bare = bare_app(content_type, body, status)
                theirs_send = over_http(bare) if args.http else (lambda r, a=bare: call(a, r))
                ours = rate(ours_send, request, args.seconds)
                theirs = rate(theirs_send, request, args.seconds)
                print(
                    f"{name:44} {ours:14.1f} {theirs:12.1f} {ours / theirs:7.3f}"
                    f"   ({len(body)} bytes)"
                )
        finally:
            for server in _SERVERS:
                server.shutdown()
        database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
