"""Authentication: every request resolves to an :class:`engine.scope.Scope`.

Two schemes are accepted in the ``Authorization`` header:

* ``Basic`` (RFC 7617) with a user name and password;
* ``CONCORD-HMAC-SHA256`` with an API key, a timestamp, a nonce and an
  HMAC-SHA256 signature over a canonical request (:mod:`concord.auth.signing`).

A failure is always 401 with a ``WWW-Authenticate`` challenge for both
schemes, and the same message whatever went wrong. A source address or a user
name with too many recent failed Basic sign-ins is answered 429 with
``Retry-After`` before any password is hashed (:mod:`concord.auth.throttle`).
"""
