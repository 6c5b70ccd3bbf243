"""Engine services bound to a request: ``request.engine.compute`` and friends.

Both renderings reach the engine through this one object, so OCCI and CIMI
call exactly the same services with the same session and scope; neither
builds a service itself.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from concord.request import add_request_property
from engine.catalog.service import CatalogService
from engine.compute.attachments import AttachmentService
from engine.compute.groups import PlacementGroupService
from engine.compute.interfaces import InterfaceService
from engine.compute.keys import KeyService
from engine.compute.service import ComputeService
from engine.inventory.service import InventoryService
from engine.jobs.service import JobService
from engine.network.service import NetworkService
from engine.storage.service import StorageService
from engine.templates.service import TemplateService
from engine.tenancy.credentials import CredentialService
from engine.tenancy.quotas import QuotaService
from engine.tenancy.service import TenancyService
from engine.usage.meters import MeterService
from engine.usage.reports import UsageReports

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


class EngineServices:
    """The engine's services over one request's unit of work.

    :param request: the current request (for its session and registry).
    """

    def __init__(self, request: Request) -> None:
        self._request = request

    @property
    def session(self) -> Session:
        """The request's unit of work (committed by the edge tween)."""
        session: Session = self._request.dbsession
        return session

    @cached_property
    def tenancy(self) -> TenancyService:
        """Domains, accounts, users, projects."""
        return TenancyService(self.session, self._request.registry.password_hasher)

    @cached_property
    def credentials(self) -> CredentialService:
        """Passwords and API keys."""
        registry = self._request.registry
        return CredentialService(self.session, registry.password_hasher, registry.server_keys)

    @cached_property
    def quotas(self) -> QuotaService:
        """Resource limits and usage counters."""
        return QuotaService(self.session)

    @cached_property
    def jobs(self) -> JobService:
        """Asynchronous jobs."""
        return JobService(self.session)

    @cached_property
    def inventory(self) -> InventoryService:
        """Zones, pods, clusters, hosts (administrators only)."""
        return InventoryService(self.session, self._request.registry.drivers)

    @cached_property
    def catalog(self) -> CatalogService:
        """Images and offerings."""
        return CatalogService(self.session)

    @cached_property
    def compute(self) -> ComputeService:
        """Guests."""
        return ComputeService(self.session)

    @cached_property
    def storage(self) -> StorageService:
        """Volumes."""
        return StorageService(self.session)

    @cached_property
    def placement_groups(self) -> PlacementGroupService:
        """An account's affinity and anti-affinity groups."""
        return PlacementGroupService(self.session)

    @cached_property
    def attachments(self) -> AttachmentService:
        """Volumes attached to computes (a compute's storage links)."""
        return AttachmentService(self.session)

    @cached_property
    def network(self) -> NetworkService:
        """Networks."""
        return NetworkService(self.session)

    @cached_property
    def interfaces(self) -> InterfaceService:
        """Computes' interfaces on networks (a compute's network links)."""
        return InterfaceService(self.session)

    @cached_property
    def keys(self) -> KeyService:
        """SSH public keys of accounts."""
        return KeyService(self.session)

    @cached_property
    def usage(self) -> UsageReports:
        """Usage records and totals."""
        return UsageReports(self.session)

    @property
    def usage_period(self) -> str:
        """The setting ``usage_period``: ``hour`` or ``day``."""
        period: str = self._request.registry.concord_settings.usage_period
        return period

    @cached_property
    def meters(self) -> MeterService:
        """Usage as meters and samples (CIMI Meter, OCCI usage)."""
        return MeterService(self.session)

    @cached_property
    def templates(self) -> TemplateService:
        """Launch templates, and resources created from them."""
        return TemplateService(self.session)


def engine_services(request: Request) -> EngineServices:
    """The ``request.engine`` request method."""
    return EngineServices(request)


def includeme(config: Configurator) -> None:
    """Add ``request.engine`` and the process's driver cache."""
    from engine.drivers.factory import DriverCache

    config.registry.drivers = DriverCache()
    add_request_property(config, engine_services, "engine")
