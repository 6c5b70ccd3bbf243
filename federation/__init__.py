"""The federation wing: the HTTP faces of the federation planes, beside ``occi/`` and ``cimi/``.

Each plane's engine side lives in :mod:`engine.federation`; this package only
speaks the wire formats federated clients and sites expect: a Keystone v3
subset (:mod:`federation.keystone`), through which OCCI clients built for the
EGI federation exchange an identity provider's token for Concord's own; the
site's GLUE document (:mod:`federation.glue`); the registry's answers
(:mod:`federation.registry`); the site's signed image list
(:mod:`federation.image_list`); an accounting repository's intake of APEL
records and its summaries (:mod:`federation.accounting`). It imports only
``engine`` and ``concord``, never a rendering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    """Add the federation routes."""
    config.include("federation.keystone")
    config.include("federation.glue")
    config.include("federation.registry")
    config.include("federation.image_list")
    config.include("federation.accounting")
