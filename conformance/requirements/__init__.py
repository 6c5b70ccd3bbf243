"""The catalogue of requirements: one entry per normative statement a server can be held to.

Each :class:`Requirement` names its document (``GFD.223``, ``DSP0263``, ...), the
section it comes from, its RFC 2119 level (``MUST NOT`` counts as MUST, ``SHOULD
NOT``/``RECOMMENDED`` as SHOULD, ``OPTIONAL`` as MAY; DMTF's ISO-style "shall" is
MUST), and a summary in our own words. Ids read ``<document>/<topic>.<detail>``,
for example ``GFD.223/query.GET.200``: the document, then a stable slug of the
section and the statement, so that ids survive renumbering between drafts.

Requirements whose ``subject`` is ``"client"`` bind the harness itself (it sends
``Content-Type`` with every body, ``OCCI/1.2`` in ``User-Agent``...); they are
listed for completeness and are not counted in the server coverage.

The data lives in one module per document (:mod:`.occi_core`, :mod:`.occi_http`,
:mod:`.occi_infra`, :mod:`.occi_text`, :mod:`.occi_json`, :mod:`.etsi`,
:mod:`.cimi_protocol`, :mod:`.cimi_resources`), each written with the
:class:`Requirement` record and :func:`table` of :mod:`.model` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from conformance.requirements import (
    cimi_protocol,
    cimi_resources,
    etsi,
    occi_core,
    occi_http,
    occi_infra,
    occi_json,
    occi_text,
)
from conformance.requirements.model import MAY, MUST, SHOULD, Level, Requirement, Row, table

__all__ = [
    "AREAS",
    "MAY",
    "MUST",
    "SHOULD",
    "Level",
    "Requirement",
    "Row",
    "catalogue",
    "get",
    "table",
]

#: Coverage areas in report order.
AREAS = (
    "OCCI Core",
    "OCCI HTTP",
    "OCCI Infrastructure",
    "OCCI Text",
    "OCCI JSON",
    "ETSI OCCI tests",
    "CIMI Protocol",
    "CIMI Cloud Entry Point",
    "CIMI Collections",
    "CIMI Machine",
    "CIMI Volume",
    "CIMI Network",
    "CIMI Job",
)


@cache
def catalogue() -> Mapping[str, Requirement]:
    """Every requirement by id, in document order.

    :raises ValueError: two requirements share an id, or one has an unknown area.
    """
    found: dict[str, Requirement] = {}
    for module in (
        occi_core,
        occi_http,
        occi_infra,
        occi_text,
        occi_json,
        etsi,
        cimi_protocol,
        cimi_resources,
    ):
        for requirement in module.REQUIREMENTS:
            if requirement.id in found:
                raise ValueError(f"duplicate requirement id {requirement.id}")
            if requirement.area not in AREAS:
                raise ValueError(f"{requirement.id}: unknown area {requirement.area!r}")
            found[requirement.id] = requirement
    return found


def get(requirement_id: str) -> Requirement:
    """The requirement with this id.

    :raises KeyError: no such requirement.
    """
    return catalogue()[requirement_id]
