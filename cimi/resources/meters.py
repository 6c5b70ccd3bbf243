"""Monitoring resources (DSP0263 2.0.0 5.17.3): Meter, its Samples, MeterConfiguration.

Concord meters usage (docs/usage.rst): a Meter is what one resource used of
one usage type (and offering) over every aggregated period; its Samples are
the per-period usage records; a MeterConfiguration describes one usage type.
The attributes and their order are DSP0263 5.17.3's Meter (the same list as
ISO/IEC 19831's); the rest are Concord extensions, named in each field's
doc (to be advertised through ResourceMetadata, 5.11). Meters and samples
are read-only: they exist because resources were used, so ``add``, ``edit``,
``delete``, ``start`` and ``stop`` are not offered, and there is no
MeterTemplate (docs/cimi.rst).
"""

from __future__ import annotations

from cimi.resources._common import (
    boolean,
    collection,
    datetime,
    duration,
    integer,
    ref,
    resource,
    string,
    uri,
)

#: The Meter attributes of 5.17.3 and MeterConfiguration's share of them.
_DESCRIPTION = (
    uri("aspect", doc="5.17.3 what is measured: urn:x-concord:usage:<usage type>"),
    string("units", doc="5.17.3 the unit of the values: hour, core-hour or GiB-hour"),
    integer("sampleInterval", minimum=0, doc="5.17.3 seconds between samples (one period)"),
    string("timeScope", doc="5.17.3 Interval: each sample covers one period"),
    duration("intervalDuration", doc="5.17.3 the period a sample covers: PT1H or P1D"),
    boolean("isContinuous", doc="5.17.3 true: samples add up over time"),
)

METER = resource(
    "Meter",
    ref("targetResource", doc="5.17.3 the metered resource, when CIMI models it"),
    *_DESCRIPTION,
    collection("samples", "Sample", doc="5.17.3 the samples: one per aggregated period"),
    string("minValue", doc="5.17.3 the smallest sample value"),
    string("maxValue", doc="5.17.3 the largest sample value"),
    datetime("stopTime", doc="5.17.3 the end of the last aggregated period"),
    datetime("expiresTime", doc="5.17.3 not used: usage records are kept"),
    string("usageType", doc="Concord extension: the usage type (docs/usage.rst)"),
    string("offering", doc="Concord extension: the offering id the usage is priced by"),
    datetime("startTime", doc="Concord extension: the start of the first period"),
    string("total", doc="Concord extension: the sum of the samples, exact decimal, in units"),
    integer("seconds", minimum=0, doc="Concord extension: seconds of usage in every period"),
    integer("quantity", minimum=0, doc="Concord extension: exact unit-seconds"),
    doc="5.17.3 Meter: usage of one resource, of one usage type and offering.",
)

SAMPLE = resource(
    "Sample",
    datetime("timestamp", doc="5.17.3.1 the end of the period the sample covers"),
    string("value", doc="5.17.3.1 the usage in the period, exact decimal, in the meter's units"),
    datetime("startTime", doc="Concord extension: the start of the period"),
    integer("seconds", minimum=0, doc="Concord extension: seconds of usage in the period"),
    integer("quantity", minimum=0, doc="Concord extension: exact unit-seconds"),
    doc="5.17.3.1 Sample: one usage record (one period) of a Meter.",
)

METER_CONFIGURATION = resource(
    "MeterConfiguration",
    *_DESCRIPTION,
    doc="5.17.3 MeterConfiguration: one usage type Concord meters.",
)

TABLES = (METER, SAMPLE, METER_CONFIGURATION)
