"""The repository role of the accounting plane: trusted sites push APEL records, summaries come out.

In EGI's federation each site's extractor (cASO) writes APEL Cloud Usage
Record v0.4 messages and SSM carries them to one central APEL repository,
which keeps the latest record per guest and summarises per site, month,
virtual organisation and image (APEL's ``CloudSummaries``). A Concord site
configured as a repository does the same for the sites it trusts:

* **Trust.** The operator adds a site by name; Concord makes a random token
  for it, shown once, and keeps only its SHA-256. A push carrying no known
  token is refused (the edge answers 401), and a site may report only its
  own guests: a message with any record naming another ``SiteName`` is
  refused whole (403). Nothing of a refused or malformed message is stored.
* **Idempotence.** Records are cumulative snapshots. The repository keeps
  one per site, ``VMUUID`` and month of measurement (``RecordCreateTime``
  when sent, else the ``EndTime`` of a completed guest, else the time it was
  received): the same record pushed again replaces it, never adds one; an
  older snapshot does not replace a newer one.
* **Summaries.** A guest's figures for a month are its ``WallDuration`` and
  ``CpuDuration`` less those of its record of the latest month before (APEL's
  cloud summariser does the same), summed per site, month, virtual
  organisation (from ``FQAN``), project (``LocalGroupId``) and ``ImageId``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from engine.db import utcnow
from engine.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from engine.federation.models import AccountingRecord, AccountingSite
from engine.naming import check_name
from engine.scope import Scope
from engine.usage.apel import APEL_MAX_RECORDS, parse_cloud_message

#: What a record without a value is summarised under (APEL's word too).
NONE = "None"


#: Why a caller who is not a root administrator is refused.
_ROOT_ONLY = "the accounting repository is managed by root administrators"


def token_hash(token: str) -> str:
    """The SHA-256 (hex) a site's token is kept as."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def month_of(moment: dt.datetime) -> int:
    """``moment``'s month as YYYYMM (UTC)."""
    moment = moment.astimezone(dt.UTC)
    return moment.year * 100 + moment.month


def parse_month(text: str) -> int:
    """``YYYY-MM`` as YYYYMM.

    :raises InvalidInput: not a month.
    """
    year, dash, month = text.partition("-")
    if not (dash and len(year) == 4 and year.isdigit() and len(month) == 2 and month.isdigit()):
        raise InvalidInput(
            f"a month is written YYYY-MM, not {text[:32]!r}",
            field="month",
            reason="format",
            value=text[:32],
            suggestion="YYYY-MM",
        )
    if not 1 <= int(month) <= 12:
        raise InvalidInput(
            f"{text} has no such month",
            field="month",
            reason="range",
            minimum=1,
            maximum=12,
            unit="",
        )
    return int(year) * 100 + int(month)


def vo_of(fqan: str | None) -> str:
    """The virtual organisation of a VOMS FQAN (``/vo/group/Role=r``): its first part."""
    first = (fqan or "").strip("/").split("/", 1)[0]
    return first if first and "=" not in first else NONE


