"""Network: guest networks and their address management.

Networks (OCCI network with the ipnetwork mixin, CIMI Network) on VLAN or
VXLAN segments, their addresses and MACs (:class:`~engine.network.ipam.IPAM`),
and the jobs that define them on the hosts of a zone. A compute's interface
on a network is a link of the compute's: :mod:`engine.compute.interfaces`.

Entry points:
    :class:`~engine.network.service.NetworkService`, :class:`~engine.network.ipam.IPAM`,
    :class:`~engine.network.defaults.DefaultNetworks` (each account's network per zone),
    :mod:`~engine.network.addressing` (clients' addresses, ranges and masks),
    :func:`~engine.network.handlers.register` (the network jobs),
    :mod:`~engine.network.state`; the tables in :mod:`~engine.network.models`.

Uses: tenancy, jobs, resources, inventory, catalog.
"""
