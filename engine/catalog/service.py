"""The catalog: OS images and compute, disk and network offerings.

Who sees what (the renderings turn these into OCCI ``os_tpl`` and
``resource_tpl`` mixins and CIMI MachineImage and *Configuration resources):

* a *public* entry with no domain is seen by everyone;
* a public entry restricted to a domain is seen in that domain's subtree
  (and by the administrators of the domains above it);
* a *private* image belongs to an account, or a project of it, and is seen
  like any resource of that owner (:meth:`engine.scope.Scope.owner_filter`).

Root administrators create any public entry; domain administrators create
public entries restricted to a domain they administer; any user may register
a private image (counted against its ``templates`` limit). Offerings are
never private. Managing an entry (update, delete) takes the same right as
creating it; an entry the caller cannot see is :class:`~engine.errors.NotFound`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.catalog import _values as values
from engine.catalog._access import SUBJECTS, closeness, entries_query, same
from engine.catalog.image_events import emit_image
from engine.catalog.models import ComputeOffering, DiskOffering, Image, NetworkOffering
from engine.drivers.specs import DISK_FORMATS
from engine.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from engine.inventory.hosts import host_tags as tags_text
from engine.inventory.models import Zone
from engine.lifecycle import Kind
from engine.naming import check_name
from engine.resources.checks import check_whole_gib
from engine.resources.references import count_users
from engine.scope import Owner, Scope
from engine.tenancy.models import Account, Domain, ResourceType
from engine.tenancy.quotas import QuotaService

Entry = TypeVar("Entry", Image, ComputeOffering, DiskOffering, NetworkOffering)
KIND_NAMES: Mapping[type[Any], str] = {
    Image: "image",
    ComputeOffering: "compute offering",
    DiskOffering: "disk offering",
    NetworkOffering: "network offering",
}
ISOLATIONS = frozenset({"vlan", "vxlan"})


class CatalogService:
    """Create, list, find, update and delete catalog entries.

    Methods that work on any kind take the model class (:class:`Image`,
    :class:`ComputeOffering`, :class:`DiskOffering`, :class:`NetworkOffering`).

    :param session: the unit of work; the caller commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- creation ------------------------------------------------------------------

    def create_image(
        self,
        scope: Scope,
        name: str,
        *,
        public: bool = False,
        domain_id: str | None = None,
        account_id: str | None = None,
        description: str | None = None,
        os_type: str = "linux",
        arch: str = "x86_64",
        disk_format: str = "raw",
        size_bytes: int = 0,
        min_disk_gib: int = 0,
        min_memory_mib: int = 0,
        zone_id: str | None = None,
        location: str | None = None,
        properties: Mapping[str, str] | None = None,
        record: bool = True,
    ) -> Image:
        """Register an OS image.

        :param public: make it public (administrators), restricted to
            ``domain_id`` if given; else it is private.
        :param account_id: for a private image registered by an administrator
            on behalf of an account of its domains; by default the caller's
            account (and current project).
        :param location: where its bytes are (a libvirt ``pool/volume``, or the
            absolute path of a volume of a storage pool of the hosts);
            administrators only, since every guest of it boots a copy made on
            its host. ``None`` means a firmware-only guest.
        :param record: record ``image.created`` now (a capture records it
            when the image is filled, with its size).
        :raises PermissionDenied: a user asked for a public image or a location.
        :raises QuotaExceeded: the owner's ``templates`` limit is reached.
        """
        if disk_format not in DISK_FORMATS:
            raise InvalidInput(
                f"disk_format is one of {sorted(DISK_FORMATS)}",
                field="disk_format",
                reason="unknown",
            )
        fields: dict[str, Any] = {
            "os_type": values.word("os_type", os_type),
            "arch": values.word("arch", arch),
            "disk_format": disk_format,
            "size_bytes": values.integer("size_bytes", size_bytes, 0, 2**63 - 1),
            "min_disk_gib": values.integer("min_disk_gib", min_disk_gib, 0),
            "min_memory_mib": values.integer("min_memory_mib", min_memory_mib, 0),
            "location": values.text("location", location),
        }
        if location is not None and not scope.is_admin:
            raise PermissionDenied(
                "only administrators set where an image's bytes are", subject=Kind.IMAGE.value
            )
        if zone_id is not None:
            if self.session.get(Zone, zone_id) is None:
                raise NotFound(f"no zone {zone_id!r}", subject="zone", id=zone_id)
            fields["zone_id"] = zone_id
        if public:
            if account_id is not None:
                raise InvalidInput(
                    "a public image belongs to no account",
                    field="account_id",
                    reason="conflicting",
                )
            owner = Owner(None, None, self._public_domain(scope, domain_id))
        else:
            owner = self._private_owner(scope, account_id)
        # One savepoint: an image over the owner's limit leaves no row behind.
        with self.session.begin_nested():
            image = self._add(Image, scope, name, owner, description, properties, fields)
            if owner.account_id is not None:
                QuotaService(self.session).charge(owner, {ResourceType.TEMPLATES: 1})
            if record:
                emit_image(self.session, image, "image.created", scope=scope)
        return image

    def create_compute_offering(
        self,
        scope: Scope,
        name: str,
        *,
        vcpus: int,
        memory_mib: int,
        root_disk_gib: int = 0,
        cpu_share: int = 1024,
        host_tags: Iterable[str] = (),
        ha_enabled: bool = False,
        domain_id: str | None = None,
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> ComputeOffering:
        """Create a public machine size (optionally restricted to a domain subtree).

        :param cpu_share: relative CPU weight under contention (libvirt shares).
        :param host_tags: tags a host must carry to take these guests.
        :param ha_enabled: guests are restarted elsewhere when their host fails.
        """
        fields: dict[str, Any] = {
            "vcpus": values.integer("vcpus", vcpus, 1, 1024),
            "memory_mib": values.integer("memory_mib", memory_mib, 1),
            "root_disk_gib": check_whole_gib(root_disk_gib, "root_disk_gib", 0, values.INT32),
            "cpu_share": values.integer("cpu_share", cpu_share, 2, 262144),
            "host_tags": tags_text(host_tags),
            "ha_enabled": bool(ha_enabled),
        }
        owner = Owner(None, None, self._public_domain(scope, domain_id))
        return self._add(ComputeOffering, scope, name, owner, description, properties, fields)

    def create_disk_offering(
        self,
        scope: Scope,
        name: str,
        *,
        size_gib: int | None,
        storage_tags: Iterable[str] = (),
        domain_id: str | None = None,
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> DiskOffering:
        """Create a public volume size; ``size_gib=None`` lets the client choose the size."""
        fields: dict[str, Any] = {
            "size_gib": None
            if size_gib is None
            else check_whole_gib(size_gib, "size_gib", 1, values.INT32),
            "storage_tags": tags_text(storage_tags),
        }
        owner = Owner(None, None, self._public_domain(scope, domain_id))
        return self._add(DiskOffering, scope, name, owner, description, properties, fields)

    def create_network_offering(
        self,
        scope: Scope,
        name: str,
        *,
        isolation: str = "vlan",
        dhcp: bool = True,
        default_cidr: str = "10.1.0.0/24",
        domain_id: str | None = None,
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> NetworkOffering:
        """Create a public kind of network.

        :param isolation: ``vlan`` or ``vxlan``.
        :param default_cidr: the range networks get unless they name one.
        """
        if isolation not in ISOLATIONS:
            raise InvalidInput(
                f"isolation is one of {sorted(ISOLATIONS)}", field="isolation", reason="unknown"
            )
        try:
            cidr = str(ipaddress.ip_network(default_cidr, strict=True))
        except (ValueError, TypeError):
            raise InvalidInput(
                f"invalid CIDR {default_cidr!r}", field="default_cidr", reason="cidr"
            ) from None
        fields = {"isolation": isolation, "dhcp": bool(dhcp), "default_cidr": cidr}
        owner = Owner(None, None, self._public_domain(scope, domain_id))
        return self._add(NetworkOffering, scope, name, owner, description, properties, fields)

    # -- reading -------------------------------------------------------------------

    def list_entries(self, scope: Scope, model: type[Entry]) -> list[Entry]:
        """The entries of one kind the caller sees, by name."""
        query, parameters = entries_query(model, scope, "all")
        return list(self.session.scalars(query, parameters))

    def get_entry(self, scope: Scope, model: type[Entry], entry_id: str) -> Entry:
        """Return an entry the caller sees.

        :raises NotFound: no such entry, or not visible to the caller.
        """
        query, parameters = entries_query(model, scope, "id")
        entry = self.session.scalar(query, {**parameters, "entry_id": entry_id})
        if entry is None:
            raise NotFound(
                f"no {KIND_NAMES[model]} {entry_id!r}", subject=SUBJECTS[model], id=entry_id
            )
        return entry

    def find_entry(self, scope: Scope, model: type[Entry], name: str) -> Entry:
        """Return the visible entry called ``name``, the caller's own first.

        Preference: the caller's current project, its account, entries
        restricted to its domains, then cloud-wide public ones.

        :raises NotFound: none is visible.
        :raises Conflict: several equally close entries have that name (use the id).
        """
        query, parameters = entries_query(model, scope, "name")
        entries = self.session.scalars(query, {**parameters, "entry_name": name}).all()
        if not entries:
            raise NotFound(f"no {KIND_NAMES[model]} {name!r}", subject=SUBJECTS[model], name=name)
        ranked = sorted(entries, key=lambda e: closeness(scope, e))
        if len(ranked) > 1 and closeness(scope, ranked[0]) == closeness(scope, ranked[1]):
            raise Conflict(
                f"several {KIND_NAMES[model]}s are called {name!r}: use the id",
                subject=SUBJECTS[model],
                name=name,
                reason="ambiguous",
            )
        return ranked[0]

    # -- changes -------------------------------------------------------------------

    def update_entry(
        self,
        scope: Scope,
        model: type[Entry],
        entry_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> Entry:
        """Rename an entry, or replace its description or properties.

        :raises PermissionDenied: the caller sees the entry but may not manage it.
        """
        entry = self.get_entry(scope, model, entry_id)
        self._require_manage(scope, entry)
        if name is not None and name != entry.name:
            check_name(KIND_NAMES[model], name)
            owner = Owner(entry.account_id, entry.project_id, entry.domain_id)
            self._check_unique(model, name, owner)
            entry.name = name
        if description is not None:
            entry.description = values.text("description", description)
        if properties is not None:
            entry.properties = values.properties(properties)
        self.session.flush()
        return entry

    def delete_entry(self, scope: Scope, model: type[Entry], entry_id: str) -> None:
        """Delete an entry that nothing uses any more.

        :raises Conflict: a guest, volume or network still refers to it.
        """
        entry = self.get_entry(scope, model, entry_id)
        self._require_manage(scope, entry)
        # Guests, volumes and networks declare what they use (their models
        # call refers_to): the catalog refuses without knowing them.
        for what, users in count_users(self.session, model.__tablename__, [entry.id]):
            raise Conflict(
                f"{KIND_NAMES[model]} {entry.name!r} is used by {users} {what}(s)",
                subject=SUBJECTS[model],
                name=entry.name,
                reason="in_use",
                other=what,
            )
        if entry.account_id is not None:
            owner = Owner(entry.account_id, entry.project_id, entry.domain_id)
            QuotaService(self.session).release(owner, {ResourceType.TEMPLATES: 1})
        if isinstance(entry, Image):
            # Usage accounting stops metering the image's storage here.
            emit_image(self.session, entry, "image.deleted", scope=scope, state="deleted")
        self.session.delete(entry)
        self.session.flush()

    # -- internals -----------------------------------------------------------------

    def _add(
        self,
        model: type[Entry],
        scope: Scope,
        name: str,
        owner: Owner,
        description: str | None,
        properties: Mapping[str, str] | None,
        fields: Mapping[str, Any],
    ) -> Entry:
        check_name(KIND_NAMES[model], name)
        self._check_unique(model, name, owner)
        entry = model(
            name=name,
            description=values.text("description", description),
            properties=values.properties(properties),
            account_id=owner.account_id,
            project_id=owner.project_id,
            domain_id=owner.domain_id,
            **fields,
        )
        self.session.add(entry)
        self.session.flush()
        return entry

    def _check_unique(self, model: type[Entry], name: str, owner: Owner) -> None:
        # Unique per owner: per account or project for private entries, per
        # domain restriction for public ones. Not a database constraint,
        # because the owner columns are nullable and NULLs never collide.
        query = sa.select(model.id).where(
            model.name == name,
            same(model.account_id, owner.account_id),
            same(model.project_id, owner.project_id),
        )
        if owner.account_id is None:
            query = query.where(same(model.domain_id, owner.domain_id))
        if self.session.scalar(query.limit(1)):
            raise AlreadyExists(
                f"{KIND_NAMES[model]} {name!r} already exists", subject=SUBJECTS[model], name=name
            )

    def _public_domain(self, scope: Scope, domain_id: str | None) -> str | None:
        """The domain a new public entry is restricted to (None: the whole cloud)."""
        if not scope.is_admin:
            raise PermissionDenied("only administrators create public catalog entries")
        if domain_id is None:
            if scope.is_root_admin:
                return None
            domain_id = scope.domain_id  # a domain administrator's entries stay in its subtree
        domain = self.session.get(Domain, domain_id)
        if domain is None or not scope.administers_domain(domain.path):
            raise NotFound(f"no domain {domain_id!r}", subject="domain", id=domain_id)
        return domain.id

    def _private_owner(self, scope: Scope, account_id: str | None) -> Owner:
        if account_id is None or account_id == scope.account_id:
            if scope.account_id is None:
                raise InvalidInput(
                    "name the account that owns a private image, or make it public",
                    field="account_id",
                    reason="required",
                )
            return Owner.for_scope(scope)
        account = self.session.get(Account, account_id)
        if account is None or not scope.administers_domain(account.domain.path):
            raise NotFound(f"no account {account_id!r}", subject="account", id=account_id)
        return Owner(account.id, None, account.domain_id)

    def _require_manage(self, scope: Scope, entry: Any) -> None:
        domain = self.session.get(Domain, entry.domain_id) if entry.domain_id else None
        if entry.account_id is not None:
            allowed = domain is not None and scope.can_see_owner(
                entry.account_id, entry.project_id, domain.path
            )
        elif domain is None:
            allowed = scope.is_root_admin
        else:
            allowed = scope.administers_domain(domain.path)
        if not allowed:
            raise PermissionDenied(
                f"only its owner or administrators manage this {entry.name!r}",
                subject=SUBJECTS[type(entry)],
            )


__all__ = ["ISOLATIONS", "KIND_NAMES", "CatalogService", "Entry"]
