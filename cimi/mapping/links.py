"""The URLs of CIMI resources: built from the base URI, and read back from hrefs.

Every ``id`` and ``href`` Concord writes is absolute (cimi.md 8.3; Deltacloud's
tests assume URIs) and sits below the CloudEntryPoint's ``baseURI``
(``http://host/cimi/``): ``machines/<id>``, ``machines/<id>/volumes/<id>``...
Clients must not build these (cimi.md 2.1); they follow them, and send them
back in bodies as references, which :meth:`Links.segments` reads, relative
ones resolved against ``baseURI`` (DSP0263 5.12).
"""

from __future__ import annotations

from urllib.parse import unquote, urljoin, urlsplit

from cimi.errors import DecodeError

#: The CloudEntryPoint's path below the base URI.
CEP = "cloudEntryPoint"


class Links:
    """URLs below one base URI (the CEP's ``baseURI``, with its trailing slash).

    :param base: e.g. ``http://cloud.test/cimi/``.
    """

    def __init__(self, base: str) -> None:
        self.base = base if base.endswith("/") else base + "/"
        self._path = urlsplit(self.base).path

    def of(self, *segments: str) -> str:
        """The URL of the resource or collection at *segments* (``"machines", id``)."""
        return self.base + "/".join(segments)

    @property
    def cep(self) -> str:
        """The CloudEntryPoint's URL."""
        return self.base + CEP

    def segments(self, href: str) -> tuple[str, ...] | None:
        """The path segments of *href* below the base, or None when it points elsewhere.

        A relative href is resolved against the base URI (DSP0263 5.12).
        """
        absolute = urljoin(self.base, href.strip())
        parts = urlsplit(absolute)
        if parts.query or parts.fragment or not absolute.startswith(self.base):
            return None
        rest = parts.path[len(self._path) :].strip("/")
        return tuple(unquote(s) for s in rest.split("/")) if rest else ()

    def id_of(self, href: object, key: str, what: str, field: str) -> str:
        """The id in an href that must be ``<base><key>/<id>``.

        :param what: the expected type, for the message (``MachineConfiguration``).
        :param field: the attribute path of the reference, for the message.
        :raises DecodeError: the href points at anything else.
        """
        found = self.segments(href) if isinstance(href, str) else None
        if found is None or len(found) != 2 or found[0] != key or not found[1]:
            raise DecodeError(f"{field}: {href!r} is not the href of a {what} of this provider")
        return found[1]


__all__ = ["CEP", "Links"]
