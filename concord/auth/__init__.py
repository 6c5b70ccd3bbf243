"""Authentication: every request resolves to an :class:`engine.scope.Scope`.

Three kinds of credentials are accepted:

* ``Authorization: Basic`` (RFC 7617) with a user name and password;
* an HTTP Message Signature (RFC 9421, ``Signature-Input`` and ``Signature``)
  made with an API key's secret, with a ``Content-Digest`` (RFC 9530) of any
  body, under the profile of the top-level :mod:`signing` package;
* ``Authorization: Bearer`` with a JSON Web Token of a trusted OpenID Connect
  issuer, for federated users (:mod:`concord.auth.bearer`).

An ``X-Auth-Token`` of the Keystone subset (``federation/keystone.py``,
:mod:`engine.federation.tokens`) is accepted too. It takes precedence over an
``Authorization: Bearer`` beside it (the identity provider's token it was
exchanged for, which Keystone clients such as IM's OCCI connector keep
sending, expired or not); beside any other credentials it is refused as
ambiguous.

A failure is always 401 with a ``WWW-Authenticate`` challenge, and the same
message whatever went wrong. A source address or a user name with too many
recent failed Basic sign-ins is answered 429 with ``Retry-After`` before any
password is hashed (:mod:`concord.auth.throttle`).
"""
