"""The Pyramid application factory.

Composition order matters: the edge tween and error views come first so
that everything included after them (operations, the OCCI and CIMI
renderings) is covered by the same transaction, logging and error rules.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

from pyramid.config import Configurator
from pyramid.router import Router

from concord.auth.bearer import IssuerKeys
from concord.auth.resolver import VerifiedPasswordCache
from concord.auth.throttle import SignInThrottle
from concord.request import request_class
from concord.settings import Settings
from engine.db import Database
from engine.tenancy.passwords import PasswordHasher, PasswordPolicy
from engine.tenancy.server_keys import ServerKeys


def main(global_config: Mapping[str, Any], **settings: Any) -> Router:
    """PasteDeploy entry point (``use = egg:concord``).

    A server started this way is never the demo (only ``concord serve --demo``
    is, on loopback), so it refuses a database that holds the demo's
    well-known credentials unless the setting ``remove_demo_credentials``
    says to remove them (:mod:`concord.demo`).

    :raises DemoCredentialsFound: the database holds them.
    """
    from concord.demo import check_no_demo_credentials, remove_demo_credentials

    values = Settings.from_mapping(settings)
    app = make_app(values)
    database: Database = app.registry.database
    with database.transaction() as session:
        if values.remove_demo_credentials:
            remove_demo_credentials(session, app.registry.password_hasher)
        else:
            check_no_demo_credentials(session, app.registry.password_hasher)
    return app


def make_app(
    settings: Settings, database: Database | None = None, server_keys: ServerKeys | None = None
) -> Router:
    """Build the WSGI application.

    :param settings: the process settings.
    :param database: an open database (tests pass theirs); by default one is
        opened from ``settings.database_url``. The schema must be current
        (``concord db upgrade``).
    :param server_keys: the keys API-key secrets are encrypted with; by default
        loaded from ``settings.server_key_file`` (at start, so that a missing
        or unreadable key file stops the server at once).
    """
    config = Configurator(settings=settings.as_pyramid())
    registry = config.registry
    registry.concord_settings = settings
    registry.database = database or Database(settings.database_url)
    registry.server_keys = server_keys or settings.server_keys()
    registry.password_hasher = PasswordHasher(
        PasswordPolicy(
            time_cost=settings.password_time_cost,
            memory_cost_kib=settings.password_memory_kib,
        )
    )
    registry.password_cache = VerifiedPasswordCache(settings.credential_cache_seconds)
    registry.issuer_keys = IssuerKeys(
        settings.federation_jwks_cache_seconds,
        settings.federation_http_timeout,
        settings.federation_jwks_refresh_cooldown,
    )
    registry.sign_in_throttle = SignInThrottle(
        settings.failed_sign_ins_per_source,
        settings.failed_sign_ins_per_user,
        settings.failed_sign_in_window,
    )

    config.include("concord.errors")
    config.include("concord.request")
    config.include("concord.urls")
    config.include("concord.services")
    config.include("concord.operations")
    config.include("concord.capacity")
    config.include("concord.tweens")
    config.include("concord.interfaces")
    config.include("occi")
    config.include("cimi")
    config.include("federation")
    config.set_request_factory(request_class(registry.concord_request_properties))
    return config.make_wsgi_app()


def freeze_after_start_up() -> None:
    """Move every object made so far out of the garbage collector's sight (:func:`gc.freeze`).

    Called once the server has started (``concord serve``): the modules, the
    application, its tables and caches live as long as the process, yet
    every full collection walked them again; a listing request allocates
    enough to trigger one every few requests (about 60 ms each; issue 15).
    Objects made later are collected as before.
    """
    gc.collect()
    gc.freeze()