@dataclass(frozen=True)
class IntakeResult:
    """What a push did: records stored anew, replaced, and kept (a newer one was there)."""

    stored: int
    replaced: int
    unchanged: int


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary: a site's guests of one project, VO and image in one month."""

    site: str
    month: str
    vo: str
    project: str
    image_id: str
    vms: int
    wall_duration: int
    cpu_duration: int
    earliest_start: dt.datetime
    latest_start: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON values (times in ISO 8601 UTC)."""
        return {
            "site": self.site,
            "month": self.month,
            "vo": self.vo,
            "project": self.project,
            "image_id": self.image_id,
            "vms": self.vms,
            "wall_duration": self.wall_duration,
            "cpu_duration": self.cpu_duration,
            "earliest_start": f"{self.earliest_start:%Y-%m-%dT%H:%M:%SZ}",
            "latest_start": f"{self.latest_start:%Y-%m-%dT%H:%M:%SZ}",
        }


def _moment(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _measured(record: Mapping[str, Any], received: dt.datetime) -> dt.datetime:
    if "RecordCreateTime" in record:
        return _moment(record["RecordCreateTime"])
    if record.get("Status") == "completed" and "EndTime" in record:
        return _moment(record["EndTime"])
    return received


class AccountingRepository:
    """The trusted sites of an accounting repository, their records and summaries.

    :param session: the unit of work; the caller commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_site(self, scope: Scope, name: str) -> str:
        """Trust site ``name``; returns the token it pushes with (shown once, kept hashed)."""
        scope.require_root_admin(_ROOT_ONLY)
        check_name("site", name)
        if self.session.scalar(sa.select(AccountingSite.id).where(AccountingSite.name == name)):
            raise AlreadyExists(
                f"site {name!r} is already trusted", subject="accounting_site", name=name
            )
        # Hex: a token never starts with "-", which a command line would take for an option.
        token = secrets.token_hex(32)
        self.session.add(AccountingSite(name=name, token_hash=token_hash(token)))
        self.session.flush()
        return token

    def remove_site(self, scope: Scope, name: str) -> None:
        """Stop trusting ``name``; the records it sent stay in the summaries."""
        scope.require_root_admin(_ROOT_ONLY)
        site = self.session.scalar(sa.select(AccountingSite).where(AccountingSite.name == name))
        if site is None:
            raise NotFound(f"no trusted site {name!r}", subject="accounting_site", name=name)
        self.session.delete(site)
        self.session.flush()

    def list_sites(self, scope: Scope) -> list[AccountingSite]:
        """The trusted sites, by name."""
        scope.require_root_admin(_ROOT_ONLY)
        return list(self.session.scalars(sa.select(AccountingSite).order_by(AccountingSite.name)))

    def site_of_token(self, token: str) -> str | None:
        """The name of the trusted site that pushes with ``token``, or None."""
        if not token:
            return None
        return self.session.scalar(
            sa.select(AccountingSite.name).where(AccountingSite.token_hash == token_hash(token))
        )

    def ingest(self, site: str, message: str, now: dt.datetime | None = None) -> IntakeResult:
        """Store the records of an APEL cloud message pushed by trusted site ``site``.

        The whole message is checked before anything is stored.

        :raises InvalidInput: not a valid APEL cloud v0.4 message, or more
            than APEL's 100 records.
        :raises PermissionDenied: a record names another site.
        """
        received = now or utcnow()
        records = parse_cloud_message(message)
        if len(records) > APEL_MAX_RECORDS:
            raise InvalidInput(
                f"an APEL message holds at most {APEL_MAX_RECORDS} records",
                field="records",
                reason="too_many",
                maximum=APEL_MAX_RECORDS,
                unit="",
            )
        for number, record in enumerate(records, start=1):
            if record["SiteName"] != site:
                raise PermissionDenied(
                    f"record {number} is of site {record['SiteName'][:64]!r}: "
                    f"site {site!r} may push only its own records",
                    subject="accounting_site",
                    name=site,
                    reason="own_records",
                )
        latest: dict[tuple[str, int], tuple[dt.datetime, dict[str, Any]]] = {}
        for record in records:  # a message naming a guest twice: its latest record wins
            measured = _measured(record, received)
            key = (record["VMUUID"], month_of(measured))
            if key not in latest or latest[key][0] <= measured:
                latest[key] = (measured, record)
        existing = {
            (row.vmuuid, row.month): row
            for row in self.session.scalars(
                sa.select(AccountingRecord).where(
                    AccountingRecord.site == site,
                    sa.tuple_(AccountingRecord.vmuuid, AccountingRecord.month).in_(list(latest)),
                )
            )
        }
        stored = replaced = unchanged = 0
        for key, (measured, record) in latest.items():
            row = existing.get(key)
            if row is not None and row.measured > measured:
                unchanged += 1
                continue
            if row is None:
                row = AccountingRecord(site=site, vmuuid=key[0], month=key[1])
                self.session.add(row)
                stored += 1
            else:
                replaced += 1
            row.measured = measured
            row.vo = vo_of(record.get("FQAN"))
            row.project = record.get("LocalGroupId", NONE)
            row.image_id = record.get("ImageId", NONE)
            row.status = record.get("Status", NONE)
            row.start_time = _moment(record["StartTime"])
            row.wall_duration = record.get("WallDuration", 0)
            row.cpu_duration = record.get("CpuDuration", 0)
            row.record = dict(record)
            row.received = received
        self.session.flush()
        return IntakeResult(stored, replaced, unchanged)

    def summary(
        self, scope: Scope, month: int | None = None, site: str | None = None
    ) -> list[SummaryRow]:
        """Per site, month, VO, project and image: guests, and their wall and CPU seconds.

        :param month: YYYYMM (None: every month); :param site: one site's only.
        """
        scope.require_root_admin(_ROOT_ONLY)
        current, before = AccountingRecord, aliased(AccountingRecord)
        earlier = aliased(AccountingRecord)
        previous_month = (
            sa.select(sa.func.max(earlier.month))
            .where(
                earlier.site == current.site,
                earlier.vmuuid == current.vmuuid,
                earlier.month < current.month,
            )
            .correlate(current)
            .scalar_subquery()
        )
        query = sa.select(
            current.site,
            current.month,
            current.vo,
            current.project,
            current.image_id,
            current.start_time,
            current.wall_duration - sa.func.coalesce(before.wall_duration, 0),
            current.cpu_duration - sa.func.coalesce(before.cpu_duration, 0),
        ).outerjoin(
            before,
            sa.and_(
                before.site == current.site,
                before.vmuuid == current.vmuuid,
                before.month == previous_month,
            ),
        )
        if month is not None:
            query = query.where(current.month == month)
        if site is not None:
            query = query.where(current.site == site)
        groups: dict[tuple[str, int, str, str, str], list[Any]] = {}
        for s, m, vo, project, image, start, wall, cpu in self.session.execute(query):
            entry = groups.setdefault((s, m, vo, project, image), [0, 0, 0, start, start])
            # A snapshot below last month's (a guest's ledger reset) adds nothing.
            entry[0] += 1
            entry[1] += max(int(wall), 0)
            entry[2] += max(int(cpu), 0)
            entry[3], entry[4] = min(entry[3], start), max(entry[4], start)
        return [
            SummaryRow(s, f"{m // 100:04d}-{m % 100:02d}", vo, project, image, *figures)
            for (s, m, vo, project, image), figures in sorted(groups.items())
        ]


__all__ = [
    "AccountingRepository",
    "IntakeResult",
    "SummaryRow",
    "month_of",
    "parse_month",
    "token_hash",
    "vo_of",
]
