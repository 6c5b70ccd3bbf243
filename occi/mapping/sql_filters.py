"""Attribute filters of compute, storage and network collections compiled to SQL (GFD.223 §3.5).

A collection's attribute filter (``?occi.compute.state=active``, or an
``X-OCCI-Attribute`` header of a GET) keeps the entities whose rendered
attribute is the same value (:func:`occi.mapping.validate.same_value`). For
the attributes below, the same decision is made in the engine's listing query,
from the row, so that a filtered listing reads only the entities it returns
(issue 15); every other attribute (``*.state.message``, those of templates or
links) stays with :func:`occi.mapping.filters.matches`, over the entities the
query returned. The SQL must decide exactly what ``same_value`` decides over
the rendering (a Hypothesis test, ``tests/unit/occi/test_occi_sql_filters.py``,
holds them equal on SQLite and MariaDB):

* strings compare exactly (MariaDB's tables use a binary, no-pad collation:
  engine.tables), an absent value (NULL) never matches, and a string never
  equals a number;
* a number equals the row's value within ``same_value``'s relative 1e-9,
  computed in IEEE doubles on both sides (``occi.compute.memory`` is
  ``memory_mib / 1024`` as the rendering divides it); a boolean is Python's
  ``1 == True``: the value 1 (or 0) exactly;
* mapped values (states, architectures, ``occi.core.id``) are turned back into
  the stored codes that render as the wanted value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from engine.compute.models import Compute
from engine.lifecycle import State
from engine.network.models import Network
from engine.storage.models import Volume
from occi.mapping import tables as t
from occi.mapping import units
from occi.mapping.states import occi_state
from occi.model import AttributeValue

#: The SQL deciding whether an entity's attribute is the same as a wanted value.
Equal = Callable[[AttributeValue], sa.ColumnElement[bool]]
#: A condition per table (what :func:`split` returns).
Conditions = Mapping[t.KindTable, sa.ColumnElement[bool]]
#: The relative tolerance of :func:`occi.mapping.validate.same_value`.
TOLERANCE = 1e-9


def _text(column: Any) -> Equal:
    def equal(value: AttributeValue) -> sa.ColumnElement[bool]:
        if not isinstance(value, str):
            return sa.false()  # "1" != 1 in same_value
        return sa.and_(column.is_not(None), column == value)

    return equal


def _double(expression: Any) -> sa.ColumnElement[float]:
    return sa.cast(expression, sa.Double())


def _number(expression: Any) -> Equal:
    """A number rendered from *expression* (an SQL double)."""

    def equal(value: AttributeValue) -> sa.ColumnElement[bool]:
        if isinstance(value, bool):
            # same_value leaves booleans to ==, and 1 == True, 1.0 == True.
            return sa.and_(expression.is_not(None), expression == _double(sa.literal(int(value))))
        if not isinstance(value, int | float):
            return sa.false()
        try:
            wanted = float(value)
        except OverflowError:
            return sa.false()  # beyond any double: no row's value is within 1e-9 of it
        if not math.isfinite(wanted):
            return sa.false()
        magnitude = sa.func.abs(expression)
        scale = sa.case((magnitude > _double(sa.literal(1.0)), magnitude), else_=_double(1.0))
        difference = sa.func.abs(expression - _double(sa.literal(wanted)))
        return difference <= _double(sa.literal(TOLERANCE)) * scale

    return equal


def _coded(column: Any, codes: Mapping[str, str | None]) -> Equal:
    """A stored code rendered through *codes* (code -> attribute value)."""

    def equal(value: AttributeValue) -> sa.ColumnElement[bool]:
        stored = sorted(code for code, rendered in codes.items() if rendered == value)
        return column.in_(stored) if stored else sa.false()

    return equal


def _identifier(term: str, model: Any) -> Equal:
    """``occi.core.id``: the URN of the id clients see (the chosen one, else the engine's)."""
    public_id = sa.func.coalesce(sa.func.nullif(model.chosen_id, ""), model.id)

    def equal(value: AttributeValue) -> sa.ColumnElement[bool]:
        if not isinstance(value, str):
            return sa.false()
        candidate = units.id_of_urn(term, value)
        if units.urn(term, candidate) != value:
            return sa.false()  # no id renders as this URN
        return public_id == candidate

    return equal


def _states(table: t.KindTable) -> dict[str, str | None]:
    return {state.value: occi_state(table.engine_kind, state.value) for state in State}


def _common(table: t.KindTable, model: Any) -> dict[str, Equal]:
    prefix = f"occi.{table.term}"
    return {
        "occi.core.id": _identifier(table.term, model),
        "occi.core.title": _text(model.name),
        "occi.core.summary": _text(model.description),
        f"{prefix}.state": _coded(model.state, _states(table)),
    }


def _integer(column: Any, divisor: int = 1) -> Equal:
    value = _double(column)
    return _number(value if divisor == 1 else value / _double(sa.literal(divisor)))


_SQL: dict[t.KindTable, dict[str, Equal]] = {
    t.COMPUTE: {
        **_common(t.COMPUTE, Compute),
        "occi.compute.architecture": _coded(Compute.arch, dict(units.ARCHITECTURES)),
        "occi.compute.cores": _integer(Compute.vcpus),
        "occi.compute.memory": _integer(Compute.memory_mib, units.MIB_PER_GIB),
        "occi.compute.hostname": _text(Compute.hostname),
        "occi.compute.share": _integer(Compute.cpu_share),
        # Their Mixins (ssh_key, user_data) are on a compute exactly when the
        # value is not NULL (occi.mapping.render.implicit_mixins).
        "occi.credentials.ssh.publickey": _text(Compute.ssh_public_key),
        "occi.compute.userdata": _text(Compute.user_data),
    },
    t.STORAGE: {
        **_common(t.STORAGE, Volume),
        "occi.storage.size": _integer(Volume.size_bytes, units.BYTES_PER_GIB),
    },
    t.NETWORK: {
        **_common(t.NETWORK, Network),
        "occi.network.vlan": _integer(Network.vlan),
        "occi.network.label": _text(Network.label),
        # Every engine network carries the ipnetwork Mixin (render.implicit_mixins).
        "occi.network.address": _text(Network.cidr),
        "occi.network.gateway": _text(Network.gateway),
        "occi.network.allocation": _text(Network.allocation),
    },
}


def compiled_attributes(table: t.KindTable) -> frozenset[str]:
    """The attributes of *table*'s entities whose filters run in SQL."""
    return frozenset(_SQL.get(table, {}))


def split(
    tables: Iterable[t.KindTable], attributes: Mapping[str, AttributeValue]
) -> tuple[dict[t.KindTable, sa.ColumnElement[bool]], dict[str, AttributeValue]]:
    """The SQL condition per table for the attributes SQL can decide, and the rest.

    An attribute runs in SQL only when it does for every table of the
    collection; the conditions of all those attributes are joined with AND,
    as :func:`occi.mapping.filters.matches` requires every attribute to match.
    The rest is left to that function. No condition at all: ``({}, attributes)``.
    """
    tables = tuple(tables)
    compiled = [
        name
        for name in attributes
        if tables and all(name in _SQL.get(table, {}) for table in tables)
    ]
    if not compiled:
        return {}, dict(attributes)
    where = {
        table: sa.and_(*(_SQL[table][name](attributes[name]) for name in compiled))
        for table in tables
    }
    rest = {name: value for name, value in attributes.items() if name not in compiled}
    return where, rest


__all__ = ["TOLERANCE", "Conditions", "Equal", "compiled_attributes", "split"]
