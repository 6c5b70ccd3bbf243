"""Storage: volumes in primary storage pools.

Creating, resizing, bringing online and offline and deleting volumes (OCCI
storage, CIMI Volume), charged to ``volumes`` and ``primary_storage``,
reserved in a pool, with their jobs. Attaching a volume to a compute is a
link of the compute's: :mod:`engine.compute.attachments`.

Entry points:
    :class:`~engine.storage.service.StorageService`,
    :func:`~engine.storage.handlers.register` (the volume jobs),
    :mod:`~engine.storage.state` (facts and events); the tables in
    :mod:`~engine.storage.models`.

Uses: tenancy, jobs, resources, inventory, catalog, allocation (pool
placement).
"""
