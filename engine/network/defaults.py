"""Each account's default network per zone: where a compute given no network goes.

CloudStack puts a new VM on its account's default network of the zone, and
OpenStack on the project's network, so that a guest created without saying
more has an address. OCCI clients rely on that: IM's OCCI connector (``im``
1.19.1) creates computes without network links and only adds a network when
the server answers 409. The default is a setting per account and zone
(:class:`~engine.network.models.DefaultNetwork`), set by the account's users
or an administrator who sees the network; the compute service joins it
(:meth:`engine.compute.interfaces.InterfaceService.join_default_network`).
The computes of the account's projects join it too (a project-scoped
Keystone token creates such computes).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.lifecycle import State
from engine.network.models import DefaultNetwork, Network
from engine.network.service import NetworkService
from engine.scope import Scope


class DefaultNetworks:
    """Read and set the default network of an account in a zone.

    :param session: the unit of work; the caller commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def set(self, scope: Scope, network_id: str) -> DefaultNetwork:
        """Make a network its owner's default in its zone (replacing any other).

        :raises NotFound: no such network visible to ``scope``.
        """
        network = NetworkService(self.session).get(scope, network_id)
        row = self.session.get(DefaultNetwork, (network.account_id, network.zone_id))
        if row is None:
            row = DefaultNetwork(
                account_id=network.account_id, zone_id=network.zone_id, network_id=network.id
            )
            self.session.add(row)
        else:
            row.network_id = network.id
        self.session.flush()
        return row

    def clear(self, scope: Scope, network_id: str) -> bool:
        """Stop a network being its owner's default; whether it was.

        :raises NotFound: no such network visible to ``scope``.
        """
        network = NetworkService(self.session).get(scope, network_id)
        deleted = self.session.execute(
            sa.delete(DefaultNetwork).where(DefaultNetwork.network_id == network.id)
        )
        self.session.flush()
        return bool(getattr(deleted, "rowcount", 0))

    def of(self, account_id: str, zone_id: str) -> Network | None:
        """The default network of an account in a zone, if it has one that is not deleted."""
        return self.session.scalar(
            sa.select(Network)
            .join(DefaultNetwork, DefaultNetwork.network_id == Network.id)
            .where(
                DefaultNetwork.account_id == account_id,
                DefaultNetwork.zone_id == zone_id,
                Network.state != State.DELETED.value,
            )
        )


__all__ = ["DefaultNetworks"]
