"""Concord's resource engine: tenancy, inventory, catalog, resources, jobs, allocation.

The engine is the one model that both standard renderings (OCCI and CIMI)
expose. It knows nothing of HTTP or of either standard: it never imports
pyramid, webob, lxml, ``occi``, ``cimi`` or ``concord`` (a test enforces it).
Every service method takes the caller's :class:`engine.scope.Scope`
explicitly; failures are raised from the tree in :mod:`engine.errors`.
"""
