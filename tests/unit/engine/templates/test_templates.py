"""Launch templates and SSH keys: storage, checks, visibility, and launching a compute."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from unit.engine.cloud import Cloud, build_cloud

from engine.compute.keys import KeyService, fingerprint
from engine.compute.service import ComputeService
from engine.db import Database
from engine.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from engine.inventory.models import AllocationState, StoragePool, Zone
from engine.lifecycle import State
from engine.network.models import NetworkInterface
from engine.network.service import NetworkService
from engine.storage.models import StorageAttachment
from engine.storage.service import StorageService
from engine.templates.models import TemplateKind
from engine.templates.service import TemplateService
from engine.tenancy.passwords import PasswordHasher

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5 alice@test"


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def test_keys_are_the_accounts(cloud: Cloud) -> None:
    alice, bob, admin = (cloud.scopes[u] for u in ("alice", "bob", "acmeadmin"))
    with cloud.database.transaction() as session:
        keys = KeyService(session)
        key = keys.create(alice, name="laptop", public_key=f"  {KEY}\n", properties={"a": "b"})
        assert key.public_key == KEY
        assert key.fingerprint == fingerprint(KEY) and key.fingerprint.startswith("SHA256:")
        with pytest.raises(AlreadyExists):
            keys.create(alice, name="laptop", public_key=KEY)
        with pytest.raises(InvalidInput):
            keys.create(alice, name="bad", public_key="ssh-rsa not base64!")
        with pytest.raises(NotFound):
            keys.get(bob, key.id)  # another account: not found, never forbidden
        assert keys.get(admin, key.id) is key  # its domain's administrator
        assert [k.name for k in keys.list(alice)] == ["laptop"]
        assert keys.list(cloud.scopes["carol"]) == []
        keys.update(alice, key.id, name="desk", description=None, properties={})
        assert (key.name, key.properties) == ("desk", {})
        keys.delete(alice, key.id)
        assert keys.list(alice) == []


def test_template_parameters_are_checked(cloud: Cloud) -> None:
    alice = cloud.scopes["alice"]
    with cloud.database.transaction() as session:
        templates = TemplateService(session)
        for parameters, field in (
            ({"flavour": "x"}, "flavour"),
            ({"vcpus": 0}, "vcpus"),
            ({"vcpus": True}, "vcpus"),
            ({"start": "yes"}, "start"),
            ({"offering_id": "nope"}, "offering_id"),
            ({"image_id": cloud.ids["small"]}, "image_id"),  # an offering is not an image
            ({"volumes": [{"device": "vdb"}]}, "volume_id"),
            ({"volumes": [{"volume_id": "missing"}]}, "volumes[0]"),
            ({"networks": "net"}, "networks"),
            ({"volume_templates": [{}]}, "template_id or parameters"),
            ({"ssh_public_key": "nope"}, "ssh_public_key"),
            ({"ha_enabled": "yes"}, "ha_enabled"),
        ):
            with pytest.raises(InvalidInput, match=re.escape(field)):
                templates.create(alice, TemplateKind.COMPUTE, parameters=parameters)
        private = cloud.ids["private_offering"]  # carol's account's offering
        with pytest.raises(InvalidInput, match="offering_id"):
            templates.create(alice, TemplateKind.COMPUTE, parameters={"offering_id": private})
        stored = templates.create(
            alice,
            TemplateKind.COMPUTE,
            name="web",
            parameters={"offering_id": cloud.ids["small"], "start": False, "user_data": None},
        )
        assert stored.parameters == {"offering_id": cloud.ids["small"], "start": False}
        assert templates.get(alice, stored.id, TemplateKind.COMPUTE) is stored
        with pytest.raises(NotFound):
            templates.get(alice, stored.id, TemplateKind.VOLUME)
        with pytest.raises(NotFound):
            templates.get(cloud.scopes["carol"], stored.id)
        templates.update(alice, stored.id, parameters={"vcpus": 2, "memory_mib": 256})
        assert stored.parameters == {"vcpus": 2, "memory_mib": 256}
        assert [t.id for t in templates.list(alice, TemplateKind.COMPUTE)] == [stored.id]
        templates.delete(alice, stored.id)
        assert templates.list(alice) == []


def test_launch_a_compute_with_a_new_volume_and_an_interface(cloud: Cloud) -> None:
    alice = cloud.scopes["alice"]
    with cloud.database.transaction() as session:
        network, _ = NetworkService(session).create_network(alice, name="net")
        key = KeyService(session).create(alice, name="k", public_key=KEY)
        network_id, key_id = network.id, key.id
    cloud.run_jobs()
    with cloud.database.transaction() as session:
        templates = TemplateService(session)
        disk = templates.create(alice, TemplateKind.VOLUME, parameters={"size_gib": 1})
        compute, job = templates.launch_compute(
            alice,
            name="web",
            parameters={
                "offering_id": cloud.ids["small"],
                "image_id": cloud.ids["firmware"],
                "credential_id": key_id,
                "volume_templates": [{"template_id": disk.id, "device": "vdc"}],
                "networks": [{"network_id": network_id}],
            },
        )
        compute_id = compute.id
        assert compute.ssh_public_key == KEY
        assert job.action == "compute.create"
    cloud.run_jobs()
    assert cloud.compute(compute_id).state == State.RUNNING
    with cloud.database.transaction() as session:
        attachment = session.query(StorageAttachment).filter_by(compute_id=compute_id).one()
        nic = session.query(NetworkInterface).filter_by(compute_id=compute_id).one()
        assert (attachment.device, attachment.state) == ("vdc", State.ATTACHED)
        assert (nic.network_id, nic.state) == (network_id, State.ATTACHED)


def _host_1_pool(cloud: Cloud, state: AllocationState) -> None:
    with cloud.database.transaction() as session:
        session.execute(
            sa.update(StoragePool)
            .where(StoragePool.host_id == cloud.ids["host-1"])
            .values(allocation_state=state)
        )


def test_a_launched_compute_goes_where_its_volume_is(cloud: Cloud) -> None:
    alice = cloud.scopes["alice"]
    _host_1_pool(cloud, AllocationState.DISABLED)  # the volume goes to host-2's own pool
    with cloud.database.transaction() as session:
        volume, _ = StorageService(session).create_volume(alice, name="data", size_gib=1)
        volume_id = volume.id
    cloud.run_jobs()
    _host_1_pool(cloud, AllocationState.ENABLED)  # first fit would now pick host-1
    with cloud.database.transaction() as session:
        compute, _ = TemplateService(session).launch_compute(
            alice,
            name="web",
            parameters={"offering_id": cloud.ids["small"], "volumes": [{"volume_id": volume_id}]},
        )
        compute_id = compute.id
    cloud.run_jobs()
    assert cloud.compute(compute_id).state == State.RUNNING
    assert cloud.compute(compute_id).host_id == cloud.ids["host-2"]
    with cloud.database.transaction() as session:
        attachment = session.query(StorageAttachment).filter_by(compute_id=compute_id).one()
        assert (attachment.volume_id, attachment.state) == (volume_id, State.ATTACHED)


def test_a_compute_is_not_created_with_a_volume_it_could_never_use(cloud: Cloud) -> None:
    alice, bob = cloud.scopes["alice"], cloud.scopes["bob"]
    with cloud.database.transaction() as session:
        mine, _ = StorageService(session).create_volume(alice, name="mine", size_gib=1)
        theirs, _ = StorageService(session).create_volume(bob, name="theirs", size_gib=1)
        elsewhere = Zone(name="z-elsewhere")
        session.add(elsewhere)
        session.flush()
        mine.zone_id = elsewhere.id  # as if it had been created in another zone
    # A conflict, as attaching it later would be: not "no host has room".
    for volume, message in ((mine, "another zone"), (theirs, "different owners")):
        with pytest.raises(Conflict, match=message), cloud.database.transaction() as session:
            ComputeService(session).create(
                alice, name="web", offering_id=cloud.ids["small"], volumes=[volume]
            )
    assert cloud.run_jobs() == 2  # the volumes' creations only


def test_nothing_is_created_when_a_launch_fails(cloud: Cloud) -> None:
    alice = cloud.scopes["alice"]
    with pytest.raises(InvalidInput), cloud.database.transaction() as session:
        TemplateService(session).launch_compute(
            alice,
            name="web",
            parameters={"offering_id": cloud.ids["small"], "networks": [{"network_id": "gone"}]},
        )
    with cloud.database.transaction() as session:
        assert session.query(StorageAttachment).count() == 0
    assert cloud.run_jobs() == 0


def test_a_template_sets_the_ha_flag_or_leaves_it_to_the_offering(cloud: Cloud) -> None:
    alice = cloud.scopes["alice"]
    with cloud.database.transaction() as session:
        templates = TemplateService(session)
        launched = {
            name: templates.launch_compute(alice, name=name, parameters=parameters)[0].ha_enabled
            for name, parameters in (
                ("chosen", {"offering_id": cloud.ids["small"], "ha_enabled": True}),
                ("refused", {"offering_id": cloud.ids["large"], "ha_enabled": False}),
                ("offering", {"offering_id": cloud.ids["large"]}),
                ("plain", {"offering_id": cloud.ids["small"]}),
            )
        }
    assert launched == {"chosen": True, "refused": False, "offering": True, "plain": False}
