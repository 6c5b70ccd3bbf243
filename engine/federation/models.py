"""The federation capability's tables: trusted identity providers and who came through them.

A site trusts an identity provider (an OpenID Connect issuer) by recording
it with the audience its tokens must name; the mapping rules, an ordered list
the operator replaces as a whole, say where each federated user lands; a
federated identity remembers, for each issuer and subject, the local user
created on the first sign-in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, new_id, utcnow


class TrustedIssuer(Base):
    """An identity provider whose tokens this site accepts.

    ``url`` is the token's ``iss`` exactly (OpenID Connect Discovery 1.0 §4.3:
    the issuer in the configuration and in the tokens must be identical).
    ``jwks_uri`` is where its signing keys are published; when NULL, it is read
    from the issuer's ``/.well-known/openid-configuration``.
    """

    __tablename__ = "trusted_issuers"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    url: Mapped[str] = mapped_column(sa.String(512), unique=True)
    audience: Mapped[str] = mapped_column(sa.String(255))
    jwks_uri: Mapped[str | None] = mapped_column(sa.String(512))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MappingRule(Base):
    """One rule of the mapping, at its position (the first rule that matches wins)."""

    __tablename__ = "federation_mapping_rules"

    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    rule: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class FederatedIdentity(Base):
    """The local user that a subject of a trusted issuer signs in as."""

    __tablename__ = "federated_identities"
    __table_args__ = (
        sa.UniqueConstraint("issuer_id", "subject", name="uq_federated_identities_subject"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    issuer_id: Mapped[str] = mapped_column(
        sa.ForeignKey("trusted_issuers.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FederationMember(Base):
    """A member site of a federation registry: where its GLUE document is, and the last one read.

    ``sealed_token`` is the bearer token the member gave the registry to read
    its document, encrypted under the server keys like API-key secrets.
    """

    __tablename__ = "federation_members"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    glue_url: Mapped[str] = mapped_column(sa.String(512))
    sealed_token: Mapped[str | None] = mapped_column(sa.String(1024))
    document: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    fetched: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(sa.String(1024))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The identity the registry's monitoring probes the member's endpoints
    #: as: ``basic`` (a user name and password) or ``hmac`` (an API key and
    #: secret), the secret encrypted under the server keys; NULL: anonymous.
    monitor_auth: Mapped[str | None] = mapped_column(sa.String(8))
    monitor_user: Mapped[str | None] = mapped_column(sa.String(255))
    sealed_monitor_secret: Mapped[str | None] = mapped_column(sa.String(1024))


class EndpointCheck(Base):
    """One monitoring probe of one member endpoint: what the read-only conformance run found.

    Counts are of the MUST requirements the run judged (passed, failed,
    skipped) and of the SHOULD requirements that failed; ``health`` is GLUE
    2.1's endpoint health state derived from them (``ok``, ``warning``,
    ``critical``, ``unknown``) and ``reason`` its ``HealthStateInfo``.
    """

    __tablename__ = "federation_endpoint_checks"
    __table_args__ = (
        sa.Index("ix_federation_endpoint_checks_member", "member_id", "interface", "checked"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(
        sa.ForeignKey("federation_members.id", ondelete="CASCADE")
    )
    #: The endpoint's GLUE interface name, as the member's document gives it.
    interface: Mapped[str] = mapped_column(sa.String(128))
    #: ``occi`` or ``cimi``: the standard the probe tested.
    protocol: Mapped[str] = mapped_column(sa.String(8))
    url: Mapped[str] = mapped_column(sa.String(512))
    checked: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    must_passed: Mapped[int] = mapped_column(sa.Integer)
    must_failed: Mapped[int] = mapped_column(sa.Integer)
    must_skipped: Mapped[int] = mapped_column(sa.Integer)
    should_failed: Mapped[int] = mapped_column(sa.Integer)
    health: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.String(1024))


class ImageListSubscription(Base):
    """An image list this site subscribes to, and the verdict of its last synchronisation.

    A list is trusted when it is signed by a certificate that chains to
    ``ca_pem`` and whose subject is ``endorser_dn``. Its images become public
    templates, or private ones of ``account_id`` when the subscription maps
    the list to a tenant (a virtual organisation's account). ``sealed_token`` is the token the
    list's publisher gave (sent as HTTP Basic user, as atrope sends it),
    encrypted under the server keys.
    """

    __tablename__ = "image_list_subscriptions"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    url: Mapped[str] = mapped_column(sa.String(512))
    endorser_dn: Mapped[str] = mapped_column(sa.String(512))
    ca_pem: Mapped[str] = mapped_column(sa.Text)
    sealed_token: Mapped[str | None] = mapped_column(sa.String(1024))
    account_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    #: The last list accepted: its identifier, version and expiry.
    list_identifier: Mapped[str | None] = mapped_column(sa.String(255))
    list_version: Mapped[str | None] = mapped_column(sa.String(255))
    expires: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    synced: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(sa.String(1024))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the worker's schedule next synchronises the list; claimed by a
    #: conditional UPDATE, so one worker of many takes each turn.
    sync_due: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AccountingSite(Base):
    """A site whose usage records this accounting repository accepts.

    The site pushes with a bearer token made when it was added; only the
    token's SHA-256 is kept (the token is 256 random bits, so a plain hash
    suffices and a lookup by it is one indexed read).
    """

    __tablename__ = "accounting_sites"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AccountingRecord(Base):
    """The latest APEL cloud record of one guest of one site in one month.

    APEL's records are cumulative snapshots: the repository keeps, per site,
    VMUUID and month of measurement, the latest one it was sent (a push of
    the same record again replaces it). The summary's figures for a month
    are each guest's growth since its record of the month before. ``record``
    holds every field as sent; the other columns are what summaries read.
    """

    __tablename__ = "accounting_records"
    __table_args__ = (
        sa.UniqueConstraint("site", "vmuuid", "month", name="uq_accounting_records_guest_month"),
        sa.Index("ix_accounting_records_month_site", "month", "site"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    site: Mapped[str] = mapped_column(sa.String(64))
    vmuuid: Mapped[str] = mapped_column(sa.String(255))
    #: The month of measurement as YYYYMM.
    month: Mapped[int] = mapped_column(sa.Integer)
    measured: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    vo: Mapped[str] = mapped_column(sa.String(255))
    project: Mapped[str] = mapped_column(sa.String(255))
    image_id: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16))
    start_time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    wall_duration: Mapped[int] = mapped_column(sa.BigInteger)
    cpu_duration: Mapped[int] = mapped_column(sa.BigInteger)
    record: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    received: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ScheduledTask(Base):
    """A piece of the workers' schedule that one worker of many runs at each turn.

    A worker runs the task when it moves ``due`` forward by a conditional
    UPDATE (``WHERE due <= now``): of several workers, one succeeds.
    """

    __tablename__ = "scheduled_tasks"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    due: Mapped[dt.datetime] = mapped_column(UTCDateTime())
