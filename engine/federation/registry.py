"""The registry role of site discovery: member sites, their GLUE documents, questions over them.

A federation's registry keeps, for each member site, where its GLUE 2.1
document is published and the last copy it read (the HTTP edge fetches
them: the engine makes no network call). From those copies it answers the
questions a user or a broker asks before choosing a site: which sites offer
image X (by its global id or its name), and which have room for a guest of a
given size (an instance type at least that large, and, for a virtual
organisation, a share whose guest limit is not reached).

A document is kept as the member published it, after a check of its shape;
answers read only the classes and attributes a GLUE 2.1 document has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.federation.models import FederationMember
from engine.federation.monitoring import latest_checks
from engine.naming import check_name
from engine.scope import Scope
from engine.tenancy.server_keys import ServerKeys

#: The GLUE classes a member's document must have (lists of objects).
REQUIRED_CLASSES = ("CloudComputingService", "CloudComputingEndpoint")
#: The most objects of one class read from a document.
MAX_OBJECTS = 10_000


#: Why a caller who is not a root administrator is refused.
_ROOT_ONLY = "only root administrators manage the federation's members"


@dataclass(frozen=True)
class SiteMatch:
    """A member site that answers a question, and what in its document does.

    :param site: the member's name.
    :param endpoints: its endpoints' URLs by interface name.
    :param matches: the names of the images or instance types that answered.
    :param fetched: when its document was read.
    :param health: each endpoint's GLUE health state and why, by interface
        name: the registry's latest probe of it, else what the member
        published (``unknown`` when it published none).
    """

    site: str
    endpoints: dict[str, str]
    matches: tuple[str, ...]
    fetched: dt.datetime | None
    health: dict[str, tuple[str, str]] = field(default_factory=dict)


def check_document(document: Any) -> dict[str, list[dict[str, Any]]]:
    """``document`` if it has the shape of a GLUE 2.1 JSON document, else InvalidInput."""
    if not isinstance(document, dict):
        raise InvalidInput("a GLUE document is a JSON object of GLUE classes")
    for name in REQUIRED_CLASSES:
        if name not in document:
            raise InvalidInput(
                f"the GLUE document has no {name}", subject="glue_document", reason="malformed"
            )
    for name, objects in document.items():
        if (
            not isinstance(objects, list)
            or len(objects) > MAX_OBJECTS
            or not all(isinstance(o, dict) for o in objects)
        ):
            raise InvalidInput(
                f"GLUE class {name!r} must be a list of objects",
                subject="glue_document",
                reason="malformed",
            )
    return document


def _objects(document: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    objects = document.get(name, [])
    return objects if isinstance(objects, list) else []


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _share_has_room(document: Mapping[str, Any], share: str) -> bool:
    for entry in _objects(document, "Share"):
        if entry.get("Name") == share:
            limit = entry.get("MaxVM")
            return limit is None or _number(entry.get("TotalVM")) < _number(limit)
    return False


def _published_health(entry: Mapping[str, Any]) -> tuple[str, str]:
    state, info = entry.get("HealthState"), entry.get("HealthStateInfo")
    if not isinstance(state, str) or not state:
        return "unknown", "not probed by the registry, and the site publishes no health"
    said = f": {info[:512]}" if isinstance(info, str) and info else ""
    return state[:32], f"as the site publishes it, not probed by the registry{said}"


def _match(
    session: Session, member: FederationMember, document: Mapping[str, Any], names: tuple[str, ...]
) -> SiteMatch:
    # A site's word on its own health is only a claim; the registry's own
    # probe of an endpoint (engine.federation.monitoring) wins over it.
    probed = latest_checks(session, member)
    endpoints, health = {}, {}
    for entry in _objects(document, "CloudComputingEndpoint"):
        interface = str(entry.get("InterfaceName"))
        endpoints[interface] = str(entry.get("URL"))
        check = probed.get(interface)
        health[interface] = (
            (check.health, check.reason) if check is not None else _published_health(entry)
        )
    return SiteMatch(member.name, endpoints, names, member.fetched, health)


class RegistryService:
    """Member sites of a federation registry, and what their documents answer.

    :param session: the unit of work; the caller commits.
    :param server_keys: the keys members' tokens are sealed with.
    """

    def __init__(self, session: Session, server_keys: ServerKeys) -> None:
        self.session = session
        self.server_keys = server_keys

    def add_member(
        self, scope: Scope, name: str, glue_url: str, token: str | None = None
    ) -> FederationMember:
        """Register a member site whose GLUE document is at ``glue_url``.

        :param token: the bearer token the member gave this registry to read it.
        """
        scope.require_root_admin(_ROOT_ONLY)
        check_name("site", name)
        if not glue_url.startswith(("https://", "http://")):
            raise InvalidInput("the member's GLUE URL must be an http(s) URL", field="glue_url")
        if self.session.scalar(sa.select(FederationMember.id).where(FederationMember.name == name)):
            raise AlreadyExists(f"site {name!r} is already a member", subject="site", name=name)
        member = FederationMember(
            name=name,
            glue_url=glue_url,
            sealed_token=self.server_keys.seal(token) if token else None,
        )
        self.session.add(member)
        self.session.flush()
        return member

    def remove_member(self, scope: Scope, name: str) -> None:
        """Forget a member site and its document."""
        scope.require_root_admin(_ROOT_ONLY)
        self.session.delete(self._member(name))
        self.session.flush()

    def list_members(self, scope: Scope) -> list[FederationMember]:
        """The member sites, by name."""
        scope.require_root_admin(_ROOT_ONLY)
        return list(
            self.session.scalars(sa.select(FederationMember).order_by(FederationMember.name))
        )

    def token(self, member: FederationMember) -> str | None:
        """The clear bearer token to read ``member``'s document with, if it has one."""
        return self.server_keys.unseal(member.sealed_token) if member.sealed_token else None

    def record(self, name: str, document: Any = None, error: str | None = None) -> str | None:
        """Record what reading a member's document gave: a document, or why there is none.

        A failed read keeps the last good document (a registry answers from
        the last known state) and records the error beside it.

        :returns: the error recorded (a document that is not a GLUE document is
            one), or None when the document was kept.
        """
        member = self._member(name)
        if error is None:
            try:
                member.document = check_document(document)
            except InvalidInput as exc:
                error = exc.message
        if error is None:
            member.fetched = utcnow()
            member.error = None
        else:
            member.error = error[:1024]
        self.session.flush()
        return error

    def sites_offering_image(self, image: str) -> list[SiteMatch]:
        """The members whose document lists an image with global id or name ``image``."""
        found = []
        for member, document in self._with_documents():
            names = tuple(
                str(i.get("Name"))
                for i in _objects(document, "CloudComputingImage")
                if image in (i.get("MarketplaceURL"), i.get("Name"))
            )
            if names:
                found.append(_match(self.session, member, document, names))
        return found

    def sites_with_room(
        self, vcpus: int, memory_mib: int, share: str | None = None
    ) -> list[SiteMatch]:
        """The members offering an instance type of at least ``vcpus`` and ``memory_mib``.

        :param share: a virtual organisation's share name: the member must have
            one of that name whose guest limit (``MaxVM``) is not reached.
        """
        if vcpus < 0 or memory_mib < 0:
            raise InvalidInput("sizes are zero or more")
        found = []
        for member, document in self._with_documents():
            if share is not None and not _share_has_room(document, share):
                continue
            names = tuple(
                str(t.get("Name"))
                for t in _objects(document, "CloudComputingInstanceType")
                if _number(t.get("CPU")) >= vcpus and _number(t.get("RAM")) >= memory_mib
            )
            if names:
                found.append(_match(self.session, member, document, names))
        return found

    def _with_documents(self) -> list[tuple[FederationMember, dict[str, Any]]]:
        members = self.session.scalars(sa.select(FederationMember).order_by(FederationMember.name))
        return [(m, m.document) for m in members if isinstance(m.document, dict)]

    def _member(self, name: str) -> FederationMember:
        member = self.session.scalar(
            sa.select(FederationMember).where(FederationMember.name == name)
        )
        if member is None:
            raise NotFound(f"no member site {name!r}", subject="site", name=name)
        return member
