"""The interfaces this server answers on, as each wing declares them.

Site discovery (the federation wing's GLUE document) lists one endpoint per
interface with its real version; the renderings know their own paths and
versions, so each declares itself here when it is included
(``config.add_interface(...)``) and nothing else has to repeat them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyramid.config import Configurator


@dataclass(frozen=True)
class Interface:
    """One interface: its name in the federation, its path on this server, its version.

    :param name: the interface name a federation registry knows it by.
    :param path: where it is rooted, below the public URL.
    :param version: the version of the standard served.
    :param authentication: the schemes it accepts, comma-separated.
    :param hosts_guests: whether clients create guests through it (its health
        then depends on the site's hosts, not only on its answering).
    """

    name: str
    path: str
    version: str
    authentication: str
    hosts_guests: bool = False


def add_interface(
    config: Configurator,
    name: str,
    path: str,
    version: str,
    authentication: str,
    *,
    hosts_guests: bool = False,
) -> None:
    """Directive: declare an interface this server answers on."""
    interfaces: list[Interface] = config.registry.interfaces
    interfaces.append(Interface(name, path, version, authentication, hosts_guests))


def includeme(config: Configurator) -> None:
    """Add the ``add_interface`` directive."""
    config.registry.interfaces = []
    config.add_directive("add_interface", add_interface)
