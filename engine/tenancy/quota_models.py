"""Resource usage counters that limits are checked against.

One row per (owner, resource type) holds the amount in use. Counters are
updated in the same transaction as the state change that consumes or frees
the resource, under a row lock, so that two concurrent requests cannot both
pass a limit (the race CloudStack's ``CheckedReservation`` and Nova's
``recheck_quota`` exist for; reference/engine.md §1.1 and §6.2).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, string_enum
from engine.tenancy.models import LimitOwner, ResourceType


class ResourceCount(Base):
    """How much of one resource type an owner uses now."""

    __tablename__ = "resource_counts"

    owner_kind: Mapped[LimitOwner] = mapped_column(string_enum(LimitOwner), primary_key=True)
    owner_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    resource_type: Mapped[ResourceType] = mapped_column(string_enum(ResourceType), primary_key=True)
    used: Mapped[int] = mapped_column(sa.BigInteger, default=0)
