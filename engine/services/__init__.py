"""Engine services: one module per capability.

Each service is constructed with a SQLAlchemy session (and whatever else it
needs: a driver registry, a clock) and every method that acts for a caller
takes that caller's :class:`engine.scope.Scope` explicitly.
"""
