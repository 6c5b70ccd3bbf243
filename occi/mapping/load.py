"""Loading entities from the engine: one at a time, or whole Kinds in a few queries.

A :class:`Loaded` is what :mod:`occi.mapping.render` needs to render an
entity: its table, its :class:`~occi.mapping.tables.Facts`, its links (a
compute's storage links and network interfaces, GFD.223 §3.7: "MUST render
all outgoing Links") and its tags. Loading a Kind batches the related rows
(one query per related table, never one per entity), so a listing of a
thousand computes costs the same handful of queries as a listing of one.

Entities whose deletion was accepted are not loaded (:data:`~occi.mapping.states.GONE`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from engine.compute.models import Compute
from engine.errors import NotFound
from engine.network.models import Network, NetworkInterface
from engine.resources.tag_models import Tag
from engine.storage.models import StorageAttachment
from occi.mapping import placement
from occi.mapping import tables as t
from occi.mapping.context import OcciContext
from occi.mapping.states import GONE

#: ``/<kind term>/<id>``: an entity's path (GFD.223 §3.1: instances have no trailing slash).
ENTITY_PATH = re.compile(r"/([a-z]+)/([^/?#]+)")


@dataclass
class Loaded:
    """An entity and what rendering it needs."""

    table: t.KindTable
    facts: t.Facts
    links: list[Loaded] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    #: A link's ``(source, target)`` public ids, when they differ from the row's
    #: foreign keys (an id its owner chose: engine.resources.ids).
    endpoints: tuple[str, str] | None = None
    #: A compute's OS and resource template type identifiers (readable terms,
    #: :attr:`OcciContext.catalog_templates`).
    template_ids: tuple[str, ...] = ()
    #: A resource's availability zone Mixin (:mod:`occi.mapping.zones`).
    zone_ids: tuple[str, ...] = ()

    @property
    def row(self) -> Any:
        """The engine row."""
        return self.facts.row

    @property
    def id(self) -> str:
        """The engine id: what engine calls are given."""
        return str(self.facts.row.id)

    @property
    def public_id(self) -> str:
        """The id clients see, the last segment of the location: the one its owner
        chose, else the engine id (a location listing's rows carry it as ``id``)."""
        row = self.facts.row
        # Asked of the class: a Core row answers a missing attribute through a
        # slow fallback, 1,000 times in a listing (issue 15).
        if hasattr(type(row), "public_id"):
            return str(row.public_id)
        return str(row.id)

    @property
    def location(self) -> str:
        """``/<kind term>/<public id>``."""
        return f"/{self.table.term}/{self.public_id}"


def location_of(table: t.KindTable, resource_id: str) -> str:
    """The path of an entity."""
    return f"/{table.term}/{resource_id}"


def parse_location(location: str) -> tuple[t.KindTable, str] | None:
    """``(table, id)`` of an entity path, or None when it is not one of ours."""
    match = ENTITY_PATH.fullmatch(location)
    if match is None or match.group(1) not in t.TABLES:
        return None
    return t.TABLES[match.group(1)], match.group(2)


def _live(rows: Iterable[Any]) -> list[Any]:
    return [row for row in rows if row.state not in GONE]


def _gone(table: t.KindTable, resource_id: str) -> NotFound:
    return NotFound(f"no {table.term} {resource_id!r}", id=resource_id)


class Batch:
    """Related rows of every visible entity, each fetched once, on first use.

    :param compute_where: a filter on the computes (:mod:`occi.mapping.sql_filters`):
        only those computes, and only their links, are loaded.
    :param computes: the computes already read (a page of them,
        :mod:`occi.mapping.paging`): only their links are wanted.
    """

    def __init__(
        self, ctx: OcciContext, compute_where: Any = None, computes: Iterable[Compute] | None = None
    ) -> None:
        self.ctx = ctx
        self.compute_where = compute_where
        # Only some computes are wanted: a link of another one is not.
        self.limited = compute_where is not None or computes is not None
        if computes is not None:
            self.__dict__["computes"] = {c.id: c for c in computes}  # the cached_property's slot

    @cached_property
    def computes(self) -> dict[str, Compute]:
        """Visible computes by id."""
        listed = self.ctx.engine.compute.list(self.ctx.scope, where=self.compute_where)
        return {c.id: c for c in listed}

    @cached_property
    def networks(self) -> dict[str, Network]:
        """Visible networks by id."""
        return {n.id: n for n in self.ctx.engine.network.list(self.ctx.scope)}

    @cached_property
    def volumes(self) -> dict[str, Any]:
        """Visible volumes by id (link targets)."""
        return {v.id: v for v in self.ctx.engine.storage.list(self.ctx.scope)}

    @cached_property
    def attachments(self) -> list[StorageAttachment]:
        """Visible, live storage attachments of live computes."""
        rows = self.ctx.engine.attachments.list_attachments(self.ctx.scope)
        return [row for row in _live(rows) if self._compute_live(row.compute_id)]

    @cached_property
    def interfaces(self) -> list[NetworkInterface]:
        """Visible, live network interfaces of live computes."""
        rows = self.ctx.engine.interfaces.list_interfaces(self.ctx.scope)
        return [row for row in _live(rows) if self._compute_live(row.compute_id)]

    def _compute_live(self, compute_id: str) -> bool:
        # A link of a compute being deleted goes with it; with a filter on the
        # computes, a link of a compute it left out is not wanted either.
        compute = self.computes.get(compute_id)
        if compute is None:
            return not self.limited
        return compute.state not in GONE

    @cached_property
    def tags(self) -> dict[str, list[Tag]]:
        """Visible tags by the id of the resource that carries them."""
        return self.ctx.tags.tags_of(self.ctx.scope)

    def link(self, row: StorageAttachment | NetworkInterface) -> Loaded:
        """A link with its compute's state and (interfaces) its network's gateway."""
        compute = self.computes.get(row.compute_id)
        state = compute.state if compute is not None else None
        source = compute.public_id if compute is not None else row.compute_id
        if isinstance(row, NetworkInterface):
            network = self.networks.get(row.network_id)
            facts = t.Facts(row, state, network.gateway if network is not None else None)
            target = network.public_id if network is not None else row.network_id
            return Loaded(
                t.NETWORKINTERFACE,
                facts,
                tags=self.tags.get(row.id, []),
                endpoints=(source, target),
            )
        volume = self.volumes.get(row.volume_id)
        target = volume.public_id if volume is not None else row.volume_id
        return Loaded(
            t.STORAGELINK,
            t.Facts(row, state),
            tags=self.tags.get(row.id, []),
            endpoints=(source, target),
        )

    @cached_property
    def compute_tags(self) -> dict[str, list[Tag]]:
        """:attr:`tags`, with each grouped compute's placement group Mixin."""
        return placement.with_group_mixins(self.ctx, list(self.computes), self.tags)

    def compute(self, row: Compute, links: dict[str, list[Loaded]]) -> Loaded:
        """A compute with its links."""
        return Loaded(
            t.COMPUTE,
            t.Facts(row),
            links.get(row.id, []),
            self.compute_tags.get(row.id, []),
            template_ids=self.ctx.template_ids(row),
            zone_ids=self.ctx.zone_ids(row),
        )

    def links_by_compute(self) -> dict[str, list[Loaded]]:
        """Every live link, grouped by its compute (storage links first, by device)."""
        grouped: dict[str, list[Loaded]] = {}
        rows: list[StorageAttachment | NetworkInterface] = [*self.attachments, *self.interfaces]
        for row in rows:
            grouped.setdefault(row.compute_id, []).append(self.link(row))
        return grouped


#: The engine service listing each resource Kind (``request.engine.<name>``).
RESOURCE_LISTS = {t.COMPUTE: "compute", t.STORAGE: "storage", t.NETWORK: "network"}


def load_kind(
    ctx: OcciContext, table: t.KindTable, *, full: bool = True, where: Any = None
) -> list[Loaded]:
    """Every live entity of one Kind visible to the caller, oldest first.

    :param full: load links and tags too; without, only what a location
        listing needs (one query).
    :param where: only the entities of a resource Kind that satisfy this
        condition on its table (:func:`occi.mapping.sql_filters.split`).
    """
    if where is not None:
        if table not in RESOURCE_LISTS:
            raise TypeError(f"no SQL filter on {table.term}")
        if not full:
            rows = _live(service_of(ctx, table).list(ctx.scope, where=where))
            return [Loaded(table, t.Facts(row)) for row in rows]
    if not full and table in RESOURCE_LISTS:
        # A listing by location: ids and states only.
        rows = _live(service_of(ctx, table).list_states(ctx.scope))
        return [Loaded(table, t.Facts(row)) for row in rows]
    batch = Batch(ctx, where if table is t.COMPUTE else None)
    if table is t.COMPUTE:
        rows = _live(batch.computes.values())
        links = batch.links_by_compute()
        return [batch.compute(row, links) for row in rows]
    if table is t.STORAGELINK or table is t.NETWORKINTERFACE:
        rows = batch.attachments if table is t.STORAGELINK else batch.interfaces
        if not full:
            return [Loaded(table, t.Facts(row)) for row in rows]
        return [batch.link(row) for row in rows]
    listed = _live(service_of(ctx, table).list(ctx.scope, where=where))
    return [
        Loaded(table, t.Facts(row), tags=batch.tags.get(row.id, []), zone_ids=ctx.zone_ids(row))
        for row in listed
    ]


def service_of(ctx: OcciContext, table: t.KindTable) -> Any:
    """The engine service of a resource Kind."""
    return getattr(ctx.engine, RESOURCE_LISTS[table])


def load_all(
    ctx: OcciContext,
    kinds: Iterable[t.KindTable],
    *,
    full: bool = True,
    where: Mapping[t.KindTable, Any] | None = None,
) -> list[Loaded]:
    """The entities of several Kinds, Kind by Kind (*where*: a condition per Kind)."""
    conditions = where or {}
    return [
        entity
        for table in kinds
        for entity in load_kind(ctx, table, full=full, where=conditions.get(table))
    ]


def load_one(ctx: OcciContext, table: t.KindTable, resource_id: str) -> Loaded:
    """One live entity visible to the caller, with its links and tags.

    :raises NotFound: no such entity, another tenant's, or being deleted.
    """
    engine, scope = ctx.engine, ctx.scope
    row: Any
    links: list[Loaded] = []
    if table is t.COMPUTE:
        row = engine.compute.get(scope, resource_id)
    elif table is t.STORAGE:
        row = engine.storage.get(scope, resource_id)
    elif table is t.NETWORK:
        row = engine.network.get(scope, resource_id)
    else:
        return _load_link(ctx, table, resource_id)
    if row.state in GONE:
        raise _gone(table, resource_id)
    if table is t.COMPUTE:
        links = _compute_links(ctx, row)
    tags = ctx.tags.tags_of(scope, [row.id, *(link.id for link in links)])
    if table is t.COMPUTE:
        tags = placement.with_group_mixins(ctx, [row.id], tags)
    for link in links:
        link.tags = tags.get(link.id, [])
    template_ids = ctx.template_ids(row) if table is t.COMPUTE else ()
    return Loaded(
        table,
        t.Facts(row),
        links,
        tags.get(row.id, []),
        template_ids=template_ids,
        zone_ids=ctx.zone_ids(row),
    )


def _compute_links(ctx: OcciContext, compute: Compute) -> list[Loaded]:
    engine, scope = ctx.engine, ctx.scope
    links = [
        Loaded(
            t.STORAGELINK,
            t.Facts(row, compute.state),
            endpoints=(compute.public_id, _target_id(ctx, row)),
        )
        for row in _live(engine.attachments.list_attachments(scope, compute_id=compute.id))
    ]
    for row, gateway in engine.interfaces.list_interfaces_with_gateways(scope, compute.id):
        if row.state not in GONE:
            facts = t.Facts(row, compute.state, gateway)
            endpoints = (compute.public_id, _target_id(ctx, row))
            links.append(Loaded(t.NETWORKINTERFACE, facts, endpoints=endpoints))
    return links


def _target_id(ctx: OcciContext, row: StorageAttachment | NetworkInterface) -> str:
    """The public id of a link's target (its volume or network)."""
    if isinstance(row, NetworkInterface):
        return ctx.engine.network.get(ctx.scope, row.network_id, include_deleted=True).public_id
    return ctx.engine.storage.get(ctx.scope, row.volume_id, include_deleted=True).public_id


def _load_link(ctx: OcciContext, table: t.KindTable, resource_id: str) -> Loaded:
    engine, scope = ctx.engine, ctx.scope
    gateway = None
    if table is t.NETWORKINTERFACE:
        row: Any = engine.interfaces.get_interface(scope, resource_id)
    else:
        row = engine.attachments.get_attachment(scope, resource_id)
    if row.state in GONE:
        raise _gone(table, resource_id)
    compute = engine.compute.get(scope, row.compute_id, include_deleted=True)
    if compute.state in GONE:  # the link goes with its compute
        raise _gone(table, resource_id)
    if isinstance(row, NetworkInterface):
        gateway = engine.network.get(scope, row.network_id, include_deleted=True).gateway
    tags = ctx.tags.tags_of(scope, [row.id]).get(row.id, [])
    endpoints = (compute.public_id, _target_id(ctx, row))
    return Loaded(table, t.Facts(row, compute.state, gateway), tags=tags, endpoints=endpoints)


def load_location(ctx: OcciContext, location: str) -> Loaded:
    """The entity at a path such as ``/compute/<id>``.

    :raises NotFound: not an entity path of this server, or no such entity.
    """
    parsed = parse_location(location)
    if parsed is None:
        raise NotFound(f"{location[:200]} is not the location of an entity here")
    return load_one(ctx, *parsed)


__all__ = [
    "ENTITY_PATH",
    "RESOURCE_LISTS",
    "Batch",
    "Loaded",
    "load_all",
    "load_kind",
    "load_location",
    "load_one",
    "location_of",
    "parse_location",
    "service_of",
]
