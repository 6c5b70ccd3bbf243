"""Concord's black-box conformance harness for OGF OCCI 1.2 and DMTF CIMI 2.0 endpoints.

The harness is a product of its own: it tests *any* OCCI or CIMI server, ours
or another vendor's, requirement by requirement, and speaks HTTP only. It never
imports ``engine``, ``occi``, ``cimi`` or ``concord`` (``tests/unit/test_import_rule.py``
enforces this), so it cannot share a mistake with the server it checks.

Layers, from the wire up:

* :mod:`conformance.client` and :mod:`conformance.transports`: requests and
  responses as plain data, a real HTTP transport and an in-process WSGI one,
  Basic and RFC 9421 signed (API key) authentication, timeouts.
* :mod:`conformance.formats`: independent parsers and builders for the OCCI text
  and JSON renderings and the CIMI JSON and XML serialisations.
* :mod:`conformance.discovery`: everything is found by following the server's own
  links, starting at ``/-/`` and at the Cloud Entry Point.
* :mod:`conformance.requirements`: the catalogue, one entry per requirement of
  the specifications (document, section, RFC 2119 level, a summary).
* :mod:`conformance.cases`: the cases, data tied to requirement ids, each run in
  every rendering the server must or does offer.
* :mod:`conformance.runner`: plans and runs the cases, yields results with
  evidence, and cleans up what the full profile created.
* :mod:`conformance.report`: the console, JUnit, JSON and HTML reports.
* :mod:`conformance.cli`: ``concord conformance URL`` (or ``python -m conformance``).
"""

from __future__ import annotations

__all__ = ["__version__"]

#: The harness version, reported in every report and in the User-Agent header.
__version__ = "0.1.0"
