"""``text/plain`` and ``text/occi`` bodies built from header pairs (GFD.229 §3.2–3.3).

text/plain (and its synonym text/occi+plain) is the header rendering written
into the body, one ``Name: value`` line per header; it wraps
:func:`occi.rendering.headers.render_headers` and adds nothing of its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from occi.rendering.headers import Header, render_headers


def plain_body(headers: Iterable[Header]) -> str:
    """A text/plain body: one ``Name: value`` line per header, lines separated by LF.

    GFD.229's ABNF ends each line with CRLF, but the servers OCCI's clients were
    written against did not: rOCCI-server's text renderer and ooi's
    ``TextSerializer`` join lines with LF and write nothing after the last one.
    IM's OCCI connector (``im`` 1.19.1) depends on exactly that: it splits on
    LF (a CR would stay in every value it reads, so it would never see a state)
    and takes a new volume's id as ``os.path.basename`` of the whole 201 body
    (a final line break would end up in the id). pOCCI reads either. Parsers,
    Concord's included, accept CRLF and LF alike; docs/occi.rst records the
    choice ("Robustness choices").
    """
    return "\n".join(f"{name}: {value}" for name, value in headers)


def render_plain(document: object, base_url: str | None = None) -> str:
    """The text/plain body of a neutral OCCI structure (see :func:`render_headers`)."""
    return plain_body(render_headers(document, base_url))


# GFD.229 §3.3: with text/occi the data travels in headers and "the body MUST
# contain the string 'OK' on successful operations".
OCCI_HEADERS_BODY = "OK"
