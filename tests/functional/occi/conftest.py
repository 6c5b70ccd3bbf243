"""Fixtures of the OCCI functional tests: a cloud of simulated libvirt hosts and a client.

``cloud`` is :func:`unit.engine.cloud.build_cloud`: zone ``z1`` with two
``test:///`` hosts (4 cores, 8 GiB, a 10 GiB local pool each; ``host-2`` and
its pool are disabled here, so that every volume can be attached to every
compute: the engine attaches only volumes of pools the compute's host
reaches, and these pools are host-local), offerings
``small`` and ``large`` (public) and ``sales-only`` (carol's), a public
firmware-only image and the tenants of ``tests/conftest.py``; its worker
runs the jobs the requests queue (``cloud.run_jobs()``), so actions really
reach libvirt. ``occi`` is an :class:`~functional.occi.occiclient.OcciClient`
acting as alice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from functional.occi.occiclient import OcciClient
from unit.engine.cloud import Cloud, build_cloud
from webtest import TestApp

from engine.db import Database
from engine.inventory.models import AllocationState, Host, StoragePool
from engine.tenancy.passwords import PasswordHasher


@pytest.fixture
def cloud(
    database: Database, tenancy: Any, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    """The seeded cloud (see the module docstring)."""
    for seeded in build_cloud(database, tenancy, hasher, tmp_path):
        with database.transaction() as session:
            for model, column in ((Host, Host.id), (StoragePool, StoragePool.host_id)):
                session.execute(
                    sa.update(model)
                    .where(column == seeded.ids["host-2"])
                    .values(allocation_state=AllocationState.DISABLED)
                )
        yield seeded


@pytest.fixture
def occi(app: TestApp, cloud: Cloud) -> OcciClient:
    """An OCCI client acting as alice."""
    return OcciClient(app)
