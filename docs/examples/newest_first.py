"""An example custom allocator for Concord: the most recently added host first.

Install it as a package that declares, in its ``pyproject.toml``::

    [project.entry-points."concord.allocators"]
    newest_first = "newest_first:newest_first"

then ``concord allocator zone ZONE newest_first``.
"""


def newest_first(hosts, placement):
    """Rank the hosts that can take the guest: newest first.

    :param hosts: the hosts that pass every filter (each has room for the
        guest); ``engine.inventory.models.Host`` rows, read-only.
    :param placement: the guest (``vcpus``, ``memory_mib``, ``os_type``) and
        ``account_guests()``, its account's guests per host id.
    :returns: the hosts to try, best first; hosts left out are not tried.
    """
    return sorted(hosts, key=lambda host: (host.created, host.id), reverse=True)
