"""Job handlers: what workers run for each job action.

Importing this package registers every handler into the process-wide
registry :data:`engine.jobs.worker.handlers`, so that a
:class:`~engine.jobs.worker.Worker` built with the default registry can run every
job the services queue. A worker with a private registry calls
:func:`register_all` on it.

One module per resource kind: :mod:`engine.compute.handlers` now; storage and
network handlers join it here.
"""

from __future__ import annotations

from engine.compute import handlers as compute
from engine.jobs.worker import HandlerRegistry, handlers
from engine.network import handlers as network
from engine.storage import handlers as storage


def register_all(registry: HandlerRegistry) -> None:
    """Register every engine handler missing from ``registry`` (safe to call twice)."""
    compute.register(registry)
    network.register(registry)
    storage.register(registry)


register_all(handlers)

__all__ = ["compute", "register_all"]
