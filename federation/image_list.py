"""``GET /federation/image-list``: the site's public templates as a signed HEPiX image list.

Other sites (Concord's ``federation image-list sync``, atrope, cloudkeeper)
subscribe to this URL: the body is an S/MIME ``multipart/signed`` message
whose first part is the JSON list and whose second is the signature made with
the ``image_list_certificate`` (:mod:`engine.federation.image_lists`). It
names public templates only, so it is served to anyone, unless the
``image_list_token`` setting is set: then only to HTTP Basic user ``<token>``
(atrope and AppDB send the token so, with the password ``x-oauth-basic``) or
to ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from pathlib import Path
from typing import TYPE_CHECKING

from pyramid.response import Response
from pyramid.view import view_config

from engine.errors import AuthenticationFailed, InvalidInput, NotFound
from engine.federation.image_list_publish import Publisher, signed_site_list
from engine.federation.smime import SigningIdentity, load_identity

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

#: Where the list is served, below the public URL.
PATH = "/federation/image-list"


def _presented_token(request: Request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            user, _, _password = base64.b64decode(value.strip(), validate=True).partition(b":")
            return user.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return ""


@view_config(route_name="federation.image_list", request_method="GET")
def image_list_view(request: Request) -> Response:
    """The signed list of the site's public templates."""
    settings = request.registry.concord_settings
    identity: SigningIdentity | None = request.registry.image_list_identity
    if identity is None:
        raise NotFound("this site publishes no image list")
    token = settings.image_list_token
    if token and not hmac.compare_digest(
        _presented_token(request).encode("utf-8", "surrogateescape"), token.encode("utf-8")
    ):
        raise AuthenticationFailed("the image list is served to the holders of its token")
    publisher = Publisher(
        site_name=settings.site_name,
        list_url=request.public_url + PATH,
        identity=identity,
        lifetime=settings.image_list_lifetime,
    )
    body = signed_site_list(request.dbsession, publisher)
    return Response(body=body, content_type="text/plain", charset="utf-8")


def includeme(config: Configurator) -> None:
    """Add the ``/federation/image-list`` route, with the identity that signs the list.

    A certificate or key that cannot be used stops the start, with the reason.
    """
    settings = config.registry.concord_settings
    identity = None
    if settings.image_list_certificate:
        try:
            identity = load_identity(
                Path(settings.image_list_certificate), Path(settings.image_list_key)
            )
        except InvalidInput as exc:
            raise ValueError(f"settings image_list_certificate/image_list_key: {exc}") from None
    config.registry.image_list_identity = identity
    config.add_route("federation.image_list", PATH)
    config.scan("federation.image_list")
