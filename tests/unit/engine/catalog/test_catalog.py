"""The catalog: images and offerings, who creates them and who sees them.

Runs on SQLite and MariaDB over the seeded cloud of ``tests/conftest.py``:
ROOT (admin), acme (acmeadmin, alice in dev, bob in ops), globex (carol).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session

from engine.catalog.models import ComputeOffering, DiskOffering, Image, NetworkOffering
from engine.catalog.service import CatalogService
from engine.compute.models import Compute
from engine.db import Database
from engine.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
)
from engine.inventory.models import Zone
from engine.lifecycle import State
from engine.network.models import Network
from engine.scope import Scope
from engine.storage.models import Volume
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import LimitOwner, ResourceType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.quotas import QuotaService
from engine.tenancy.service import TenancyService

ScopeOf = Callable[[str], Scope]
EVERYONE = ("admin", "acmeadmin", "alice", "bob", "carol")
KINDS = (Image, ComputeOffering, DiskOffering, NetworkOffering)


@pytest.fixture
def session(database: Database, tenancy: object) -> Iterator[Session]:
    with database.session() as session:
        yield session
        session.rollback()


@pytest.fixture
def catalog(session: Session) -> CatalogService:
    return CatalogService(session)


@pytest.fixture
def scope_of(session: Session, hasher: PasswordHasher) -> ScopeOf:
    credentials = CredentialService(session, hasher)
    return lambda username: credentials.authenticate_password(username, f"{username}-password")


def _create(catalog: CatalogService, scope: Scope, model: type, name: str, **kw):
    if model is Image:
        return catalog.create_image(scope, name, public=kw.pop("public", True), **kw)
    if model is ComputeOffering:
        return catalog.create_compute_offering(scope, name, vcpus=1, memory_mib=512, **kw)
    if model is DiskOffering:
        return catalog.create_disk_offering(scope, name, size_gib=10, **kw)
    return catalog.create_network_offering(scope, name, **kw)


def _names(catalog: CatalogService, scope: Scope, model: type) -> list[str]:
    return [e.name for e in catalog.list_entries(scope, model)]


@pytest.mark.parametrize("model", KINDS, ids=lambda m: m.__name__)
def test_public_entries_are_seen_by_everyone(
    catalog: CatalogService, tenancy, scope_of: ScopeOf, model: type
) -> None:
    entry = _create(catalog, tenancy.root, model, "everywhere")
    assert entry.is_public and entry.domain_id is None
    for username in EVERYONE:
        assert _names(catalog, scope_of(username), model) == ["everywhere"]
        assert catalog.get_entry(scope_of(username), model, entry.id).id == entry.id


@pytest.mark.parametrize("model", KINDS, ids=lambda m: m.__name__)
def test_domain_restricted_entries_stay_in_their_subtree(
    catalog: CatalogService, tenancy, scope_of: ScopeOf, model: type
) -> None:
    entry = _create(catalog, tenancy.root, model, "acme-only", domain_id=tenancy.ids["acme"])
    for username in ("admin", "acmeadmin", "alice", "bob"):
        assert _names(catalog, scope_of(username), model) == ["acme-only"]
    assert _names(catalog, scope_of("carol"), model) == []
    with pytest.raises(NotFound):
        catalog.get_entry(scope_of("carol"), model, entry.id)
    with pytest.raises(NotFound):
        catalog.find_entry(scope_of("carol"), model, "acme-only")


def test_domain_admins_create_entries_for_their_subtree_only(
    catalog: CatalogService, tenancy, scope_of: ScopeOf, session: Session, hasher
) -> None:
    acmeadmin = scope_of("acmeadmin")
    offering = catalog.create_compute_offering(acmeadmin, "acme-big", vcpus=8, memory_mib=8192)
    assert offering.domain_id == tenancy.ids["acme"]  # restricted by default
    assert _names(catalog, scope_of("carol"), ComputeOffering) == []
    lab = TenancyService(session, hasher).create_domain(acmeadmin, "lab")
    sub = catalog.create_disk_offering(acmeadmin, "lab-disk", size_gib=5, domain_id=lab.id)
    assert _names(catalog, acmeadmin, DiskOffering) == ["lab-disk"]  # below its domain
    assert _names(catalog, scope_of("alice"), DiskOffering) == []  # alice is not in lab
    assert catalog.get_entry(tenancy.root, DiskOffering, sub.id).domain_id == lab.id
    with pytest.raises(NotFound):  # another domain: not one it administers
        catalog.create_disk_offering(acmeadmin, "x", size_gib=1, domain_id=tenancy.ids["globex"])


@pytest.mark.parametrize("username", ["alice", "carol"])
def test_users_create_only_private_images(
    catalog: CatalogService, scope_of: ScopeOf, username: str
) -> None:
    user = scope_of(username)
    for model in KINDS:
        with pytest.raises(PermissionDenied):
            _create(catalog, user, model, "mine")
    with pytest.raises(PermissionDenied, match="where an image's bytes are"):
        catalog.create_image(user, "evil", location="/etc/shadow")


def test_private_images_are_seen_like_their_owners_resources(
    catalog: CatalogService, tenancy, scope_of: ScopeOf, session: Session
) -> None:
    alice = scope_of("alice")
    image = catalog.create_image(alice, "my-image", os_type="linux", min_disk_gib=2)
    assert (image.account_id, image.domain_id) == (tenancy.ids["dev"], tenancy.ids["acme"])
    assert not image.is_public
    for username in ("admin", "acmeadmin", "alice"):
        assert _names(catalog, scope_of(username), Image) == ["my-image"]
    for username in ("bob", "carol"):
        assert _names(catalog, scope_of(username), Image) == []
        with pytest.raises(NotFound):
            catalog.get_entry(scope_of(username), Image, image.id)
        with pytest.raises(NotFound):  # not PermissionDenied: existence must not leak
            catalog.delete_entry(scope_of(username), Image, image.id)
    quotas = QuotaService(session)
    usage = {
        u.resource_type: u.used for u in quotas.usage(alice, LimitOwner.ACCOUNT, tenancy.ids["dev"])
    }
    assert usage[ResourceType.TEMPLATES] == 1
    catalog.delete_entry(alice, Image, image.id)
    usage = {
        u.resource_type: u.used for u in quotas.usage(alice, LimitOwner.ACCOUNT, tenancy.ids["dev"])
    }
    assert usage[ResourceType.TEMPLATES] == 0


def test_project_images_are_seen_by_the_project_members(
    catalog: CatalogService, tenancy, scope_of: ScopeOf, session: Session, hasher
) -> None:
    tenancy_service = TenancyService(session, hasher)
    project = tenancy_service.create_project(scope_of("alice"), "web")
    tenancy_service.add_member(scope_of("alice"), project.id, tenancy.ids["bob"])
    in_project = scope_of("alice").with_project(project.id)
    image = catalog.create_image(in_project, "web-image")
    assert image.project_id == project.id
    assert _names(catalog, scope_of("bob"), Image) == ["web-image"]
    assert _names(catalog, scope_of("alice"), Image) == ["web-image"]
    assert _names(catalog, scope_of("carol"), Image) == []
    catalog.update_entry(scope_of("bob"), Image, image.id, description="members manage it")


def test_admins_register_private_images_for_accounts(
    catalog: CatalogService, tenancy, scope_of: ScopeOf
) -> None:
    image = catalog.create_image(tenancy.root, "for-bob", account_id=tenancy.ids["ops"])
    assert image.account_id == tenancy.ids["ops"]
    assert _names(catalog, scope_of("bob"), Image) == ["for-bob"]
    with pytest.raises(NotFound):
        catalog.create_image(scope_of("acmeadmin"), "x", account_id=tenancy.ids["sales"])
    with pytest.raises(NotFound):
        catalog.create_image(scope_of("alice"), "x", account_id=tenancy.ids["ops"])
    with pytest.raises(InvalidInput, match="name the account"):
        catalog.create_image(tenancy.root, "no-owner")


def test_updates_need_the_right_to_manage(
    catalog: CatalogService, tenancy, scope_of: ScopeOf
) -> None:
    public = catalog.create_image(tenancy.root, "debian-12", public=True)
    alice = scope_of("alice")
    with pytest.raises(PermissionDenied):
        catalog.update_entry(alice, Image, public.id, name="mine-now")
    with pytest.raises(PermissionDenied):
        catalog.delete_entry(scope_of("acmeadmin"), Image, public.id)
    updated = catalog.update_entry(
        tenancy.root,
        Image,
        public.id,
        name="debian-12.5",
        description="point release",
        properties={"demo": "true"},
    )
    assert (updated.name, updated.description, updated.properties) == (
        "debian-12.5",
        "point release",
        {"demo": "true"},
    )
    private = catalog.create_image(alice, "scratch")
    catalog.update_entry(scope_of("acmeadmin"), Image, private.id, description="by the admin")
    catalog.create_image(alice, "taken")
    with pytest.raises(AlreadyExists):
        catalog.update_entry(alice, Image, private.id, name="taken")
    with pytest.raises(InvalidInput):
        catalog.update_entry(alice, Image, private.id, properties={"k": 1})  # type: ignore[dict-item]


def test_find_prefers_the_callers_own_entries(
    catalog: CatalogService, tenancy, scope_of: ScopeOf
) -> None:
    public = catalog.create_image(tenancy.root, "debian-12", public=True)
    acme = catalog.create_image(
        tenancy.root, "debian-12", public=True, domain_id=tenancy.ids["acme"]
    )
    alice = scope_of("alice")
    own = catalog.create_image(alice, "debian-12")
    bobs = catalog.create_image(scope_of("bob"), "debian-12")
    assert catalog.find_entry(alice, Image, "debian-12").id == own.id
    assert catalog.find_entry(scope_of("bob"), Image, "debian-12").id == bobs.id
    assert catalog.find_entry(scope_of("carol"), Image, "debian-12").id == public.id
    assert catalog.find_entry(tenancy.root, Image, "debian-12").id == public.id
    catalog.delete_entry(alice, Image, own.id)
    assert catalog.find_entry(alice, Image, "debian-12").id == acme.id
    # The acme administrator sees alice's and bob's images alike: no owner is closer.
    catalog.delete_entry(tenancy.root, Image, public.id)
    catalog.delete_entry(tenancy.root, Image, acme.id)
    catalog.create_image(alice, "debian-12")
    with pytest.raises(Conflict, match="use the id"):
        catalog.find_entry(scope_of("acmeadmin"), Image, "debian-12")
    with pytest.raises(AlreadyExists):
        catalog.create_image(alice, "debian-12")
    catalog.create_compute_offering(tenancy.root, "s", vcpus=1, memory_mib=1)
    with pytest.raises(AlreadyExists):
        catalog.create_compute_offering(tenancy.root, "s", vcpus=2, memory_mib=2)
    # The same name restricted to a domain is another entry.
    catalog.create_compute_offering(
        tenancy.root, "s", vcpus=1, memory_mib=1, domain_id=tenancy.ids["acme"]
    )


def test_the_templates_limit_applies_to_private_images(
    catalog: CatalogService, tenancy, scope_of: ScopeOf, session: Session
) -> None:
    QuotaService(session).set_limit(
        tenancy.root, LimitOwner.ACCOUNT, tenancy.ids["dev"], ResourceType.TEMPLATES, 1
    )
    catalog.create_image(scope_of("alice"), "one")
    with pytest.raises(QuotaExceeded):
        catalog.create_image(scope_of("alice"), "two")
    assert _names(catalog, scope_of("alice"), Image) == ["one"]


def test_entries_in_use_are_not_deleted(catalog: CatalogService, tenancy, session: Session) -> None:
    root = tenancy.root
    zone = Zone(name="z")
    session.add(zone)
    session.flush()
    image = catalog.create_image(root, "img", public=True)
    size = catalog.create_compute_offering(root, "small", vcpus=1, memory_mib=512)
    disk = catalog.create_disk_offering(root, "10g", size_gib=10)
    net = catalog.create_network_offering(root, "isolated")
    owned = {"account_id": tenancy.ids["dev"], "domain_id": tenancy.ids["acme"], "zone_id": zone.id}
    compute = Compute(
        name="vm",
        state="running",
        vcpus=1,
        memory_mib=512,
        image_id=image.id,
        offering_id=size.id,
        **owned,
    )
    volume = Volume(name="v", state="available", size_bytes=1, offering_id=disk.id, **owned)
    network = Network(name="n", state="active", cidr="10.0.0.0/24", offering_id=net.id, **owned)
    session.add_all([compute, volume, network])
    session.flush()
    for model, entry, what in (
        (Image, image, "guest"),
        (ComputeOffering, size, "guest"),
        (DiskOffering, disk, "volume"),
        (NetworkOffering, net, "network"),
    ):
        with pytest.raises(Conflict, match=f"used by 1 {what}"):
            catalog.delete_entry(root, model, entry.id)
    for row in (compute, volume, network):
        row.state = State.DELETED.value  # deleted resources hold nothing
    for model, entry in (
        (Image, image),
        (ComputeOffering, size),
        (DiskOffering, disk),
        (NetworkOffering, net),
    ):
        catalog.delete_entry(root, model, entry.id)
        assert catalog.list_entries(root, model) == []


@pytest.mark.parametrize(
    ("model", "arguments", "field"),
    [
        (ComputeOffering, {"vcpus": 0, "memory_mib": 512}, "vcpus"),
        (ComputeOffering, {"vcpus": True, "memory_mib": 512}, "vcpus"),
        (ComputeOffering, {"vcpus": 1, "memory_mib": 0}, "memory_mib"),
        (ComputeOffering, {"vcpus": 1, "memory_mib": 2**31}, "memory_mib"),
        (ComputeOffering, {"vcpus": 1, "memory_mib": 1, "root_disk_gib": -1}, "root_disk_gib"),
        (ComputeOffering, {"vcpus": 1, "memory_mib": 1, "host_tags": ["a b"]}, "tag"),
        (DiskOffering, {"size_gib": 0}, "size_gib"),
        (DiskOffering, {"size_gib": "10"}, "size_gib"),
        # Not a whole number of GiB: refused, never rounded (issue 16).
        (DiskOffering, {"size_gib": 1.5}, "size_gib must be a whole number of GiB"),
        (ComputeOffering, {"vcpus": 1, "memory_mib": 1, "root_disk_gib": 2.5}, "whole"),
        (NetworkOffering, {"default_cidr": "10.0.0.1/24"}, "CIDR"),
        (NetworkOffering, {"default_cidr": "nonsense"}, "CIDR"),
        (NetworkOffering, {"isolation": "flat"}, "isolation"),
        (Image, {"public": True, "disk_format": "vmdk"}, "disk_format"),
        (Image, {"public": True, "size_bytes": -1}, "size_bytes"),
        (Image, {"public": True, "min_memory_mib": -1}, "min_memory_mib"),
        (Image, {"public": True, "os_type": "two words"}, "os_type"),
        (Image, {"public": True, "description": "x" * 1025}, "description"),
        (Image, {"public": True, "properties": {"": "x"}}, "property"),
        (Image, {"public": True, "zone_id": "no-such-zone"}, "zone"),
    ],
)
def test_sizes_and_values_are_validated(
    catalog: CatalogService, tenancy, model: type, arguments: dict, field: str
) -> None:
    create = {
        Image: catalog.create_image,
        ComputeOffering: catalog.create_compute_offering,
        DiskOffering: catalog.create_disk_offering,
        NetworkOffering: catalog.create_network_offering,
    }[model]
    with pytest.raises((InvalidInput, NotFound), match=field):
        create(tenancy.root, "bad", **arguments)
    with pytest.raises(InvalidInput, match="name"):
        _create(catalog, tenancy.root, model, "not a name")
    assert catalog.list_entries(tenancy.root, model) == []


def test_valid_entries_keep_their_values(catalog: CatalogService, tenancy) -> None:
    root = tenancy.root
    size = catalog.create_compute_offering(
        root,
        "ha-large",
        vcpus=4,
        memory_mib=8192,
        root_disk_gib=20,
        host_tags=["ssd"],
        ha_enabled=True,
        description="HA",
        properties={"tier": "gold"},
    )
    assert (size.vcpus, size.memory_mib, size.root_disk_gib, size.host_tags) == (4, 8192, 20, "ssd")
    assert size.ha_enabled and size.properties == {"tier": "gold"}
    custom = catalog.create_disk_offering(root, "custom", size_gib=None)
    assert custom.size_gib is None
    net = catalog.create_network_offering(
        root, "vx", isolation="vxlan", default_cidr="192.168.10.0/24", dhcp=False
    )
    assert (net.isolation, net.default_cidr, net.dhcp) == ("vxlan", "192.168.10.0/24", False)
    image = catalog.create_image(
        root, "alpine-3.20", public=True, min_memory_mib=64, properties={"demo": "true"}
    )
    assert image.location is None and image.state == "available"
