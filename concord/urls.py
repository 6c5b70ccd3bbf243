"""The base of every absolute URL Concord renders: ``request.public_url``.

Both renderings build their absolute URLs from this one value: OCCI's
``Location`` and ``X-OCCI-Location`` headers, link targets and the base that
turns a client's absolute references back into paths; CIMI's ``baseURI``,
every ``href`` and ``Location``. Where it comes from (docs/security.rst, "The public URL"):

1. the setting ``public_url`` (``https://cloud.example.org``), when set: the
   request's ``Host`` and any ``X-Forwarded-*`` header are never read, so a
   request naming another host gets the configured base, never its own;
2. otherwise, for a request whose peer (``REMOTE_ADDR``) is one of the
   ``trusted_proxies``: its last ``X-Forwarded-Proto`` (``http`` or
   ``https``) and ``X-Forwarded-Host`` (a host and optional port), each
   where valid, over the request's own scheme and ``Host``;
3. otherwise the request's own URL (``Host`` and scheme): convenient on a
   workstation, but whoever can reach the server chooses the host of the
   URLs it answers with (in a cache or a log they mislead others), which is
   why a server reachable by others should set ``public_url``.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from concord.request import add_request_property
from concord.settings import HOST_PORT, SCHEMES, Network, check_public_url, parse_networks

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


def _last(value: str | None) -> str:
    # A proxy that appends to a list puts its own value last; earlier ones are
    # whatever the client sent.
    return (value or "").rsplit(",", 1)[-1].strip()


class PublicUrls:
    """Decides a request's public base URL (see the module docstring).

    :param public_url: the configured base (checked), or ``""``.
    :param trusted_proxies: the peers whose ``X-Forwarded-*`` headers are believed.
    """

    def __init__(self, public_url: str = "", trusted_proxies: tuple[Network, ...] = ()) -> None:
        self.public_url = check_public_url(public_url) if public_url else ""
        self.trusted_proxies = trusted_proxies

    def trusts(self, peer: str | None) -> bool:
        """Whether ``peer`` (an address) is a trusted proxy."""
        if not self.trusted_proxies or not peer:
            return False
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        return any(address in network for network in self.trusted_proxies)

    def base(self, request: Request) -> str:
        """The base URL of the request's absolute URLs, without a trailing slash."""
        if self.public_url:
            return self.public_url
        if not self.trusts(request.environ.get("REMOTE_ADDR")):
            return str(request.application_url)
        own = urlsplit(str(request.application_url))
        scheme = _last(request.headers.get("X-Forwarded-Proto")).lower()
        host = _last(request.headers.get("X-Forwarded-Host"))
        return urlunsplit(
            (
                scheme if scheme in SCHEMES else own.scheme,
                host if HOST_PORT.fullmatch(host) else own.netloc,
                own.path,
                "",
                "",
            )
        )


def public_url(request: Request) -> str:
    """``request.public_url``: the base of the absolute URLs rendered for this request."""
    urls: PublicUrls = request.registry.public_urls
    return urls.base(request)


def includeme(config: Configurator) -> None:
    """Add ``request.public_url`` (``concord.request`` must be included first)."""
    settings = config.registry.concord_settings
    config.registry.public_urls = PublicUrls(
        settings.public_url, parse_networks(settings.trusted_proxies)
    )
    add_request_property(config, public_url, "public_url")
