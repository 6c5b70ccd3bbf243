"""Engine errors in OCCI's words: the attribute a refused engine field stands for.

The engine names its own fields in :class:`~engine.errors.InvalidInput`
(``vcpus``, ``size_gib``...); an OCCI client sent ``occi.compute.cores`` or
``occi.storage.size``. :func:`occi_names` puts the OCCI attribute in front of
the message, found through the Kind's table (the one place that knows both
names, :mod:`occi.mapping.tables`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine.errors import InvalidInput
from occi.mapping.tables import KindTable

#: Engine keywords of creation calls that are not a Field's (links, templates, size).
_EXTRA = {
    "offering_id": "a resource template (resource_tpl)",
    "image_id": "an OS template (os_tpl)",
    "vcpus": "occi.compute.cores",
    "memory_mib": "occi.compute.memory",
}


def attribute_for(table: KindTable, keyword: str | None) -> str | None:
    """The OCCI attribute an engine keyword of ``table``'s Kind stands for."""
    if keyword is None:
        return None
    for field in table.fields:
        if field.create == keyword:
            return field.attribute
    return _EXTRA.get(keyword)


@contextmanager
def occi_names(table: KindTable) -> Iterator[None]:
    """Re-raise the engine's InvalidInput with the OCCI attribute named first."""
    try:
        yield
    except InvalidInput as exc:
        field = exc.details.get("field")
        attribute = attribute_for(table, field if isinstance(field, str) else None)
        if attribute is None or attribute in exc.message:
            raise
        details = {k: v for k, v in exc.details.items() if k != "attribute"}
        raise InvalidInput(f"{attribute}: {exc.message}", attribute=attribute, **details) from None


__all__ = ["attribute_for", "occi_names"]
