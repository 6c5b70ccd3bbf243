"""Federated identity: trusted issuers, the mapping, and the local users they lead to.

The HTTP edge verifies a token's signature, expiry and audience against the
issuer recorded here (the engine makes no network call); the engine then
applies the mapping to the token's claims and signs the caller in as the
local user of that issuer and subject, creating the user on the first
sign-in.

Trust model, enforced here whatever the rules say:

* the domain, account and project a rule names must already exist: an
  operator admits a virtual organisation by creating them, a token cannot;
* a federated user only ever lands in an ordinary (``user``) account, never
  in an administrators' account, so no token makes anyone an administrator;
* a local user created for a subject stays that subject's: a later token whose
  rule names another account is refused, and a rule's user name that is
  already taken by a user who did not come through this issuer and subject is
  refused rather than taken over.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.errors import (
    AlreadyExists,
    AuthenticationFailed,
    InvalidInput,
    NotFound,
)
from engine.federation.mapping import MappingRules, Placement
from engine.federation.models import FederatedIdentity, MappingRule, TrustedIssuer
from engine.naming import check_name
from engine.scope import Scope
from engine.tenancy.credentials import SIGN_IN_FAILED, CredentialService
from engine.tenancy.models import Account, AccountType, Project, ProjectRole, User
from engine.tenancy.service import TenancyService

log = logging.getLogger(__name__)

#: The longest ``sub`` claim accepted (OpenID Connect Core §2 allows 255 ASCII characters).
MAX_SUBJECT_LENGTH = 255


#: Why a caller who is not a root administrator is refused.
_ROOT_ONLY = "only root administrators manage federated identity"


def _refused(reason: str, *args: object) -> AuthenticationFailed:
    """The sign-in failure a client sees is always the same; the log says why."""
    log.info("federated sign-in refused: " + reason, *args)
    return AuthenticationFailed(SIGN_IN_FAILED)


class FederatedIdentityService:
    """Trusted issuers, mapping rules, and sign-in of federated users.

    :param session: the unit of work; the caller commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tenancy = TenancyService(session)

    # -- issuers (root administrators) -------------------------------------------

    def add_issuer(
        self, scope: Scope, name: str, url: str, audience: str, jwks_uri: str | None = None
    ) -> TrustedIssuer:
        """Trust the identity provider whose tokens carry ``iss`` = ``url`` and name ``audience``.

        :param jwks_uri: where its keys are published; None to read it from
            the provider's OpenID Connect discovery document.
        """
        scope.require_root_admin(_ROOT_ONLY)
        check_name("issuer", name)
        for what, value in (("url", url), ("jwks_uri", jwks_uri)):
            if value is not None and not value.startswith(("https://", "http://")):
                raise InvalidInput(
                    f"the issuer's {what} must be an http(s) URL", field=what, reason="http_url"
                )
        if not audience:
            raise InvalidInput("tokens must name an audience: give the issuer's", field="audience")
        taken = self.session.scalar(
            sa.select(TrustedIssuer.id).where(
                sa.or_(TrustedIssuer.name == name, TrustedIssuer.url == url)
            )
        )
        if taken:
            raise AlreadyExists(
                f"an issuer named {name!r} or at {url} is already trusted",
                subject="issuer",
                name=name,
            )
        issuer = TrustedIssuer(name=name, url=url, audience=audience, jwks_uri=jwks_uri)
        self.session.add(issuer)
        self.session.flush()
        return issuer

    def list_issuers(self, scope: Scope) -> list[TrustedIssuer]:
        """The trusted issuers, by name."""
        scope.require_root_admin(_ROOT_ONLY)
        return list(self.session.scalars(sa.select(TrustedIssuer).order_by(TrustedIssuer.name)))

    def remove_issuer(self, scope: Scope, name: str) -> None:
        """Stop trusting an issuer; its users stay, but can no longer sign in through it."""
        scope.require_root_admin(_ROOT_ONLY)
        issuer = self.session.scalar(sa.select(TrustedIssuer).where(TrustedIssuer.name == name))
        if issuer is None:
            raise NotFound(f"no trusted issuer {name!r}", subject="issuer", name=name)
        self.session.delete(issuer)
        self.session.flush()

    def issuer_at(self, url: str) -> TrustedIssuer | None:
        """The trusted issuer whose ``iss`` is ``url`` (sign-in: before there is a scope)."""
        return self.session.scalar(sa.select(TrustedIssuer).where(TrustedIssuer.url == url))

    # -- mapping ---------------------------------------------------------------

    def set_mapping(self, scope: Scope, document: Any) -> MappingRules:
        """Replace every mapping rule with those of ``document`` (checked first, then all at once).

        :raises InvalidInput: the document is not a valid mapping; nothing changes.
        """
        scope.require_root_admin(_ROOT_ONLY)
        rules = MappingRules(document)
        self.session.execute(sa.delete(MappingRule))
        for position, raw in enumerate(rules.raw_rules, 1):
            self.session.add(MappingRule(position=position, rule=raw))
        self.session.flush()
        return rules

    def mapping(self) -> MappingRules:
        """The mapping rules in force (none: every federated sign-in is refused)."""
        raws = self.session.scalars(sa.select(MappingRule.rule).order_by(MappingRule.position))
        return MappingRules({"rules": list(raws)})

    # -- sign-in ---------------------------------------------------------------

    def sign_in(self, issuer: TrustedIssuer, claims: dict[str, Any]) -> Scope:
        """The scope of the federated user that verified ``claims`` from ``issuer`` stand for.

        The caller has verified the token (signature, ``iss``, ``aud``, expiry).
        Creates the local user, and its project membership, on first sign-in.

        :raises AuthenticationFailed: no rule matches, or the rule leads where
            the trust model (module docstring) forbids; the log says which.
        """
        subject = claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
            raise _refused("issuer %s: the token has no usable 'sub'", issuer.name)
        placement = self.mapping().place(issuer.name, claims)
        if placement is None:
            raise _refused("issuer %s, subject %r: no mapping rule matches", issuer.name, subject)
        account = self._account(placement)
        identity = self.session.scalar(
            sa.select(FederatedIdentity).where(
                FederatedIdentity.issuer_id == issuer.id, FederatedIdentity.subject == subject
            )
        )
        if identity is None:
            user = self._new_user(issuer, subject, placement, account)
        else:
            known = self.session.get(User, identity.user_id)
            if known is None or known.account_id != account.id:
                raise _refused(
                    "issuer %s, subject %r: rule %d names account %r, not the user's own",
                    issuer.name,
                    subject,
                    placement.rule,
                    placement.account,
                )
            user = known
            identity.last_seen = utcnow()
        if placement.project is not None:
            self._join(placement, account, user)
        self.session.flush()
        return CredentialService(self.session).scope_for_user_id(user.id)

    def _account(self, placement: Placement) -> Account:
        system = Scope.system(self.tenancy.root())
        try:
            domain = self.tenancy.find_domain(system, placement.domain)
            account = self.tenancy.find_account(system, domain.id, placement.account)
        except NotFound:
            raise _refused(
                "rule %d names domain %r, account %r, which do not exist",
                placement.rule,
                placement.domain,
                placement.account,
            ) from None
        if account.type is not AccountType.USER:
            raise _refused(
                "rule %d names %r, an administrators' account", placement.rule, account.name
            )
        return account

    def _new_user(
        self, issuer: TrustedIssuer, subject: str, placement: Placement, account: Account
    ) -> User:
        try:
            check_name("user", placement.username)
        except InvalidInput:
            raise _refused(
                "rule %d gives the invalid user name %r", placement.rule, placement.username
            ) from None
        if self.session.scalar(sa.select(User.id).where(User.username == placement.username)):
            raise _refused(
                "rule %d gives user name %r, which another user has",
                placement.rule,
                placement.username,
            )
        system = Scope.system(self.tenancy.root())
        user = self.tenancy.create_user(system, account.id, placement.username)
        self.session.add(FederatedIdentity(issuer_id=issuer.id, subject=subject, user_id=user.id))
        self.session.flush()
        log.info(
            "federated user %s created for issuer %s, subject %r",
            user.username,
            issuer.name,
            subject,
        )
        return user

    def _join(self, placement: Placement, account: Account, user: User) -> None:
        project = self.session.scalar(
            sa.select(Project).where(
                Project.domain_id == account.domain_id, Project.name == placement.project
            )
        )
        if project is None:
            raise _refused(
                "rule %d names project %r, which does not exist", placement.rule, placement.project
            )
        system = Scope.system(self.tenancy.root())
        members = {m.user_id: m.role for m in self.tenancy.members(system, project.id)}
        if user.id not in members:
            self.tenancy.add_member(system, project.id, user.id, ProjectRole(placement.role))
