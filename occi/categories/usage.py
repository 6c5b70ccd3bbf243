"""Concord's usage Kind: what a tenant used, read through OCCI (docs/occi.rst, "Usage").

OCCI 1.2 has no accounting vocabulary. The OCCI Monitoring extension
(Ciuffoletti, GFD draft "OCCI Monitoring") models *sensors*: Resources a
client creates to measure something and publish the readings elsewhere; it
has no attribute for a reading itself. Concord's usage records are neither
created by clients nor published elsewhere, so they get a provider Kind of
their own (GFD.221 §3.2.3 allows provider extensions), under Concord's
provider scheme:

``http://schemas.concord.invalid/occi/usage#meter``, location ``/meter/``
    a Resource (its parent is ``core#resource``): what one resource used of
    one usage type and offering over every aggregated period, the same meter
    CIMI renders as a Meter (DSP0263 5.17.3) and the same figures
    ``concord usage report`` prints (:class:`engine.usage.meters.MeterService`).

Every attribute is immutable and the Kind has no Action: meters exist because
resources were used, so they are read (GET, HEAD) and never created, changed
or deleted (405). Only GET lists and reads them: they are not members of
``/resource/`` nor of ``/``, whose listings are the engine's entities.
"""

from __future__ import annotations

from engine.usage.types import TYPES, UsageType
from occi.categories.core import RESOURCE
from occi.categories.templates import provider_scheme
from occi.categories.types import Attribute, AttributeType, Kind

#: Concord's provider base (the same as the templates', occi.mapping.templates).
USAGE_SCHEME = provider_scheme("http://schemas.concord.invalid", "usage")
#: Where the meters are listed, and the prefix of a meter's path.
METER_LOCATION = "/meter/"

#: RFC 3339 date-time in UTC, to the second.
_DATE_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
_DECIMAL = r"^[0-9]+(\.[0-9]+)?$"


METER = Kind(
    "meter",
    USAGE_SCHEME,
    "Usage meter: one resource's usage of one usage type and offering",
    (
        Attribute(
            "concord.usage.type",
            AttributeType.ENUM,
            mutable=False,
            enum=tuple(t.value for t in UsageType),
            description="The usage type (docs/usage.rst, 'Usage types')",
        ),
        Attribute(
            "concord.usage.offering",
            mutable=False,
            description="The offering the usage is priced by; empty when none "
            "(an address's family, ipv4 or ipv6)",
        ),
        Attribute(
            "concord.usage.unit",
            AttributeType.ENUM,
            mutable=False,
            enum=tuple(sorted({info.unit for info in TYPES.values()})),
            description="The unit of concord.usage.total",
        ),
        Attribute(
            "concord.usage.resource.type",
            AttributeType.ENUM,
            mutable=False,
            enum=("compute", "volume", "network", "network_interface", "image"),
            description="The kind of resource that was used",
        ),
        Attribute("concord.usage.resource.id", mutable=False, description="The used resource's id"),
        Attribute(
            "concord.usage.resource.name", mutable=False, description="The used resource's name"
        ),
        Attribute(
            "concord.usage.resource.location",
            AttributeType.URI,
            mutable=False,
            description="The used resource's OCCI location, when OCCI models it "
            "(images are OS templates, not entities)",
        ),
        Attribute(
            "concord.usage.start",
            mutable=False,
            pattern=_DATE_TIME,
            description="The start of the first aggregated period with usage (UTC)",
        ),
        Attribute(
            "concord.usage.end",
            mutable=False,
            pattern=_DATE_TIME,
            description="The end of the last aggregated period with usage (UTC)",
        ),
        Attribute(
            "concord.usage.periods",
            AttributeType.INTEGER,
            mutable=False,
            minimum=1,
            description="How many aggregated periods have a usage record",
        ),
        Attribute(
            "concord.usage.seconds",
            AttributeType.INTEGER,
            mutable=False,
            minimum=0,
            unit="s",
            description="Seconds during which the resource held this usage",
        ),
        Attribute(
            "concord.usage.quantity",
            AttributeType.INTEGER,
            mutable=False,
            minimum=0,
            description="The exact integral of the usage: unit-seconds (vCPU-seconds, "
            "MiB-seconds, GiB-seconds, or seconds)",
        ),
        Attribute(
            "concord.usage.total",
            mutable=False,
            pattern=_DECIMAL,
            description="concord.usage.quantity in concord.usage.unit, an exact decimal",
        ),
    ),
    parent=RESOURCE,
    location=METER_LOCATION,
)

KINDS = (METER,)

__all__ = ["KINDS", "METER", "METER_LOCATION", "USAGE_SCHEME"]
