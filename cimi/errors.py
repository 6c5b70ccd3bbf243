"""The errors the CIMI layers raise.

::

    engine.errors.InvalidInput        (a client mistake: the views answer 400)
    ├── DecodeError                   a request body is malformed or invalid
    └── QueryError                    a query parameter ($filter, ...) is invalid
    engine.errors.EngineError
    └── OperationNotSupported         this type has no such operation (405)
    ValueError
    └── EncodeError                   the server built a value its table refuses

:class:`DecodeError` and :class:`QueryError` derive from
:class:`engine.errors.InvalidInput`, so the edge maps them to 400 without a
special case. :class:`EncodeError` is a bug on our side (a view handed the
codec a value that breaks its table) and stays a plain :class:`ValueError`,
which the edge logs and answers with 500.
"""

from __future__ import annotations

from engine.errors import EngineError, InvalidInput


class DecodeError(InvalidInput):
    """A CIMI request body could not be decoded or broke its resource table.

    :param message: a precise sentence for the client, naming the attribute
        path (``machineTemplate.machineConfig.cpu``) when there is one.
    """


class QueryError(InvalidInput):
    """A CIMI query parameter is malformed or unsupported (DSP0263 4.1.6)."""


class EncodeError(ValueError):
    """A neutral value handed to an encoder does not fit its resource table."""


class OperationNotSupported(EngineError):
    """The resource type has no such operation at all (add, edit, delete): 405.

    Distinct from an operation the resource's *state* forbids now, which the
    engine reports as :class:`engine.errors.InvalidTransition` (409). The
    CIMI views answer it with 405 and an ``Allow`` header (DSP0263 4.2.1;
    SlipStream answers a bad method 405, cimi.md 2.11).
    """
