"""The site's GLUE 2.1 document, checked by EGI's cloud-info-provider (installed from PyPI).

cloud-info-provider is what EGI sites publish GLUE 2.1 JSON with: its pydantic
model (``cloud_info_provider.glue``) validates each object and its formatter
(``GLUE21Json``) writes the document. Concord's document is read back into
that model through the formatter's own attribute names and written again by
the formatter: the two documents must be identical (but for the attributes
Concord leaves out, which the model fills with its own defaults), so every
class, attribute name, type and allowed value of Concord's is one the
federation's tool makes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from helpers import basic
from unit.engine.cloud import build_cloud
from webtest import TestApp

from engine.db import Database
from engine.inventory.models import AllocationState, Host, HostState
from engine.tenancy.credentials import CredentialService
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.service import TenancyService

glue = pytest.importorskip("cloud_info_provider.glue")
formatter = pytest.importorskip("cloud_info_provider.formatters.glue")

ADMIN = basic("admin", "admin-password")
MODELS = {
    "CloudComputingService": glue.CloudComputingService,
    "CloudComputingManager": glue.CloudComputingManager,
    "CloudComputingEndpoint": glue.CloudComputingEndpoint,
    "CloudComputingImage": glue.CloudComputingImage,
    "CloudComputingInstanceType": glue.CloudComputingInstanceType,
    "Share": glue.Share,
}


class _Names:
    """An object whose every attribute is its own name: dumped, it yields the formatter's table."""

    other_info: ClassVar[dict[str, Any]] = {}
    associations: ClassVar[dict[str, Any]] = {}

    def __getattr__(self, name: str) -> str:
        return name


def _their_names(class_name: str) -> dict[str, str]:
    """GLUE attribute name -> cloud-info-provider model field, as its formatter maps them."""
    dump = formatter.GLUE21Json()
    names = _Names()
    per_class = {
        "CloudComputingService": dump.dump_glue_service,
        "CloudComputingManager": dump.dump_glue_manager,
        "CloudComputingEndpoint": dump.dump_glue_endpoint,
        "CloudComputingImage": dump.dump_glue_image,
        "CloudComputingInstanceType": dump.dump_glue_instance_type,
        "Share": dump.dump_glue_share,
    }
    base = dump.dump_glue_fields(
        names, {"ID": "id", "Validity": "validity", "CreationTime": "creation_time", "Name": "name"}
    )
    return {**base, **per_class[class_name](names), "Associations": "associations"}


def _as_their_objects(document: dict[str, list[dict[str, Any]]]) -> dict[str, list[Any]]:
    objects: dict[str, list[Any]] = {}
    for class_name, entries in document.items():
        names = _their_names(class_name)
        unknown = {key for entry in entries for key in entry} - set(names)
        assert not unknown, f"{class_name}: attributes the GLUE 2.1 tool does not know: {unknown}"
        objects[class_name] = [
            MODELS[class_name].model_validate({names[k]: v for k, v in entry.items()})
            for entry in entries
        ]
    return objects


@pytest.fixture
def site(database: Database, tenancy: Any, hasher: PasswordHasher, tmp_path: Path) -> Any:
    for cloud in build_cloud(database, tenancy, hasher, tmp_path):
        with database.transaction() as session:
            alice = CredentialService(session).scope_for_user_id(tenancy.ids["alice"])
            TenancyService(session).create_project(alice, "vo-research")
        yield cloud


def test_the_document_is_what_cloud_info_provider_writes(app: TestApp, site: Any) -> None:
    document = app.get("/federation/glue", headers=ADMIN, status=200).json
    assert set(document) == set(MODELS)
    rewritten = json.loads(formatter.GLUE21Json().format(None, _as_their_objects(document)))
    for class_name, entries in document.items():
        names = _their_names(class_name)
        defaults = {
            glue_name: MODELS[class_name].model_fields[field].default
            for glue_name, field in names.items()
            if field in MODELS[class_name].model_fields
        }
        for ours, theirs in zip(entries, rewritten[class_name], strict=True):
            differing = {
                key: (ours.get(key), theirs.get(key))
                for key in set(ours) | set(theirs)
                if ours.get(key) != theirs.get(key)
                # What Concord leaves out, the model fills in with its own default.
                and not (key not in ours and theirs[key] == defaults.get(key))
            }
            assert not differing, f"{class_name} {ours['ID']}: (ours, theirs) {differing}"


def test_the_document_describes_the_site(app: TestApp, site: Any) -> None:
    document = app.get("/federation/glue", headers=ADMIN, status=200).json
    [service] = document["CloudComputingService"]
    assert service["Type"] == "org.cloud.iaas" and service["TotalVM"] == 0
    [manager] = document["CloudComputingManager"]
    assert manager["ProductName"] == "Concord" and manager["TotalCPUs"] == 8  # two 4-core hosts
    endpoints = {e["InterfaceName"]: e for e in document["CloudComputingEndpoint"]}
    assert endpoints["eu.egi.cloud.vm-management.occi"]["InterfaceVersion"] == "1.2"
    assert endpoints["eu.egi.cloud.vm-management.occi"]["URL"] == "http://localhost/"
    assert endpoints["org.dmtf.cimi"]["URL"] == "http://localhost/cimi/cloudEntryPoint"
    assert "org.openstack.identity" in endpoints
    # Public offerings are instance types; carol's private one is not published.
    types = {t["Name"]: t for t in document["CloudComputingInstanceType"]}
    assert {"small", "large"} <= set(types) and "sales-only" not in types
    shares = {s["Name"]: s for s in document["Share"]}
    assert shares["vo-research"]["TotalVM"] == 0


def _health(app: TestApp) -> dict[str, tuple[str, str]]:
    document = app.get("/federation/glue", headers=ADMIN, status=200).json
    return {
        e["InterfaceName"]: (e["HealthState"], e["HealthStateInfo"])
        for e in document["CloudComputingEndpoint"]
    }


def test_the_guest_endpoints_are_as_healthy_as_the_hosts(
    app: TestApp, site: Any, database: Database
) -> None:
    health = _health(app)
    with database.session() as session:
        taking = session.scalar(
            sa.select(sa.func.count()).where(
                Host.state == HostState.UP, Host.allocation_state == AllocationState.ENABLED
            )
        )
    for interface in ("eu.egi.cloud.vm-management.occi", "org.dmtf.cimi"):
        assert health[interface] == (
            "ok",
            f"answered by the site itself; {taking} of its 2 hosts take guests",
        )
    assert health["org.openstack.identity"] == ("ok", "answered by the site itself")
    # No host takes guests: the guest interfaces still answer, but warn why.
    with database.transaction() as session:
        session.execute(sa.update(Host).values(state=HostState.MAINTENANCE))
    health = _health(app)
    for interface in ("eu.egi.cloud.vm-management.occi", "org.dmtf.cimi"):
        state, why = health[interface]
        assert state == "warning" and "none of its 2 hosts takes guests now" in why
    assert health["org.openstack.identity"][0] == "ok"
    with database.transaction() as session:
        session.execute(sa.delete(Host))
    state, why = _health(app)["org.dmtf.cimi"]
    assert (state, why) == (
        "warning",
        "answered by the site itself, but it has no host to run guests on",
    )


def test_only_root_administrators_read_it(app: TestApp, site: Any) -> None:
    app.get("/federation/glue", status=401)
    app.get("/federation/glue", headers=basic("alice", "alice-password"), status=403)
    app.get("/federation/glue", headers=basic("acmeadmin", "acmeadmin-password"), status=403)
