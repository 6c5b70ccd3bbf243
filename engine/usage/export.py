"""Exporting usage: CloudStack-style records (CSV, JSON) and APEL messages.

Every export is a pure function of the stored records and intervals and of
the range asked for, so exporting the same range twice gives the same bytes,
and every exported record carries a stable id (docs/usage.rst):

* :func:`cloudstack_rows` -- one row per usage record, with the fields of
  CloudStack's ``listUsageRecords`` (``usageid``, ``usagetype``,
  ``rawusage``, ``startdate``...) plus Concord's exact ``seconds`` and
  ``quantity``; its ``id`` is the record's name-based UUID.
* :func:`apel_cloud_message` -- an APEL Cloud Usage Record v0.4 message: one
  record per guest that held anything in the range, *cumulative* up to the
  range's end as APEL expects (a running guest is sent again with a growing
  ``WallDuration``; the repository keeps the latest per ``VMUUID`` and
  ``SiteName``).
* :func:`apel_ip_message` -- an APEL Public IP Usage Record v0.2 message:
  the addresses each owner held at the range's end, per IP version.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.catalog.models import Image
from engine.events.models import Event
from engine.scope import Scope
from engine.usage.apel import render_cloud_messages
from engine.usage.bulk import RECORD_NAMESPACE
from engine.usage.models import UsageInterval, UsageRecord
from engine.usage.reports import UsageReports, check_range
from engine.usage.types import TYPES, UsageType, amount

#: The columns of the CloudStack-style export, in order.
CLOUDSTACK_COLUMNS = (
    "id",
    "accountid",
    "projectid",
    "domainid",
    "zoneid",
    "description",
    "usage",
    "usagetype",
    "usagetypename",
    "rawusage",
    "unit",
    "usageid",
    "type",
    "name",
    "offeringid",
    "startdate",
    "enddate",
    "seconds",
    "quantity",
)
#: The version lines of the APEL messages (the cloud message's is in engine.usage.apel).
APEL_IP_TYPE = "APEL Public IP message"
APEL_IP_VERSION = "0.2"


def iso(moment: dt.datetime) -> str:
    """``moment`` as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return f"{moment.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"


