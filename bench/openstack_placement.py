"""OpenStack placement's candidates-plus-claim on the same inventory as bench/allocation.py's.

Runs the ``openstack-placement`` package in process (``placement.direct``:
its WSGI application called without a socket, the way its own functional
tests and ``nova-status`` use it) on the same kind of database as Concord's
side of the benchmark: a SQLite file, or a database of its own on the same
MariaDB server. The inventory is the same: ``hosts`` resource providers of
32 VCPU and 131,072 MB (allocation ratios 1.0), each with the load Concord's
host of the same number has (the same seeded draws, in the same order). One
placement is what Nova's scheduler asks of placement for one instance:
``GET /allocation_candidates`` for 1 VCPU and 64 MB with ``limit=1000``
(Nova's ``max_placement_results``), then a claim ``PUT
/allocations/{consumer}`` on the first candidate; the figure is the median of
both together.

Building 10,000 providers through placement's API takes over an hour (a
provider, its inventory and an allocation are three requests, about 0.6 s
each here), so the first provider, its inventory and its load are made
through the API, and the others are copies of those rows, written by
placement's own schema (reflected from the database it created), with their
own uuids, names and loads. oslo.db configures placement's database once per
process, so the host counts share one database: providers are added up to
each count in turn (the first hosts' loads are the same draws either way).
Only the timed requests go through the API.

Needs the ``bench`` extra (``pip install -e '.[bench]'``): openstack-placement
and wsgi-intercept.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

CORES, MEMORY_MIB = 32, 131072
PROJECT, USER = str(uuid.uuid4()), str(uuid.uuid4())


def _unshadow() -> None:
    """Let ``import requests`` find the package, not bench/requests.py.

    Run as ``python bench/allocation.py``, the script's folder (bench/) is
    first on ``sys.path``, and its ``requests.py`` (the request benchmark)
    shadows the ``requests`` package that keystoneauth1, which placement
    imports, needs.
    """
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    module = sys.modules.get("requests")
    origin = getattr(module, "__file__", None)
    if origin is not None and Path(origin).resolve().parent == here:
        del sys.modules["requests"]


def available() -> bool:
    """Whether openstack-placement and wsgi-intercept are installed (and importable)."""
    _unshadow()
    try:
        import placement.direct  # noqa: F401
    except ImportError:
        return False
    return True


def _conf(directory: Path, connection: str):  # type: ignore[no-untyped-def]
    from oslo_config import cfg
    from placement import conf as placement_conf

    path = directory / "placement.conf"
    path.write_text(
        "[placement_database]\n"
        f"connection = {connection}\n"
        "sync_on_startup = True\n"
        "[api]\n"
        "auth_strategy = noauth2\n"
    )
    conf = cfg.ConfigOpts()
    placement_conf.register_opts(conf)
    conf([], project="placement", default_config_files=[str(path)])
    # placement's engine facade reads the option through an override too.
    conf.set_override("connection", connection, group="placement_database")
    return conf


@contextlib.contextmanager
def _database(concord_url: str | None, directory: Path) -> Iterator[str]:
    """An empty database for placement of the same kind as Concord's."""
    if concord_url is None or concord_url.startswith("sqlite"):
        yield f"sqlite:///{directory / 'placement.sqlite'}"
        return
    url = sa.engine.make_url(concord_url)
    name = f"{url.database}_placement"
    server = sa.create_engine(url.set(database=""))
    with server.begin() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.begin() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()


def _check(response, what: str) -> None:  # type: ignore[no-untyped-def]
    if response.status_code >= 300:
        raise RuntimeError(f"placement: {what}: {response.status_code} {response.text[:300]}")


