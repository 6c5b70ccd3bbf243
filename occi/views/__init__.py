"""OCCI views: one module per part of the namespace."""
