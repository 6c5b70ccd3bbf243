"""What a parser reads: a request's headers and body, independent of Pyramid."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from occi.parsing.errors import ParseError
from occi.parsing.headers import HEADER_NAMES
from occi.parsing.limits import DEFAULT_LIMITS, Limits


@dataclass(frozen=True)
class Message:
    """The parts of an HTTP request an OCCI parser may read.

    :param body: the request body, bytes (decoded with ``charset``) or text.
    :param headers: every request header as ``(name, value)`` text pairs, in order.
    :param base_url: the application URL (``http://host/prefix``); URLs under it
        come out of the parser as paths (occi.md §10 item 5).
    :param charset: the Content-Type's charset parameter (RFC 7231 §3.1.1.1).
    :param limits: the bounds the parser reads within (:mod:`occi.parsing.limits`).
    """

    body: bytes | str = b""
    headers: tuple[tuple[str, str], ...] = ()
    base_url: str | None = None
    charset: str = "utf-8"
    limits: Limits = DEFAULT_LIMITS

    @classmethod
    def from_wsgi(
        cls,
        headers: Iterable[tuple[str, str]],
        body: bytes = b"",
        base_url: str | None = None,
        charset: str = "utf-8",
        limits: Limits = DEFAULT_LIMITS,
    ) -> Message:
        """A message from WSGI headers, whose values are latin-1 text holding the
        raw bytes (PEP 3333); values that are valid UTF-8 are decoded as such.

        :raises ParseError: an OCCI rendering header (Category, Link,
            X-OCCI-Attribute, X-OCCI-Location) is not valid UTF-8: read as
            latin-1, its bytes would become other characters than the client's.
        """
        decoded = []
        for name, value in headers:
            try:
                decoded.append((name, value.encode("latin-1").decode("utf-8")))
            except UnicodeDecodeError as exc:
                if name.strip().lower() in HEADER_NAMES:
                    raise ParseError(
                        f"not valid UTF-8 (byte 0x{exc.object[exc.start]:02X} "
                        f"at position {exc.start})",
                        f"{name.strip()} header",
                    ) from None
                decoded.append((name, value))
            except UnicodeEncodeError:
                decoded.append((name, value))  # already text beyond latin-1: not from WSGI
        return cls(body, tuple(decoded), base_url, charset, limits)

    def text(self) -> str:
        """The body as text; a UTF-8 byte-order mark is dropped.

        :raises ParseError: when the body is not valid in its charset.
        """
        if isinstance(self.body, str):
            return self.body.removeprefix("\ufeff")
        try:
            return self.body.decode(self.charset).removeprefix("\ufeff")
        except LookupError:
            raise ParseError(f"unknown charset {self.charset[:40]!r}") from None
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"the body is not valid {self.charset[:40]} (byte {exc.start}: {exc.reason})"
            ) from None
        except ValueError:  # other codec failures, e.g. a charset name with NUL
            raise ParseError(f"the body cannot be decoded as {self.charset[:40]!r}") from None
