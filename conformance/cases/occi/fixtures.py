"""What the full profile creates: entities, links, user Mixins; each tracked for cleanup.

Every entity gets a title of the form ``conformance-<run>-<what>-<n>``, so that it
can be found again even when the server answers a creation with 200 and no
location, and so that an operator can tell the harness's objects from others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from conformance.cases.occi.support import QUERY_INTERFACE, OcciSupport
from conformance.cases.session import CaseFailed, CaseSkipped, Session
from conformance.client import Client, Exchange
from conformance.formats import occi_build
from conformance.formats.occi_build import LinkSpec
from conformance.formats.occi_model import (
    COMPUTE,
    NETWORK,
    NETWORKINTERFACE,
    OCCI,
    OS_TPL,
    RESOURCE_TPL,
    STORAGE,
    STORAGELINK,
    TEXT_PLAIN,
    Category,
)
from conformance.ledger import Owned

#: Values for required attributes the harness knows (small, so cheap to create).
KNOWN_VALUES: dict[str, Any] = {
    "occi.storage.size": 1.0,
    "occi.compute.cores": 1,
    "occi.compute.memory": 1.0,
    "occi.network.vlan": 0,
    "occi.storagelink.deviceid": "/dev/vdb",
    "occi.networkinterface.interface": "eth1",
}
_SET_BY_HARNESS = ("occi.core.id", "occi.core.title", "occi.core.source", "occi.core.target")


@dataclass(frozen=True)
class Created:
    """The answer to a creation request, and where the new entity is (if found)."""

    exchange: Exchange
    location: str | None
    title: str

    @property
    def status(self) -> int:
        """The answer's status (what :func:`conformance.wait.settled` looks at)."""
        return self.exchange.status


