"""Launch templates: keep creation parameters, and create resources from them.

:class:`TemplateService` stores :class:`~engine.templates.models.LaunchTemplate`
rows for their owners (CIMI MachineTemplate, VolumeTemplate, NetworkTemplate,
AddressTemplate, CredentialTemplate) and *launches* them: ``launch_compute``
creates a guest with its volumes and interfaces in the caller's transaction,
through the compute, storage and network services, so every rule of those
services (quotas, placement, states, jobs) applies unchanged.

Templates are synchronous and job-free. A template names other resources by
engine id; when it is saved those must be visible to the caller, else the
template is refused with :class:`~engine.errors.InvalidInput` (a reference
in a request body, not the request's target, is wrong). Launching checks
them again, since they may have gone since.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.catalog.models import ComputeOffering, DiskOffering, Image, NetworkOffering
from engine.catalog.service import CatalogService
from engine.compute.attachments import AttachmentService
from engine.compute.interfaces import InterfaceService
from engine.compute.keys import KeyService
from engine.compute.models import Compute, SSHKey
from engine.compute.service import ComputeService
from engine.db import new_id
from engine.errors import InvalidInput, NotFound
from engine.jobs.models import Job
from engine.network.models import Network
from engine.network.service import NetworkService
from engine.resources import checks
from engine.resources.checks import UNSET, Unset
from engine.scope import Owner, Scope
from engine.storage.models import Volume
from engine.storage.service import StorageService
from engine.templates._params import check_parameters
from engine.templates.models import LaunchTemplate, TemplateKind

#: The catalog model an ``offering_id`` names, by template kind.
_OFFERINGS: Mapping[TemplateKind, type[Any]] = {
    TemplateKind.COMPUTE: ComputeOffering,
    TemplateKind.VOLUME: DiskOffering,
    TemplateKind.NETWORK: NetworkOffering,
}


@contextmanager
def _reference(field: str) -> Iterator[None]:
    """A NotFound for an id named in parameters is the caller's input error."""
    try:
        yield
    except NotFound as exc:
        raise InvalidInput(f"{field}: {exc.message}", field=field, reason="unknown") from None


