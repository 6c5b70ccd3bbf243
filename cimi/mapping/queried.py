"""The SQL descriptions of the Collections whose queries run in the database.

Machines, Volumes and Networks are the Collections a tenant grows to
thousands of entries; their ``$filter``, ``$orderby``, ``$first`` and
``$last`` are compiled to SQL (:mod:`cimi.query.sql`), so that a listing
reads only the rows it returns. Each description below lists, for every
attribute of the rendered entry, the SQL that computes the same value from
the row: it must agree with the binding's ``fields`` getters (a Hypothesis
test in ``tests/unit/cimi/test_cimi_sql_filter.py`` holds them equal).
The other Collections are small (templates, configurations, one account's
keys) and are queried in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from cimi.mapping import states
from cimi.mapping.base import Context
from cimi.mapping.links import Links
from cimi.query.sql import (
    Columns,
    Value,
    constant,
    flag,
    href,
    instant,
    integer,
    mapped,
    properties,
    text,
)
from engine.compute.models import Compute, PlacementGroup, PlacementGroupMember
from engine.inventory.models import Zone
from engine.lifecycle import State
from engine.network.models import Network
from engine.storage.models import Volume


def _codes(table: Mapping[State, str]) -> dict[str, str | None]:
    return {state.value: word for state, word in table.items()}


def common(links: Links, key: str, model: Any) -> dict[tuple[str, ...], Value]:
    """The common attributes (DSP0263 5.7.1) of a resource at ``<base><key>/<id>``."""
    return {
        ("id",): href(links.of(key, ""), model.id),
        ("name",): text(model.name),
        ("description",): text(model.description),
        ("created",): instant(model.created),
        ("updated",): instant(model.updated),
    }


def _dialect(ctx: Context) -> str:
    return str(ctx.engine.session.get_bind().dialect.name)


def machine_columns(ctx: Context, architectures: Mapping[str, str]) -> Columns:
    """Machine (5.14.1) over ``computes``: as :class:`cimi.mapping.machines.Machines` renders."""
    return _machines(ctx.links.base, _dialect(ctx), tuple(architectures.items()))


def volume_columns(ctx: Context) -> Columns:
    """Volume (5.15) over ``volumes``: as :class:`cimi.mapping.volumes.Volumes` renders."""
    return _volumes(ctx.links.base, _dialect(ctx))


def network_columns(ctx: Context) -> Columns:
    """Network (5.16) over ``networks``: as :class:`cimi.mapping.networks.Networks` renders."""
    return _networks(ctx.links.base, _dialect(ctx))


# Building the expressions costs more than running the query they make, and
# they depend only on the base URI and the database: they are built once
# per pair (a few base URIs at most: the cache is bounded all the same).


def _columns(
    dialect: str, values: dict[tuple[str, ...], Value], model: Any, references: frozenset[str]
) -> Columns:
    return Columns(values, properties(model.properties), references, dialect)


def _group(column: Any) -> Any:
    """The compute's placement group's *column* (a correlated subquery; NULL when none)."""
    return (
        sa.select(column)
        .join(PlacementGroupMember, PlacementGroupMember.group_id == PlacementGroup.id)
        .where(PlacementGroupMember.compute_id == Compute.id)
        .limit(1)
        .scalar_subquery()
    )


def _zone(model: Any) -> Any:
    """The name of the row's zone (a correlated subquery), as ``cimi.mapping.zones`` shows it."""
    return sa.select(Zone.name).where(Zone.id == model.zone_id).scalar_subquery()


@lru_cache(maxsize=16)
def _machines(base: str, dialect: str, architectures: tuple[tuple[str, str], ...]) -> Columns:
    links = Links(base)
    prefix = links.of("machines", "")
    values = common(links, "machines", Compute)
    values.update(
        {
            ("state",): mapped(Compute.state, _codes(states.MACHINE)),
            ("cpu",): integer(Compute.vcpus),
            ("memory",): integer(Compute.memory_mib, 1024),
            ("disks", "href"): href(prefix, Compute.id, "/disks"),
            ("cpuArch",): mapped(Compute.arch, dict(architectures)),
            ("volumes", "href"): href(prefix, Compute.id, "/volumes"),
            ("networkInterfaces", "href"): href(prefix, Compute.id, "/networkInterfaces"),
            ("placementGroup",): text(_group(PlacementGroup.name)),
            ("placementPolicy",): text(_group(PlacementGroup.policy)),
            ("highlyAvailable",): flag(Compute.ha_enabled),
            ("stateMessage",): text(Compute.state_message),
            ("zone",): text(_zone(Compute)),
        }
    )
    refs = frozenset({"disks", "volumes", "networkInterfaces"})
    return _columns(dialect, values, Compute, refs)


@lru_cache(maxsize=16)
def _volumes(base: str, dialect: str) -> Columns:
    values = common(Links(base), "volumes", Volume)
    values.update(
        {
            ("state",): mapped(Volume.state, _codes(states.VOLUME)),
            ("capacity",): integer(Volume.size_bytes // 1024),
            ("bootable",): flag(Volume.bootable),
            ("zone",): text(_zone(Volume)),
        }
    )
    return _columns(dialect, values, Volume, frozenset())


@lru_cache(maxsize=16)
def _networks(base: str, dialect: str) -> Columns:
    links = Links(base)
    values = common(links, "networks", Network)
    values.update(
        {
            ("state",): mapped(Network.state, _codes(states.NETWORK)),
            ("networkType",): constant("PRIVATE"),
            ("networkPorts", "href"): href(links.of("networks", ""), Network.id, "/networkPorts"),
            ("zone",): text(_zone(Network)),
        }
    )
    return _columns(dialect, values, Network, frozenset({"networkPorts"}))


__all__ = ["common", "machine_columns", "network_columns", "volume_columns"]
