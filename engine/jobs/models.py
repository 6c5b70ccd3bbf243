"""Jobs: every mutating operation is a persisted, claimable unit of work.

A job is claimed by a worker with a row lock (``FOR UPDATE SKIP LOCKED`` on
MariaDB), so any number of workers in any number of processes can share the
queue; a worker refreshes ``heartbeat`` while it runs a job, so the jobs of
a worker that died can be found and resumed or failed.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, new_id, string_enum, utcnow

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.tenancy import models as _tenancy_tables  # noqa: F401


class JobState(enum.StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """True for success, failed and cancelled."""
        return self in (JobState.SUCCESS, JobState.FAILED, JobState.CANCELLED)


class Job(Base):
    """One asynchronous operation on one target resource."""

    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_state_created", "state", "created"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    #: What to do, e.g. ``compute.start``; names a registered handler.
    action: Mapped[str] = mapped_column(sa.String(64))
    target_type: Mapped[str] = mapped_column(sa.String(32))
    target_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    state: Mapped[JobState] = mapped_column(string_enum(JobState), default=JobState.QUEUED)
    progress: Mapped[int] = mapped_column(sa.Integer, default=0)
    parameters: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str | None] = mapped_column(sa.String(1024))
    account_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    domain_id: Mapped[str] = mapped_column(sa.ForeignKey("domains.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(sa.String(36))
    parent_job_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(128))
    heartbeat: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