def _load(rng: random.Random) -> dict[str, int]:
    # The draws bench/allocation.py's build() makes per host, in its order.
    load = {"VCPU": rng.randint(0, CORES - 2), "MEMORY_MB": rng.randint(0, MEMORY_MIB // 2)}
    return {k: v for k, v in load.items() if v}


def _first_provider(client: Any, rng: random.Random) -> None:
    provider = str(uuid.uuid4())
    _check(client.post("/resource_providers", json={"name": "h0", "uuid": provider}), "provider")
    inventories = {
        "VCPU": {"total": CORES, "allocation_ratio": 1.0},
        "MEMORY_MB": {"total": MEMORY_MIB, "allocation_ratio": 1.0},
    }
    body = {"resource_provider_generation": 0, "inventories": inventories}
    _check(client.put(f"/resource_providers/{provider}/inventories", json=body), "inventory")
    _claim(client, provider, _load(rng))


def _copy_providers(connection_url: str, first: int, last: int, rng: random.Random) -> None:
    """Providers ``first`` to ``last - 1`` as copies of provider 0's rows, each with its load."""
    engine = sa.create_engine(connection_url)
    meta = sa.MetaData()
    names = ["resource_providers", "inventories", "allocations", "consumers", "resource_classes"]
    meta.reflect(engine, only=names)
    providers, inventories, allocations, consumers, classes = (meta.tables[n] for n in names)
    with engine.begin() as connection:
        template = dict(
            connection.execute(sa.select(providers).where(providers.c.name == "h0"))
            .mappings()
            .one()
        )
        stock = [
            dict(r)
            for r in connection.execute(
                sa.select(inventories).where(inventories.c.resource_provider_id == template["id"])
            ).mappings()
        ]
        consumer = dict(connection.execute(sa.select(consumers).limit(1)).mappings().one())
        class_ids = dict(
            connection.execute(
                sa.select(classes.c.name, classes.c.id).where(
                    classes.c.name.in_(["VCPU", "MEMORY_MB"])
                )
            ).all()
        )
        base = connection.execute(sa.select(sa.func.max(providers.c.id))).scalar_one()
        rows: dict[str, list[dict[str, Any]]] = {n: [] for n in names[:4]}
        for number in range(first, last):
            provider_id = base + number - first + 1
            rows["resource_providers"].append(
                template
                | {
                    "id": provider_id,
                    "uuid": str(uuid.uuid4()),
                    "name": f"h{number}",
                    "root_provider_id": provider_id,
                }
            )
            for row in stock:
                copy = row | {"resource_provider_id": provider_id}
                del copy["id"]
                rows["inventories"].append(copy)
            load = _load(rng)
            if load:
                owner = str(uuid.uuid4())
                copy = consumer | {"uuid": owner}
                del copy["id"]
                rows["consumers"].append(copy)
                for name, used in load.items():
                    rows["allocations"].append(
                        {
                            "resource_provider_id": provider_id,
                            "consumer_id": owner,
                            "resource_class_id": class_ids[name],
                            "used": used,
                        }
                    )
        tables = (providers, inventories, allocations, consumers)
        for name, table in zip(names[:4], tables, strict=True):
            if rows[name]:
                connection.execute(sa.insert(table), rows[name])
    engine.dispose()


def medians_ms(
    host_counts: Sequence[int], placements: int, concord_url: str | None = None, seed: int = 7
) -> Iterator[tuple[int, float]]:
    """For each host count (ascending), the median of ``placements`` candidates-plus-claim.

    One placement database for the whole run (oslo.db configures its engine
    once per process): the providers are added up to each count in turn,
    with the loads Concord's zone of that count has (its first hosts' loads
    are the same draws, in the same order).

    :param concord_url: the database Concord's side ran on; placement runs on
        the same kind (None: SQLite).
    """
    from placement import direct

    rng = random.Random(seed)
    with (
        tempfile.TemporaryDirectory() as name,
        _database(concord_url, Path(name)) as url,
        direct.PlacementDirect(_conf(Path(name), url), latest_microversion=True) as client,
    ):
        _first_provider(client, rng)
        built = 1
        for hosts in sorted(host_counts):
            _copy_providers(url, built, hosts, rng)
            built = hosts
            samples = []
            for number in range(placements):
                start = time.perf_counter()
                response = client.get(
                    "/allocation_candidates?resources=VCPU:1,MEMORY_MB:64&limit=1000"
                )
                _check(response, "allocation candidates")
                found = response.json()["allocation_requests"]
                if number == 0 and len(found) != min(hosts, 1000):
                    # Every provider fits before the timed claims: the copies count.
                    raise RuntimeError(f"placement: {len(found)} candidates of {hosts}")
                provider = next(iter(found[0]["allocations"]))
                _claim(client, provider, {"VCPU": 1, "MEMORY_MB": 64})
                samples.append((time.perf_counter() - start) * 1000)
            yield hosts, statistics.median(samples)


def _claim(client, provider: str, resources: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    body = {
        "allocations": {provider: {"resources": resources}},
        "project_id": PROJECT,
        "user_id": USER,
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }
    _check(client.put(f"/allocations/{uuid.uuid4()}", json=body), "claim")
