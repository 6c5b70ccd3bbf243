"""The bounds every CIMI request body is decoded within: the one place they are declared.

Both codecs check them before they read any value, in one pass linear in the
size of the document, so that no body costs more than a bound proportional
to its size (DESIGN.md: bodies have size limits; docs/security.rst):

==================  ===============================  ===================================
limit               what it bounds                   setting (default)
==================  ===============================  ===================================
``max_bytes``       the body, in bytes               ``max_body_bytes`` (1 MiB)
``max_depth``       nesting: XML elements, JSON      ``max_document_depth`` (32)
                    objects and arrays
``max_elements``    XML elements; JSON values        ``max_document_elements`` (10000)
``max_attributes``  attributes of one XML element;   ``max_element_attributes`` (256)
                    members of one JSON object
==================  ===============================  ===================================

Every refusal is a :class:`~cimi.errors.DecodeError` (400) naming the limit.
The defaults are those of :class:`concord.settings.Settings`, so a codec used
on its own (the tests, a tool) applies what a server applies by default.
"""

from __future__ import annotations

from dataclasses import dataclass

from cimi.errors import DecodeError
from concord.settings import Settings


@dataclass(frozen=True)
class Limits:
    """Bounds on a request body (see the module docstring).

    :param max_bytes: the largest body accepted, in bytes.
    :param max_depth: the deepest nesting accepted (JSON containers, XML elements).
    :param max_elements: the most XML elements, or JSON values, in one document.
    :param max_attributes: the most attributes of one XML element, or members
        of one JSON object.
    """

    max_bytes: int = Settings.max_body_bytes
    max_depth: int = Settings.max_document_depth
    max_elements: int = Settings.max_document_elements
    max_attributes: int = Settings.max_element_attributes

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits a server's settings ask for."""
        return cls(
            max_bytes=settings.max_body_bytes,
            max_depth=settings.max_document_depth,
            max_elements=settings.max_document_elements,
            max_attributes=settings.max_element_attributes,
        )

    def check_size(self, data: bytes) -> None:
        """Refuse a body larger than :attr:`max_bytes`."""
        if len(data) > self.max_bytes:
            raise DecodeError(f"body too large: {len(data)} bytes, the limit is {self.max_bytes}")

    def too_deep(self) -> DecodeError:
        """The error for a document nested deeper than :attr:`max_depth`."""
        return DecodeError(f"document nested too deeply: the limit is {self.max_depth} levels")

    def too_many_elements(self, what: str = "elements") -> DecodeError:
        """The error for a document with more than :attr:`max_elements` elements."""
        return DecodeError(f"document too large: more than {self.max_elements} {what}")

    def too_many_values(self) -> DecodeError:
        """The error for a JSON document with more values than ``max_elements``."""
        return self.too_many_elements("JSON values")

    def too_many_attributes(self, where: str, what: str = "attributes") -> DecodeError:
        """The error for an element with more than :attr:`max_attributes` attributes."""
        return DecodeError(f"{where}: more than {self.max_attributes} {what}")


DEFAULT_LIMITS = Limits()
