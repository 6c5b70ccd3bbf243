"""The engine's one exception tree.

Every failure the engine reports to a caller is an :class:`EngineError`. The
HTTP edges (``concord``, ``occi``, ``cimi``) map each class to a status code
and a body in their own rendering; the engine itself knows nothing of HTTP::

    EngineError
    ├── InvalidInput            the request itself is malformed or out of range
    ├── AuthenticationFailed    credentials missing, wrong, expired or replayed
    ├── PermissionDenied        the caller is known but its role forbids this
    ├── NotFound                no such resource *visible to the caller's scope*
    ├── Conflict                the request clashes with the current state
    │   ├── AlreadyExists       a unique name or id is taken
    │   └── InvalidTransition   the lifecycle forbids this action in this state
    ├── QuotaExceeded           a domain, account or project limit would be passed
    ├── CapacityUnavailable     no host or pool can take the resource
    └── DriverError             the hypervisor failed the call
        └── DriverUnavailable   the hypervisor cannot be reached at all

Another tenant's resource is always :class:`NotFound`, never
:class:`PermissionDenied`: the existence of other tenants' resources must not
leak (DESIGN.md, "Interfaces users can rely on").

Structured details. The message is the engine's sentence, in the engine's
words (``running``, ``volume``, ``memory_mib``), for logs and the CLI. A
client never reads it where the error carries these facts, as engine values,
in :attr:`EngineError.details`; each rendering (``occi``, ``cimi``) writes
its own message from them through its own tables:

==============  ==============================================================
key             value
==============  ==============================================================
``kind``        the resource's :class:`~engine.lifecycle.Kind` value
``id``          the resource's id
``state``       its :class:`~engine.lifecycle.State` value now
``action``      the :class:`~engine.lifecycle.Action` value refused
``allowed``     the Action values its state allows now
``expected``    the State values the request needed it in
``operation``   ``attach``, ``prepare`` or ``detach`` (a link's), with
``link``        the link's Kind value
``field``       the engine's keyword of a refused value (``memory_mib``)
``reason``      why, as one engine word: for a value (with ``field``),
                ``range``, ``whole``, ``empty``, ``too_long``, ``too_short``,
                ``too_many``, ``control``, ``required``, ``unknown``,
                ``format``, ``cidr``, ``address``, ``grow``...; for a clash
                (with ``subject``), ``busy``, ``changed``, ``in_use``,
                ``attached``, ``taken``, ``not_placed``, ``state``...;
                for a refusal (:class:`PermissionDenied`, with
                ``subject``), ``own_records``... (the shared tables,
                :mod:`concord.error_words`, list them all)
``minimum``,    bounds of a ``range`` (``maximum`` also for ``too_long``), in
``maximum``     ``unit`` (``MiB``, ``GiB``; empty for a count)
``subject``     what the error is about when it is not a resource in a
                state: a Kind value, or another engine noun (``zone``,
                ``host``, ``user``, ``placement_group``, ``ssh_key``,
                ``compute_offering``, ``guest``, ``address``...); with
                ``id`` or ``name``, the one the caller named
``other``       what it clashes with or is used by (the same nouns)
``power_state`` the hypervisor's power state of a guest (not a State value)
==============  ==============================================================

A site whose sentence holds no engine word may raise with no fact at all:
the renderings then show its message as it is. The sweep in
``tests/unit/test_error_vocabulary.py`` builds every construction of every
class here, and fails when a rendering shows an engine word.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose.

    :param message: a sentence for the end user; never contains internals
        such as SQL, file paths or stack traces.
    :param details: optional structured facts (field names, limits, states)
        that a rendering may expose to help the client fix its request.
    """

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class InvalidInput(EngineError):
    """The request is malformed or a value is out of its allowed range."""


class AuthenticationFailed(EngineError):
    """Credentials are missing, wrong, malformed, expired or replayed."""


class PermissionDenied(EngineError):
    """The caller is authenticated and may see the target, but may not do this."""


class NotFound(EngineError):
    """The resource does not exist, or is not visible from the caller's scope."""


class Conflict(EngineError):
    """The request is valid but clashes with the current state of the model."""


class AlreadyExists(Conflict):
    """A resource with the same unique name or identifier already exists."""


class InvalidTransition(Conflict):
    """The lifecycle of the resource forbids the action in its current state."""


class QuotaExceeded(EngineError):
    """Granting the request would pass a domain, account or project limit."""


class CapacityUnavailable(EngineError):
    """No host or storage pool has room for the requested resource."""


class DriverError(EngineError):
    """The hypervisor driver reported a failure while carrying out a call."""


class DriverUnavailable(DriverError):
    """The hypervisor cannot be reached (connection refused, host down).

    :param detail: what the hypervisor's library said (libvirt's own error text, such as
        a missing socket), for operators: the CLI and the log show it; renderings show
        their own message only, since it can name paths and hosts of the installation.
    """

    def __init__(self, message: str, detail: str = "", **details: object) -> None:
        super().__init__(message, **details)
        self.detail = detail


__all__ = [
    "AlreadyExists",
    "AuthenticationFailed",
    "CapacityUnavailable",
    "Conflict",
    "DriverError",
    "DriverUnavailable",
    "EngineError",
    "InvalidInput",
    "InvalidTransition",
    "NotFound",
    "PermissionDenied",
    "QuotaExceeded",
]
