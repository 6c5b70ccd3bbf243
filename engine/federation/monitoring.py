"""The monitoring plane: a registry probes its members' OCCI and CIMI endpoints, keeps verdicts.

EGI's federation tested every site's endpoints from the centre (ARGO's
Nagios probes) and published each endpoint's health in the information
system. A Concord registry does the same with the conformance harness's
read-only profile: the HTTP edge runs it against each OCCI and CIMI endpoint
a member's GLUE document lists, and this module turns what it found into
GLUE 2.1's endpoint health (``HealthState``: ``ok``, ``warning``,
``critical``, ``unknown``; ``HealthStateInfo``: why), records it with a
bounded history, and lays the latest verdicts over the members' documents
for the registry's aggregated view and ``concord federation status``.

The engine makes no network call: the edge probes and hands in a
:class:`ProbeOutcome`. Members' probe credentials are stored like their
document tokens, sealed under the server keys, and are handed out only as a
:class:`ProbeTarget` whose secret is left out of its ``repr``.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.errors import InvalidInput, NotFound
from engine.federation.models import EndpointCheck, FederationMember
from engine.scope import Scope
from engine.tenancy.server_keys import ServerKeys

#: GLUE 2.1's endpoint health states that monitoring gives (EndpointHealthState_t).
OK, WARNING, CRITICAL, UNKNOWN = "ok", "warning", "critical", "unknown"
#: Probes kept per member and interface; older ones are deleted as new ones come.
HISTORY = 48
#: The credential kinds a member's probe identity may have.
AUTH_KINDS = ("basic", "hmac")
#: The longest health reason kept (the column's size).
REASON_LIMIT = 1024


#: Why a caller who is not a root administrator is refused.
_ROOT_ONLY = "only root administrators manage the federation's monitoring"


def protocol_of(interface: str) -> str | None:
    """``occi`` or ``cimi`` for a GLUE interface name the monitoring probes, else None.

    EGI's registry names OCCI endpoints ``eu.egi.cloud.vm-management.occi``
    and CIMI ones ``org.dmtf.cimi``; other interfaces (Keystone, ...) are
    not OCCI or CIMI endpoints and are not probed.
    """
    name = interface.lower()
    if name.endswith(".occi") or name == "occi":
        return "occi"
    if name.endswith(".cimi") or name == "cimi":
        return "cimi"
    return None


@dataclass(frozen=True)
class ProbeOutcome:
    """What one read-only conformance run against one endpoint found, in neutral values.

    :param unreachable: why the endpoint did not answer at all, if it did not.
    :param must_failures: the failed MUST requirements, ``id: reason`` each.
    :param should_failures: the failed SHOULD requirements, likewise.
    :param skip_reason: why the run skipped what it skipped (the first reason).
    :param error: why the probe itself could not run (not the endpoint's fault).
    """

    must_passed: int = 0
    must_failed: int = 0
    must_skipped: int = 0
    should_failed: int = 0
    unreachable: str | None = None
    must_failures: tuple[str, ...] = ()
    should_failures: tuple[str, ...] = ()
    skip_reason: str = ""
    error: str | None = None


def derive_health(outcome: ProbeOutcome) -> tuple[str, str]:
    """GLUE 2.1's health state of an endpoint from a probe, and the reason for it.

    ``critical``: the endpoint does not answer, or a MUST requirement failed;
    ``unknown``: the probe could not run, or judged no MUST requirement
    (e.g. no credentials); ``warning``: no MUST failed but a SHOULD did;
    ``ok``: MUST requirements passed and none failed.
    """
    if outcome.error is not None:
        return UNKNOWN, f"the probe could not run: {outcome.error}"
    if outcome.unreachable is not None:
        return CRITICAL, f"the endpoint does not answer: {outcome.unreachable}"
    if outcome.must_failed:
        first = "; ".join(outcome.must_failures[:2])
        return CRITICAL, f"{outcome.must_failed} MUST requirement(s) failed: {first}"
    if not outcome.must_passed:
        why = outcome.skip_reason or "every MUST requirement was skipped"
        return UNKNOWN, f"no MUST requirement could be checked: {why}"
    if outcome.should_failed:
        first = "; ".join(outcome.should_failures[:2])
        return WARNING, f"{outcome.should_failed} SHOULD requirement(s) failed: {first}"
    return OK, (
        f"{outcome.must_passed} MUST requirement(s) passed, "
        f"{outcome.must_skipped} skipped (read-only profile)"
    )


@dataclass(frozen=True)
class ProbeTarget:
    """An endpoint to probe and the identity to probe it as (the secret is not in the repr)."""

    member: str
    interface: str
    protocol: str
    url: str
    auth: str | None = None
    user: str | None = None
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EndpointStatus:
    """A member endpoint's latest health, as ``concord federation status`` shows it.

    :param checked: when it was last probed (None: never).
    :param counts: MUST passed, failed, skipped, and SHOULD failed, of that probe.
    """

    member: str
    interface: str
    url: str
    health: str
    reason: str
    checked: dt.datetime | None = None
    counts: tuple[int, int, int, int] | None = None


def latest_checks(session: Session, member: FederationMember) -> dict[str, EndpointCheck]:
    """The registry's latest probe of each of ``member``'s interfaces, by interface name."""
    found: dict[str, EndpointCheck] = {}
    for check in session.scalars(
        sa.select(EndpointCheck)
        .where(EndpointCheck.member_id == member.id)
        .order_by(EndpointCheck.checked.desc())
    ):
        found.setdefault(check.interface, check)
    return found


def _endpoints(document: Any) -> list[tuple[str, str]]:
    """The (interface name, URL) of each OCCI or CIMI endpoint in a GLUE document."""
    found = []
    entries = document.get("CloudComputingEndpoint", []) if isinstance(document, dict) else []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        interface, url = entry.get("InterfaceName"), entry.get("URL")
        if (
            isinstance(interface, str)
            and isinstance(url, str)
            and url.startswith(("http://", "https://"))
            and protocol_of(interface)
        ):
            found.append((interface[:128], url[:512]))
    return found


class MonitorService:
    """The registry's monitoring: probe identities, probe results, and health over documents.

    :param session: the unit of work; the caller commits.
    :param server_keys: the keys members' probe secrets are sealed with.
    """

    def __init__(self, session: Session, server_keys: ServerKeys) -> None:
        self.session = session
        self.server_keys = server_keys

    def set_credentials(
        self, scope: Scope, name: str, auth: str | None, user: str | None, secret: str | None
    ) -> None:
        """Give member ``name``'s probes an identity (``auth`` None: probe anonymously).

        :param auth: ``basic`` (``user`` and its password) or ``hmac`` (an API
            key and its secret).
        """
        scope.require_root_admin(_ROOT_ONLY)
        member = self._member(name)
        if auth is None:
            member.monitor_auth = member.monitor_user = member.sealed_monitor_secret = None
        else:
            if auth not in AUTH_KINDS:
                raise InvalidInput("the probe identity is basic or hmac", field="auth")
            if not user or not secret or len(user) > 255 or ":" in user:
                raise InvalidInput(
                    "a probe identity needs a user name (or key) and its secret", field="user"
                )
            member.monitor_auth, member.monitor_user = auth, user
            member.sealed_monitor_secret = self.server_keys.seal(secret)
        self.session.flush()

    def targets(self, names: list[str] | None = None) -> list[ProbeTarget]:
        """Every OCCI and CIMI endpoint of the members' last documents, with the probe identity.

        :param names: only these members (all when None); an unknown name is NotFound.
        """
        members = [self._member(n) for n in names] if names else self._members()
        found = []
        for member in members:
            secret = (
                self.server_keys.unseal(member.sealed_monitor_secret)
                if member.sealed_monitor_secret
                else None
            )
            for interface, url in _endpoints(member.document):
                found.append(
                    ProbeTarget(
                        member.name,
                        interface,
                        protocol_of(interface) or "",
                        url,
                        member.monitor_auth,
                        member.monitor_user,
                        secret,
                    )
                )
        return found

    def record(
        self, target: ProbeTarget, outcome: ProbeOutcome, checked: dt.datetime | None = None
    ) -> EndpointCheck:
        """Record a probe of ``target`` and the health derived; keep the last :data:`HISTORY`."""
        member = self._member(target.member)
        health, reason = derive_health(outcome)
        check = EndpointCheck(
            member_id=member.id,
            interface=target.interface,
            protocol=target.protocol,
            url=target.url,
            checked=checked or utcnow(),
            must_passed=outcome.must_passed,
            must_failed=outcome.must_failed,
            must_skipped=outcome.must_skipped,
            should_failed=outcome.should_failed,
            health=health,
            reason=reason[:REASON_LIMIT],
        )
        self.session.add(check)
        self.session.flush()
        same = (EndpointCheck.member_id == member.id, EndpointCheck.interface == target.interface)
        kept = sa.select(EndpointCheck.id).where(*same).order_by(EndpointCheck.checked.desc())
        old = list(self.session.scalars(kept.offset(HISTORY)))
        if old:
            self.session.execute(sa.delete(EndpointCheck).where(EndpointCheck.id.in_(old)))
        return check

    def history(self, scope: Scope, name: str, limit: int = HISTORY) -> list[EndpointCheck]:
        """Member ``name``'s probes, newest first."""
        scope.require_root_admin(_ROOT_ONLY)
        member = self._member(name)
        return list(
            self.session.scalars(
                sa.select(EndpointCheck)
                .where(EndpointCheck.member_id == member.id)
                .order_by(EndpointCheck.checked.desc(), EndpointCheck.interface)
                .limit(limit)
            )
        )

    def latest(self, member: FederationMember) -> dict[str, EndpointCheck]:
        """The latest probe of each of ``member``'s interfaces, by interface name."""
        return latest_checks(self.session, member)

    def status(self, scope: Scope) -> list[EndpointStatus]:
        """Each member's OCCI and CIMI endpoints with their latest health (``unknown`` if none)."""
        scope.require_root_admin(_ROOT_ONLY)
        rows = []
        for member in self._members():
            latest = self.latest(member)
            endpoints = _endpoints(member.document)
            if not endpoints:
                why = member.error or "no GLUE document with OCCI or CIMI endpoints read yet"
                rows.append(EndpointStatus(member.name, "-", "", UNKNOWN, why))
            for interface, url in endpoints:
                check = latest.get(interface)
                if check is None:
                    rows.append(
                        EndpointStatus(member.name, interface, url, UNKNOWN, "not probed yet")
                    )
                    continue
                counts = (check.must_passed, check.must_failed, check.must_skipped)
                rows.append(
                    EndpointStatus(
                        member.name,
                        interface,
                        check.url,
                        check.health,
                        check.reason,
                        check.checked,
                        (*counts, check.should_failed),
                    )
                )
        return rows

    def documents_with_health(self, scope: Scope) -> list[tuple[FederationMember, dict[str, Any]]]:
        """The members' last documents, each endpoint's health from the registry's latest probe.

        An endpoint the registry has probed gets that probe's ``HealthState``
        and ``HealthStateInfo``; one it has not keeps what the member
        published. Members without a document are left out.
        """
        scope.require_root_admin(_ROOT_ONLY)
        found = []
        for member in self._members():
            if not isinstance(member.document, dict):
                continue
            document = copy.deepcopy(member.document)
            latest = self.latest(member)
            for entry in document.get("CloudComputingEndpoint", []):
                check = latest.get(str(entry.get("InterfaceName")))
                if check is not None:
                    entry["HealthState"] = check.health
                    entry["HealthStateInfo"] = check.reason
            found.append((member, document))
        return found

    def _members(self) -> list[FederationMember]:
        return list(
            self.session.scalars(sa.select(FederationMember).order_by(FederationMember.name))
        )

    def _member(self, name: str) -> FederationMember:
        member = self.session.scalar(
            sa.select(FederationMember).where(FederationMember.name == name)
        )
        if member is None:
            raise NotFound(f"no member site {name!r}", subject="site", name=name)
        return member
