"""Concord's composition root: the Pyramid app, settings, authentication and CLI.

``engine`` knows nothing of HTTP; this package turns requests into calls on
engine services with an explicit scope, and includes the two renderings
(``occi`` and ``cimi``), which never import each other.
"""

__version__ = "0.1.0"
