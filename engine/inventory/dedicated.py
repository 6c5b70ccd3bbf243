"""Dedication: infrastructure set aside for one domain or one account.

A zone, pod, cluster or host dedicated to an owner takes only that owner's
guests, and placement for that owner prefers it (CloudStack's dedicated
resources, :mod:`engine.allocation.dedication` and
:mod:`engine.allocation.policy`). A domain's dedication serves every account
of the domain and of the domains below it.

The table is the inventory's, not the allocation's, because a zone dedicated
to someone else is not only closed to placement: a tenant may not see it at
all (:func:`zone_open`), and every service that looks a zone up (the
inventory, the catalog's lookups) sits below allocation.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from engine.db import Base, UTCDateTime, new_id, string_enum, utcnow
from engine.scope import Scope, domain_chain

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.tenancy import models as _tenancy_tables  # noqa: F401


class DedicatedLevel(enum.StrEnum):
    """What kind of infrastructure a dedication sets aside."""

    ZONE = "zone"
    POD = "pod"
    CLUSTER = "cluster"
    HOST = "host"


class Dedication(Base):
    """One zone, pod, cluster or host set aside for a domain or an account.

    The target is named by level and id, not by a foreign key (it is one of
    four tables); removing the target leaves a row that matches nothing.
    """

    __tablename__ = "dedications"
    __table_args__ = (
        sa.UniqueConstraint("level", "target_id", name="uq_dedications_target"),
        sa.CheckConstraint("(domain_id IS NULL) <> (account_id IS NULL)", name="one_owner"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    level: Mapped[DedicatedLevel] = mapped_column(string_enum(DedicatedLevel))
    target_id: Mapped[str] = mapped_column(sa.String(36))
    domain_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("domains.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


def zone_open(
    zone_id: sa.ColumnElement[str] | InstrumentedAttribute[str],
) -> sa.ColumnElement[bool]:
    """A condition: no dedication of the zone ``zone_id`` serves another owner only.

    A zone dedicated to an account serves that account; one dedicated to a
    domain serves the accounts of that domain and of the domains below it
    (:class:`engine.allocation.policy.Holder` says the same for placement).
    To every other caller but root administrators it is to be exactly a
    zone that does not exist: tenants never learn of another's dedicated
    infrastructure.

    The caller is given by bound parameters (:func:`zone_open_parameters`),
    so that a statement using the condition is built once
    (:func:`engine.prepared.prepared`).

    :param zone_id: the zone's id column in the caller's query.
    """
    served = sa.or_(
        sa.and_(
            Dedication.domain_id.is_not(None),
            Dedication.domain_id.in_(sa.bindparam("open_domains", expanding=True)),
        ),
        sa.and_(
            Dedication.account_id.is_not(None),
            Dedication.account_id == sa.bindparam("open_account"),
        ),
    )
    return ~sa.exists().where(
        Dedication.level == DedicatedLevel.ZONE, Dedication.target_id == zone_id, ~served
    )


def zone_open_parameters(scope: Scope) -> dict[str, object]:
    """The bound parameters of :func:`zone_open` for ``scope``."""
    # No account is "": no dedication names it, and the comparison stays false
    # rather than NULL (NOT NULL would open every zone).
    return {"open_domains": domain_chain(scope.domain_path), "open_account": scope.account_id or ""}


__all__ = [
    "DedicatedLevel",
    "Dedication",
    "zone_open",
    "zone_open_parameters",
]