class TemplateService:
    """Templates as their owners and administrators see them.

    :param session: the unit of work; the caller commits (and, after a
        launch, wakes workers with :func:`engine.jobs.worker.notify`).
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- storing ---------------------------------------------------------------

    def create(
        self,
        scope: Scope,
        kind: TemplateKind,
        *,
        name: str = "",
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> LaunchTemplate:
        """Store a template of *kind* for the caller's account (and current project).

        :raises InvalidInput: a malformed value, or a parameter naming a
            resource the caller cannot see.
        """
        owner = Owner.for_scope(scope)
        if owner.account_id is None or owner.domain_id is None:
            raise InvalidInput("only an account can own a template; act as a user of one")
        kind = TemplateKind(kind)
        checks.check_text("name", name, 255)
        checks.check_text("description", description, 1024)
        checks.check_properties(properties)
        checked = self.check(scope, kind, parameters)
        template = LaunchTemplate(
            id=new_id(),
            kind=kind,
            name=name,
            description=description,
            properties=dict(properties or {}),
            parameters=checked,
            account_id=owner.account_id,
            project_id=owner.project_id,
            domain_id=owner.domain_id,
        )
        self.session.add(template)
        self.session.flush()
        return template

    def get(
        self, scope: Scope, template_id: str, kind: TemplateKind | None = None
    ) -> LaunchTemplate:
        """A template visible to ``scope`` (of *kind*, if given).

        :raises NotFound: no such template, of another kind, or another tenant's.
        """
        query = self._visible(scope).where(LaunchTemplate.id == template_id)
        if kind is not None:
            query = query.where(LaunchTemplate.kind == kind)
        template = self.session.scalar(query)
        if template is None:
            raise NotFound(f"no template {template_id!r}", subject="template", id=template_id)
        return template

    def list(self, scope: Scope, kind: TemplateKind | None = None) -> builtins.list[LaunchTemplate]:
        """Templates visible to ``scope``, oldest first (of *kind*, if given)."""
        query = self._visible(scope)
        if kind is not None:
            query = query.where(LaunchTemplate.kind == kind)
        query = query.order_by(LaunchTemplate.created, LaunchTemplate.id)
        return builtins.list(self.session.scalars(query))

    def update(
        self,
        scope: Scope,
        template_id: str,
        *,
        name: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        properties: Mapping[str, str] | Unset = UNSET,
        parameters: Mapping[str, Any] | Unset = UNSET,
    ) -> LaunchTemplate:
        """Change the fields given; ``parameters`` replaces the whole set.

        :raises NotFound: no such template visible to ``scope``.
        :raises InvalidInput: as for :meth:`create`.
        """
        template = self.get(scope, template_id)
        if not isinstance(name, Unset):
            checks.check_text("name", name, 255)
            template.name = name
        if not isinstance(description, Unset):
            checks.check_text("description", description, 1024)
            template.description = description
        if not isinstance(properties, Unset):
            checks.check_properties(properties)
            template.properties = dict(properties)
        if not isinstance(parameters, Unset):
            template.parameters = self.check(scope, template.kind, parameters)
        self.session.flush()
        return template

    def delete(self, scope: Scope, template_id: str) -> None:
        """Forget a template; what was created from it stays.

        :raises NotFound: no such template visible to ``scope``.
        """
        self.session.delete(self.get(scope, template_id))
        self.session.flush()

    # -- checking --------------------------------------------------------------

    def check(
        self, scope: Scope, kind: TemplateKind, parameters: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """*parameters* checked for form and for the visibility of the ids they name.

        :raises InvalidInput: naming the first parameter at fault.
        """
        checked = check_parameters(kind, parameters)
        catalog = CatalogService(self.session)
        if "offering_id" in checked:
            with _reference("offering_id"):
                catalog.get_entry(scope, _OFFERINGS[kind], checked["offering_id"])
        if "image_id" in checked:
            with _reference("image_id"):
                catalog.get_entry(scope, Image, checked["image_id"])
        with _reference("credential_id"):
            if "credential_id" in checked:
                KeyService(self.session).get(scope, checked["credential_id"])
        with _reference("network_id"):
            if "network_id" in checked:
                NetworkService(self.session).get(scope, checked["network_id"])
        for i, item in enumerate(checked.get("volumes", ())):
            with _reference(f"volumes[{i}].volume_id"):
                StorageService(self.session).get(scope, item["volume_id"])
        for i, item in enumerate(checked.get("volume_templates", ())):
            if "template_id" not in item and "parameters" not in item:
                raise InvalidInput(
                    f"volume_templates[{i}] needs a template_id or parameters",
                    field="volume_templates",
                    reason="missing_parameters",
                )
            if "template_id" in item:
                with _reference(f"volume_templates[{i}].template_id"):
                    self.get(scope, item["template_id"], TemplateKind.VOLUME)
            if "parameters" in item:
                self.check(scope, TemplateKind.VOLUME, item["parameters"])
        for i, item in enumerate(checked.get("networks", ())):
            with _reference(f"networks[{i}].network_id"):
                NetworkService(self.session).get(scope, item["network_id"])
        return checked

    # -- launching -------------------------------------------------------------

    def launch_compute(
        self,
        scope: Scope,
        *,
        name: str,
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
        parameters: Mapping[str, Any],
        placement_group: str | None = None,
        placement_policy: str | None = None,
        zone_id: str | None = None,
    ) -> tuple[Compute, Job]:
        """Create a compute from compute parameters, with its volumes and interfaces.

        New volumes (``volume_templates``) are created first, so their
        creation jobs are queued before the compute's and have run when the
        guest is defined; existing ``volumes`` and the ``networks`` are
        attached as the compute is created (prepared attachments and
        interfaces, completed by its creation job); with no ``networks``, it
        joins its owner's default network of the zone, if there is one
        (:mod:`engine.network.defaults`). The compute is placed where all its
        volumes are reached.

        :param placement_group: the caller's placement group it joins, made
            with ``placement_policy`` if new (:meth:`ComputeService.create`).
        :param zone_id: the zone to place it in; by default the first enabled one.
        :returns: the compute and its creation job.
        :raises InvalidInput: malformed or invisible parameters.
        :raises QuotaExceeded, CapacityUnavailable, Conflict: as the compute,
            storage and network services raise them.
        """
        params = self.check(scope, TemplateKind.COMPUTE, parameters)
        storage, network = StorageService(self.session), NetworkService(self.session)
        key = params.get("ssh_public_key")
        if "credential_id" in params:
            key = self._key(scope, params["credential_id"]).public_key
        volumes: list[tuple[Volume, str | None]] = [
            (storage.get(scope, item["volume_id"]), item.get("device"))
            for item in params.get("volumes", ())
        ]
        for i, item in enumerate(params.get("volume_templates", ())):
            volume, _job = self.launch_volume(
                scope,
                name=f"{name}-disk{i + 1}",
                parameters=self._volume_parameters(scope, item),
                zone_id=zone_id,
            )
            volumes.append((volume, item.get("device")))
        compute, job = ComputeService(self.session).create(
            scope,
            name=name,
            description=description,
            properties=properties,
            offering_id=params.get("offering_id"),
            vcpus=params.get("vcpus"),
            memory_mib=params.get("memory_mib"),
            image_id=params.get("image_id"),
            hostname=params.get("hostname"),
            ssh_public_key=key,
            user_data=params.get("user_data"),
            start=params.get("start", True),
            ha_enabled=params.get("ha_enabled"),
            volumes=[volume for volume, _ in volumes],
            placement_group=placement_group,
            placement_policy=placement_policy,
            zone_id=zone_id,
        )
        for volume, device in volumes:
            AttachmentService(self.session).prepare_attachment(scope, compute, volume, device)
        for item in params.get("networks", ()):
            InterfaceService(self.session).prepare_interface(
                scope,
                compute,
                network.get(scope, item["network_id"]),
                ip_address=item.get("ip_address"),
                mac=item.get("mac"),
            )
        if not params.get("networks"):
            InterfaceService(self.session).join_default_network(scope, compute)
        return compute, job

    def launch_volume(
        self,
        scope: Scope,
        *,
        name: str,
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
        parameters: Mapping[str, Any],
        zone_id: str | None = None,
    ) -> tuple[Volume, Job]:
        """Create a volume from volume parameters (:meth:`StorageService.create_volume`),
        in ``zone_id`` (by default the first enabled zone)."""
        params = self.check(scope, TemplateKind.VOLUME, parameters)
        return StorageService(self.session).create_volume(
            scope,
            name=name,
            description=description,
            properties=properties,
            zone_id=zone_id,
            **params,
        )

    def launch_network(
        self,
        scope: Scope,
        *,
        name: str,
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
        parameters: Mapping[str, Any],
        zone_id: str | None = None,
    ) -> tuple[Network, Job]:
        """Create a network from network parameters (:meth:`NetworkService.create_network`),
        in ``zone_id`` (by default the first enabled zone)."""
        params = self.check(scope, TemplateKind.NETWORK, parameters)
        return NetworkService(self.session).create_network(
            scope,
            name=name,
            description=description,
            properties=properties,
            zone_id=zone_id,
            **params,
        )

    def launch_credential(
        self,
        scope: Scope,
        *,
        name: str,
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
        parameters: Mapping[str, Any],
    ) -> SSHKey:
        """Keep an SSH key from credential parameters (:meth:`KeyService.create`)."""
        params = self.check(scope, TemplateKind.CREDENTIAL, parameters)
        if "public_key" not in params:
            raise InvalidInput("a credential needs a public_key", field="public_key")
        return KeyService(self.session).create(
            scope,
            name=name,
            public_key=params["public_key"],
            description=description,
            properties=properties,
        )

    # -- internals -------------------------------------------------------------

    def _key(self, scope: Scope, key_id: str) -> SSHKey:
        with _reference("credential_id"):
            return KeyService(self.session).get(scope, key_id)

    def _volume_parameters(self, scope: Scope, item: Mapping[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        if "template_id" in item:
            merged.update(self.get(scope, item["template_id"], TemplateKind.VOLUME).parameters)
        merged.update(item.get("parameters", {}))
        return merged

    def _visible(self, scope: Scope) -> sa.Select[LaunchTemplate]:
        return sa.select(LaunchTemplate).where(
            scope.owner_filter(
                LaunchTemplate.account_id, LaunchTemplate.project_id, LaunchTemplate.domain_id
            )
        )


__all__ = ["TemplateService"]
