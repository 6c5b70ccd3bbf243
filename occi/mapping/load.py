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
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from engine.compute.models import Compute
from engine.errors import NotFound
from engine.network.models import Network, NetworkInterface
from engine.resources.tag_models import Tag
from engine.storage.models import StorageAttachment
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

    @property
    def row(self) -> Any:
        """The engine row."""
        return self.facts.row

    @property
    def id(self) -> str:
        """The engine id (the last segment of the location)."""
        return str(self.facts.row.id)

    @property
    def location(self) -> str:
        """``/<kind term>/<id>``."""
        return f"/{self.table.term}/{self.id}"


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
    """Related rows of every visible entity, each fetched once, on first use."""

    def __init__(self, ctx: OcciContext) -> None:
        self.ctx = ctx

    @cached_property
    def computes(self) -> dict[str, Compute]:
        """Visible computes by id."""
        return {c.id: c for c in self.ctx.engine.compute.list(self.ctx.scope)}

    @cached_property
    def networks(self) -> dict[str, Network]:
        """Visible networks by id."""
        return {n.id: n for n in self.ctx.engine.network.list(self.ctx.scope)}

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
        # A link of a compute being deleted goes with it.
        compute = self.computes.get(compute_id)
        return compute is None or compute.state not in GONE

    @cached_property
    def tags(self) -> dict[str, list[Tag]]:
        """Visible tags by the id of the resource that carries them."""
        return self.ctx.tags.tags_of(self.ctx.scope)

    def link(self, row: StorageAttachment | NetworkInterface) -> Loaded:
        """A link with its compute's state and (interfaces) its network's gateway."""
        compute = self.computes.get(row.compute_id)
        state = compute.state if compute is not None else None
        if isinstance(row, NetworkInterface):
            network = self.networks.get(row.network_id)
            facts = t.Facts(row, state, network.gateway if network is not None else None)
            return Loaded(t.NETWORKINTERFACE, facts, tags=self.tags.get(row.id, []))
        return Loaded(t.STORAGELINK, t.Facts(row, state), tags=self.tags.get(row.id, []))

    def compute(self, row: Compute, links: dict[str, list[Loaded]]) -> Loaded:
        """A compute with its links."""
        return Loaded(t.COMPUTE, t.Facts(row), links.get(row.id, []), self.tags.get(row.id, []))

    def links_by_compute(self) -> dict[str, list[Loaded]]:
        """Every live link, grouped by its compute (storage links first, by device)."""
        grouped: dict[str, list[Loaded]] = {}
        rows: list[StorageAttachment | NetworkInterface] = [*self.attachments, *self.interfaces]
        for row in rows:
            grouped.setdefault(row.compute_id, []).append(self.link(row))
        return grouped


#: The engine service listing each resource Kind (``request.engine.<name>``).
_RESOURCE_LISTS = {t.COMPUTE: "compute", t.STORAGE: "storage", t.NETWORK: "network"}


def load_kind(ctx: OcciContext, table: t.KindTable, *, full: bool = True) -> list[Loaded]:
    """Every live entity of one Kind visible to the caller, oldest first.

    :param full: load links and tags too; without, only what a location
        listing needs (one query).
    """
    if not full and table in _RESOURCE_LISTS:
        # A listing by location: ids and states only.
        rows = _live(_service(ctx, table).list_states(ctx.scope))
        return [Loaded(table, t.Facts(row)) for row in rows]
    batch = Batch(ctx)
    if table is t.COMPUTE:
        rows = _live(batch.computes.values())
        links = batch.links_by_compute()
        return [batch.compute(row, links) for row in rows]
    if table is t.STORAGELINK or table is t.NETWORKINTERFACE:
        rows = batch.attachments if table is t.STORAGELINK else batch.interfaces
        if not full:
            return [Loaded(table, t.Facts(row)) for row in rows]
        return [batch.link(row) for row in rows]
    listed = _live(_service(ctx, table).list(ctx.scope))
    return [Loaded(table, t.Facts(row), tags=batch.tags.get(row.id, [])) for row in listed]


def _service(ctx: OcciContext, table: t.KindTable) -> Any:
    """The engine service of a resource Kind."""
    return getattr(ctx.engine, _RESOURCE_LISTS[table])


def load_all(ctx: OcciContext, kinds: Iterable[t.KindTable], *, full: bool = True) -> list[Loaded]:
    """The entities of several Kinds, Kind by Kind, sharing the batched queries."""
    return [entity for table in kinds for entity in load_kind(ctx, table, full=full)]


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
    for link in links:
        link.tags = tags.get(link.id, [])
    return Loaded(table, t.Facts(row), links, tags.get(row.id, []))


def _compute_links(ctx: OcciContext, compute: Compute) -> list[Loaded]:
    engine, scope = ctx.engine, ctx.scope
    links = [
        Loaded(t.STORAGELINK, t.Facts(row, compute.state))
        for row in _live(engine.attachments.list_attachments(scope, compute_id=compute.id))
    ]
    for row, gateway in engine.interfaces.list_interfaces_with_gateways(scope, compute.id):
        if row.state not in GONE:
            links.append(Loaded(t.NETWORKINTERFACE, t.Facts(row, compute.state, gateway)))
    return links


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
    return Loaded(table, t.Facts(row, compute.state, gateway), tags=tags)


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
    "Batch",
    "Loaded",
    "load_all",
    "load_kind",
    "load_location",
    "load_one",
    "location_of",
    "parse_location",
]