class OcciFixtures(OcciSupport):
    """Discovery plus creation (see :class:`OcciSupport`)."""

    @classmethod
    def of(cls, session: Session) -> OcciFixtures:
        """The run's instance (created on first use)."""
        found = session.cache.get("occi.support")
        if not isinstance(found, cls):
            found = cls(session)
            session.cache["occi.support"] = found
        return found

    def require_full(self) -> None:
        """Skip unless the run may create and delete."""
        if self.session.config.profile != "full":
            raise CaseSkipped("needs --profile full (creates and deletes its own resources)")

    def templates(self, kind: Category) -> list[Category]:
        """For compute: the first OS template and the first resource template offered."""
        if kind.type_id != COMPUTE:
            return []
        model = self.model()
        chosen = []
        for parent in (OS_TPL, RESOURCE_TPL):
            found = [m for m in model.templates(parent) if not m.scheme.startswith(OCCI)]
            if found:
                chosen.append(found[0])
        return chosen

    def attributes_for(self, kind: Category, title: str, mixins: list[Category]) -> dict[str, Any]:
        """A title and a value for every attribute the Kind or its Mixins require."""
        model = self.model()
        wanted: dict[str, Any] = {"occi.core.title": title}
        definitions = dict(model.all_attributes(kind))
        for mixin in mixins:
            definitions.update(model.all_attributes(mixin))
        for name, definition in definitions.items():
            if not definition.required or name in _SET_BY_HARNESS or not definition.mutable:
                continue
            if definition.has_default:
                continue
            wanted[name] = KNOWN_VALUES.get(name, _by_type(definition.type, title))
        return wanted

    def create(
        self,
        type_id: str,
        rendering: str = TEXT_PLAIN,
        *,
        what: str | None = None,
        mixins: list[Category] | None = None,
        attributes: dict[str, Any] | None = None,
        links: list[LinkSpec] | None = None,
        client: Client | None = None,
        separate_headers: bool = False,
    ) -> Created:
        """POST a new entity of Kind ``type_id`` to its location and track it."""
        self.require_full()
        client = client or self.client
        kind = self.kind(type_id)
        title = self.session.unique(what or kind.term)
        chosen = self.templates(kind) if mixins is None else mixins
        values = {**self.attributes_for(kind, title, chosen), **(attributes or {})}
        payload = occi_build.entity(
            rendering,
            kind,
            mixins=chosen,
            attributes=values,
            links=links or [],
            separate_headers=separate_headers,
        )
        exchange = client.request(
            "POST", self.location(kind), headers=payload.all_headers(rendering), body=payload.body
        )
        location = None
        if exchange.status in (200, 201, 202):
            location = self.locate(exchange, kind, title, client)
            if location is not None:
                self.session.ledger.track(Owned("occi", f"{kind.term} {title}", location, client))
        return Created(exchange, location, title)

    def locate(self, exchange: Exchange, kind: Category, title: str, client: Client) -> str | None:
        """Where a creation put the entity: Location, X-OCCI-Location, or a search by title."""
        response = exchange.response
        for candidate in (response.header("Location"), response.header("Content-Location")):
            if candidate:
                return urljoin(exchange.request.url, candidate.split(",")[0].strip())
        located = self.text_message(exchange, TEXT_PLAIN).locations or list(
            response.header_values("X-OCCI-Location")
        )
        if located:
            return urljoin(exchange.request.url, located[0])
        urls, _ = self.list_locations(self.location(kind), client)
        for url in urls[:200]:
            if self.read(url, client).attributes.get("occi.core.title") == title:
                return url
        return None

    def sample(self, type_id: str) -> str:
        """An entity to read: the harness's own in the full profile, else an existing one."""
        if self.session.config.profile == "full":
            return self.fixture(type_id)
        return self.existing(type_id)

    def fixture(self, type_id: str, *, failing: bool = False) -> str:
        """The location of the run's shared entity of Kind ``type_id`` (created once).

        :param failing: the caller tests the creation itself: a failed creation is
            its failure (for the others it is a skip).
        """

        def make() -> str:
            created = self.create(type_id, what=f"shared-{self.kind(type_id).term}")
            if created.exchange.status not in (200, 201, 202) or created.location is None:
                raise CaseFailed(
                    f"could not create a {self.kind(type_id).term}: {created.exchange.summary()}",
                    [created.exchange],
                )
            return created.location

        return self.session.memo(
            f"a {type_id.rsplit('#', 1)[-1]} of our own", make, failing=failing
        )

    def link_fixture(self, link_type: str, *, failing: bool = False) -> tuple[str, str, str]:
        """(link, compute, target) locations of a link created between two fixtures."""

        def make() -> tuple[str, str, str]:
            target_type = STORAGE if link_type == STORAGELINK else NETWORK
            compute, target = self.fixture(COMPUTE), self.fixture(target_type)
            created = self.create_link(link_type, compute, target)
            if created.exchange.status not in (200, 201, 202) or created.location is None:
                raise CaseFailed(
                    f"could not create a {link_type}: {created.exchange.summary()}",
                    [created.exchange],
                )
            return created.location, compute, target

        return self.session.memo(
            f"a {link_type.rsplit('#', 1)[-1]} of our own", make, failing=failing
        )

    def create_link(
        self, link_type: str, source: str, target: str, rendering: str = TEXT_PLAIN
    ) -> Created:
        """POST a Link of Kind ``link_type`` from ``source`` to ``target``."""
        target_kind = STORAGE if link_type == STORAGELINK else NETWORK
        attributes = {
            "occi.core.source": self._path(source),
            "occi.core.target": self._path(target),
        }
        if self.model().get(target_kind) is not None:
            attributes["occi.core.target.kind"] = target_kind
        return self.create(link_type, rendering, mixins=[], attributes=attributes)

    def _path(self, url: str) -> str:
        base = self.client.base_url.rstrip("/")
        return url[len(base) :] if url.startswith(base) else url

    def inline_links(self) -> list[LinkSpec]:
        """A storagelink to a storage of its own and a networkinterface to the shared network.

        The storage is not the shared one: a server may let a storage be linked
        to one compute only, and other cases link the shared storage already.
        """
        self.kind(STORAGELINK)
        self.kind(NETWORKINTERFACE)
        own = self.create(STORAGE, what="inline-storage")
        if own.exchange.status not in (200, 201, 202) or own.location is None:
            raise CaseFailed(
                f"could not create a storage: {own.exchange.summary()}", [own.exchange]
            )
        return [
            LinkSpec(self._path(own.location), STORAGE, STORAGELINK),
            LinkSpec(self._path(self.fixture(NETWORK)), NETWORK, NETWORKINTERFACE),
        ]

    # ------------------------------------------------------------ actions

    def invoke(
        self,
        url: str,
        action: Category,
        rendering: str = TEXT_PLAIN,
        attributes: dict[str, Any] | None = None,
    ) -> Exchange:
        """POST ``url?action=<term>`` with an action invocation rendering."""
        payload = occi_build.action(rendering, action, attributes)
        separator = "&" if "?" in url else "?"
        return self.client.request(
            "POST",
            f"{url}{separator}action={action.term}",
            headers=payload.all_headers(rendering),
            body=payload.body,
        )

    # ------------------------------------------------------------ user mixins

    def user_mixin(self, rendering: str = TEXT_PLAIN) -> tuple[Category, Exchange]:
        """Define a tag Mixin of our own through POST ``/-/`` and track it."""
        self.require_full()
        name = self.session.unique("tag")
        path = self.client.url(QUERY_INTERFACE).rsplit("-/", 1)[0] + f"{name}/"
        mixin = Category(
            term=name.replace("-", "_"),
            scheme=f"http://schemas.conformance.invalid/{self.session.run_id}/tags#",
            cls="mixin",
            title=f"conformance tag {name}",
            location=self._path(path),
        )
        payload = occi_build.mixin_definition(rendering, mixin)
        exchange = self.client.request(
            "POST", QUERY_INTERFACE, headers=payload.all_headers(rendering), body=payload.body
        )
        if exchange.status < 300:
            removal = occi_build.mixin_definition(TEXT_PLAIN, mixin)
            self.session.ledger.track(
                Owned(
                    "occi",
                    f"user mixin {mixin.type_id}",
                    self.client.url(mixin.location or ""),
                    self.client,
                    remove=lambda: self.client.request(
                        "DELETE", QUERY_INTERFACE, headers=removal.all_headers(), body=removal.body
                    ),
                    probe=lambda: self._mixin_gone(mixin),
                )
            )
        return mixin, exchange

    def _mixin_gone(self, mixin: Category) -> bool:
        exchange = self.client.get(QUERY_INTERFACE, TEXT_PLAIN)
        found, _ = self.categories(exchange, TEXT_PLAIN)
        return exchange.status == 200 and all(c.type_id != mixin.type_id for c in found)


def _by_type(json_type: str | None, title: str) -> Any:
    if json_type == "number":
        return 1
    if json_type == "boolean":
        return False
    return title
