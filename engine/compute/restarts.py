"""What other capabilities use to bring an existing compute's guest up again.

High availability (:mod:`engine.ha`) restarts a failed host's guests elsewhere:
it asks placement for a host with the compute's own request, builds the
guest's definition from its rows and starts it, exactly as this package's
start job does. These are the same functions, made public here so that the
rest of :mod:`engine.compute` keeps its private modules private.
"""

from __future__ import annotations

from engine.compute._guest import bring_up, guest_spec
from engine.compute._placement import existing_request

__all__ = ["bring_up", "existing_request", "guest_spec"]
