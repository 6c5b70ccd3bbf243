"""Header names on the wire as the application spells them, under waitress too.

HTTP field names are case-insensitive (RFC 9110 §5.1), but the standards
Concord speaks spell theirs (``X-OCCI-Location``, ``X-OCCI-Attribute``,
GFD.223 §5; ``CIMI-Job-URI``, DSP0263 4.2.1.7), and clients exist that
compare them case-sensitively. waitress (the embedded server) rewrites every
response header name as ``X-Occi-Location`` / ``Cimi-Job-Uri``
(``waitress.task.WSGITask.build_response_header``), with no option to
leave them alone. :func:`keep_spelling` makes a waitress server put back the
application's spelling after waitress has built the header block; gunicorn
and other servers write the names as given and need nothing.
"""

from __future__ import annotations

from typing import Any

from waitress.channel import HTTPChannel
from waitress.task import WSGITask


class _SpellingTask(WSGITask):
    """A waitress task that writes header names as the application spelled them."""

    def build_response_header(self) -> bytes:
        spelled = {name.lower(): name for name, _ in self.response_headers}
        block: bytes = super().build_response_header()
        lines = block.decode("latin-1").split("\r\n")
        for i, line in enumerate(lines[1:], start=1):
            name, colon, rest = line.partition(":")
            if colon and name.lower() in spelled:
                lines[i] = f"{spelled[name.lower()]}:{rest}"
        return "\r\n".join(lines).encode("latin-1")


class _SpellingChannel(HTTPChannel):
    task_class = _SpellingTask


def keep_spelling(server: Any) -> Any:
    """Make a server from ``waitress.create_server`` keep header spelling; return it.

    A server listening on several sockets holds one server per socket in
    ``effective_listen``'s owners (``map``); each gets the channel class.
    """
    servers = [server]
    socket_map = getattr(server, "map", None)
    if isinstance(socket_map, dict) and not hasattr(server, "channel_class"):
        servers = [s for s in socket_map.values() if hasattr(s, "channel_class")]
    for each in servers:
        each.channel_class = _SpellingChannel
    return server


__all__ = ["keep_spelling"]
