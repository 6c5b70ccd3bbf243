"""Dedicating zones, pods, clusters and hosts to a domain or an account.

Root administrators set infrastructure aside; placement then keeps every
other owner's guests off it and prefers it for its holder
(:class:`engine.allocation.policy.ZonePolicy`). Guests already placed stay
where they are when a dedication is made or released.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.inventory.dedicated import DedicatedLevel, Dedication
from engine.inventory.models import Cluster, Host, Pod, Zone
from engine.scope import Scope
from engine.tenancy.models import Account, Domain

#: The model of each level a dedication may target.
TARGETS: dict[DedicatedLevel, type[Zone] | type[Pod] | type[Cluster] | type[Host]] = {
    DedicatedLevel.ZONE: Zone,
    DedicatedLevel.POD: Pod,
    DedicatedLevel.CLUSTER: Cluster,
    DedicatedLevel.HOST: Host,
}


#: Why a caller who is not a root administrator is refused.
_ROOT_ONLY = "infrastructure is dedicated by root administrators"


class DedicationService:
    """Dedicate infrastructure, release it, and list what is dedicated.

    :param session: the unit of work; the caller commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def dedicate(
        self,
        scope: Scope,
        level: DedicatedLevel | str,
        target_id: str,
        *,
        domain_id: str | None = None,
        account_id: str | None = None,
    ) -> Dedication:
        """Set a zone, pod, cluster or host aside for one domain or one account.

        :raises PermissionDenied: the caller is not a root administrator.
        :raises InvalidInput: not exactly one of ``domain_id`` and ``account_id``,
            or an unknown level.
        :raises NotFound: no such target, domain or account.
        :raises AlreadyExists: the target is dedicated already (release it first).
        """
        scope.require_root_admin(_ROOT_ONLY)
        level = self._level(level)
        if (domain_id is None) == (account_id is None):
            raise InvalidInput("dedicate to one domain or to one account")
        if self.session.get(TARGETS[level], target_id) is None:
            raise NotFound(f"no {level.value} {target_id!r}", subject=level.value, id=target_id)
        holder = (
            self.session.get(Domain, domain_id)
            if domain_id is not None
            else self.session.get(Account, account_id)
        )
        if holder is None:
            missing = domain_id or account_id
            subject = "domain" if domain_id else "account"
            raise NotFound(f"no {subject} {missing!r}", subject=subject, id=missing)
        dedication = Dedication(
            level=level, target_id=target_id, domain_id=domain_id, account_id=account_id
        )
        try:
            with self.session.begin_nested():
                self.session.add(dedication)
                self.session.flush()
        except IntegrityError:
            raise AlreadyExists(
                f"the {level.value} is dedicated already", subject="dedication"
            ) from None
        return dedication

    def release(self, scope: Scope, level: DedicatedLevel | str, target_id: str) -> None:
        """Open a dedicated target to every owner again.

        :raises NotFound: it is not dedicated.
        """
        scope.require_root_admin(_ROOT_ONLY)
        level = self._level(level)
        result = self.session.execute(
            sa.delete(Dedication).where(
                Dedication.level == level, Dedication.target_id == target_id
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(
                f"the {level.value} {target_id!r} is not dedicated", subject="dedication"
            )

    def list(self, scope: Scope) -> list[Dedication]:
        """Every dedication, by level and creation."""
        scope.require_root_admin(_ROOT_ONLY)
        return list(
            self.session.scalars(
                sa.select(Dedication).order_by(Dedication.level, Dedication.created)
            )
        )

    @staticmethod
    def _level(level: DedicatedLevel | str) -> DedicatedLevel:
        try:
            return DedicatedLevel(level)
        except ValueError:
            levels = ", ".join(item.value for item in DedicatedLevel)
            raise InvalidInput(
                f"a dedication is of a {levels}", field="level", reason="unknown", value=str(level)
            ) from None


__all__ = ["TARGETS", "DedicationService"]