def cloudstack_rows(records: Iterable[UsageRecord]) -> list[dict[str, Any]]:
    """One CloudStack ``listUsageRecords``-shaped row per record."""
    rows = []
    for r in records:
        info = TYPES[UsageType(r.usage_type)]
        hours = amount(r.usage_type, r.quantity)
        rows.append(
            {
                "id": r.id,
                "accountid": r.account_id,
                "projectid": r.project_id or "",
                "domainid": r.domain_id or "",
                "zoneid": r.zone_id or "",
                "description": f"{r.resource_name or r.resource_id} {info.description}",
                "usage": f"{hours:.6f} {info.unit}s",
                "usagetype": info.cloudstack_id if info.cloudstack_id is not None else "",
                "usagetypename": r.usage_type,
                "rawusage": str(hours),
                "unit": info.unit,
                "usageid": r.resource_id,
                "type": r.resource_type,
                "name": r.resource_name,
                "offeringid": r.offering_id,
                "startdate": iso(r.period_start),
                "enddate": iso(r.period_end),
                "seconds": r.seconds,
                "quantity": r.quantity,
            }
        )
    return rows


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` as CSV with a header line (RFC 4180, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    """``rows`` as a JSON array, keys in a fixed order."""
    return json.dumps(list(rows), indent=1, default=str) + "\n"


@dataclass(frozen=True)
class ApelSite:
    """Who the APEL records come from (settings ``site_name``, ``usage_compute_service``)."""

    site_name: str
    compute_service: str
    cloud_type: str = "Concord"


def _fqan(account_id: str) -> str:
    # Concord has no VOMS virtual organisations: the group is the account.
    return f"/{account_id}"


GIB = 1024**3
#: The image property holding its marketplace URI (HEPiX image lists'
#: ``ad:mpuri``, kept by the image list subscriber: engine.federation.site).
MARKETPLACE_PROPERTY = "mpuri"


@dataclass(frozen=True)
class _GuestDisk:
    """What the events of a guest say of its disk and image."""

    root_disk_bytes: int = 0
    image_id: str | None = None


def _guest_disks(
    session: Session, guests: Sequence[str], end: dt.datetime
) -> dict[str, _GuestDisk]:
    """The root disk size and image of each guest, from its ``compute.*`` events before ``end``.

    Every event carries the guest's ``image_id`` (engine.compute.state); the
    ``compute.provisioned`` event carries the size of the root disk it was
    given (``root_disk_bytes``). The events are kept after the guest is
    deleted, so a completed guest's record still has them; the largest size
    recorded is the disk's (a root disk never shrinks).
    """
    found: dict[str, _GuestDisk] = {}
    if not guests:
        return found
    query = (
        sa.select(Event.resource_id, Event.payload)
        .where(
            Event.resource_type == "compute",
            Event.resource_id.in_(guests),
            Event.occurred < end,
        )
        .order_by(Event.seq)
    )
    for guest, payload in session.execute(query):
        facts = payload or {}
        known = found.get(guest, _GuestDisk())
        size = max(known.root_disk_bytes, int(facts.get("root_disk_bytes") or 0))
        found[guest] = _GuestDisk(size, facts.get("image_id") or known.image_id)
    return found


def _apel_image_ids(session: Session, disks: Iterable[_GuestDisk]) -> dict[str, str]:
    """APEL's ``ImageId`` of each image: its marketplace URI when it has one, else its id.

    cASO reports the marketplace URI of images from an image list (EGI's
    AppDB), so the central accounting service can tell which appliance a
    guest ran; an image registered here only has its own id.
    """
    ids = sorted({d.image_id for d in disks if d.image_id})
    found = {image_id: image_id for image_id in ids}
    if ids:
        rows = session.execute(sa.select(Image.id, Image.properties).where(Image.id.in_(ids)))
        for image_id, properties in rows:
            uri = (properties or {}).get(MARKETPLACE_PROPERTY)
            if isinstance(uri, str) and uri:
                found[image_id] = uri
    return found


def apel_cloud_records(
    session: Session,
    scope: Scope,
    start: dt.datetime,
    end: dt.datetime,
    site: ApelSite,
    **owner: str | None,
) -> list[dict[str, Any]]:
    """The APEL v0.4 fields of every guest allocated in ``[start, end)``, as of ``end``.

    Durations are cumulative from the guest's creation to ``end`` (or its
    deletion): ``WallDuration`` is its running time, ``CpuDuration`` its
    vCPU-seconds (what caso reports when the hypervisor gives no CPU time).
    ``Disk`` is its root disk in GiB and ``ImageId`` its image's marketplace
    URI or id, both from its events (:func:`_guest_disks`).

    :param owner: ``account_id``, ``project_id`` or ``domain_id`` (a subtree).
    """
    allocated_records = UsageReports(session).records(
        scope, start, end, usage_type=UsageType.ALLOCATED_VM.value, **owner
    )
    guests = sorted({r.resource_id for r in allocated_records})
    totals: dict[tuple[str, str], int] = defaultdict(int)
    if guests:
        query = (
            sa.select(
                UsageRecord.resource_id,
                UsageRecord.usage_type,
                sa.func.sum(UsageRecord.quantity),
            )
            .where(UsageRecord.resource_id.in_(guests), UsageRecord.period_start < end)
            .group_by(UsageRecord.resource_id, UsageRecord.usage_type)
        )
        for resource_id, usage_type, quantity in session.execute(query):
            totals[(resource_id, usage_type)] = int(quantity or 0)
    disks = _guest_disks(session, guests, end)
    image_ids = _apel_image_ids(session, disks.values())
    records = []
    for guest in guests:
        disk = disks.get(guest, _GuestDisk())
        intervals = session.scalars(
            sa.select(UsageInterval)
            .where(UsageInterval.resource_id == guest, UsageInterval.start < end)
            .order_by(UsageInterval.start, UsageInterval.usage_type, UsageInterval.offering_id)
        ).all()
        allocated = [i for i in intervals if i.usage_type == UsageType.ALLOCATED_VM]
        if not allocated:
            continue
        first, last = allocated[0], allocated[-1]
        completed = last.end is not None and last.end <= end
        sized = [i for i in intervals if i.usage_type in (UsageType.CPU, UsageType.MEMORY)]
        cpus = next((i.rate for i in reversed(sized) if i.usage_type == UsageType.CPU), 0)
        memory = next((i.rate for i in reversed(sized) if i.usage_type == UsageType.MEMORY), 0)
        fields: dict[str, Any] = {
            "VMUUID": guest,
            "SiteName": site.site_name,
            "CloudComputeService": site.compute_service,
            "MachineName": first.resource_name or guest,
            "LocalUserId": first.account_id,
            "LocalGroupId": first.project_id or first.account_id,
            "FQAN": _fqan(first.account_id),
            "Status": "completed" if completed else "started",
            "StartTime": int(first.start.timestamp()),
            "EndTime": int(last.end.timestamp()) if completed and last.end else None,
            "WallDuration": totals[(guest, UsageType.RUNNING_VM.value)],
            "CpuDuration": totals[(guest, UsageType.CPU.value)],
            "CpuCount": cpus,
            "Memory": memory,
            # APEL's Disk is in GB: the root disk, rounded up to whole GiB.
            "Disk": -(-disk.root_disk_bytes // GIB),
            "ImageId": image_ids.get(disk.image_id) if disk.image_id else None,
            "PublicIPCount": 0,
            "CloudType": site.cloud_type,
        }
        records.append({k: v for k, v in fields.items() if v is not None})
    return records


def apel_cloud_message(records: Sequence[dict[str, Any]]) -> list[str]:
    """APEL cloud messages of at most 100 records each, written by the field table
    of :mod:`engine.usage.apel` (which also reads them back)."""
    return render_cloud_messages(records)


def apel_ip_records(
    session: Session,
    scope: Scope,
    start: dt.datetime,
    end: dt.datetime,
    site: ApelSite,
    **owner: str | None,
) -> list[dict[str, Any]]:
    """The APEL Public IP v0.2 records: the addresses each owner held at ``end``.

    Each record's ``uuid`` is name-based on the owner, IP version and
    measurement time, so a re-export repeats it.

    :param owner: ``account_id``, ``project_id`` or ``domain_id`` (a subtree).
    """
    check_range(start, end)
    held = end - dt.timedelta(seconds=1)  # the last second of the range
    query = (
        sa.select(
            UsageInterval.account_id,
            UsageInterval.project_id,
            UsageInterval.offering_id,
            sa.func.count(),
        )
        .where(
            UsageInterval.usage_type == UsageType.IP_ADDRESS.value,
            UsageInterval.start <= held,
            sa.or_(UsageInterval.end.is_(None), UsageInterval.end > held),
            *UsageReports(session).owner_conditions(scope, UsageInterval, **owner),
        )
        .group_by(UsageInterval.account_id, UsageInterval.project_id, UsageInterval.offering_id)
        .order_by(UsageInterval.account_id, UsageInterval.project_id, UsageInterval.offering_id)
    )
    records = []
    for account_id, project_id, family, count in session.execute(query):
        group = project_id or account_id
        key = f"ip|{iso(end)}|{account_id}|{group}|{family}"
        records.append(
            {
                "MeasurementTime": int(end.timestamp()),
                "SiteName": site.site_name,
                "CloudComputeService": site.compute_service,
                "CloudType": site.cloud_type,
                "LocalUser": account_id,
                "LocalGroup": group,
                "FQAN": _fqan(account_id),
                "IPVersion": 6 if family == "ipv6" else 4,
                "IPCount": int(count),
                "uuid": str(uuid.uuid5(RECORD_NAMESPACE, key)),
            }
        )
    return records


def apel_ip_message(records: Sequence[dict[str, Any]]) -> str:
    """The APEL Public IP v0.2 JSON message of ``records``."""
    return json.dumps(
        {"Type": APEL_IP_TYPE, "Version": APEL_IP_VERSION, "UsageRecords": list(records)},
        indent=1,
    )


__all__ = [
    "CLOUDSTACK_COLUMNS",
    "ApelSite",
    "apel_cloud_message",
    "apel_cloud_records",
    "apel_ip_message",
    "apel_ip_records",
    "cloudstack_rows",
    "to_csv",
    "to_json",
]
