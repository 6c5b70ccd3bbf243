"""A local OpenID Connect issuer for the federation tests.

It serves what a relying party reads from a real provider, over real HTTP on
loopback: the discovery document (OpenID Connect Discovery 1.0 §4) and the
key set (RFC 7517), and it mints signed tokens. Keys, key sets and
signatures come from joserfc (the Authlib project's JOSE library), not from
Concord's code, so the server's verification is checked against an
independent implementation. Keys can be rotated, as a real provider does.

Imported as ``oidc_issuer`` (``tests/`` is on ``sys.path``). The tests' users
belong to virtual organisations through an ``eduperson_entitlement`` claim
(:data:`ENTITLEMENT`), which :func:`vo_mapping` maps to the account of the
organisation's name.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

#: The entitlement that makes a token's subject a member of virtual organisation ``vo``.
ENTITLEMENT = "urn:mace:example.org:group:{vo}:role=member"


def vo_mapping(issuer: str, domain: str = "ROOT/demo", project: bool = False) -> dict[str, Any]:
    """Mapping rules placing members of a virtual organisation in the account of its name.

    For tokens of the issuer Concord trusts as ``issuer``: the user is
    ``<sub>@<issuer>`` in ``domain``; a token without a member's entitlement
    matches no rule.

    :param project: also make the user a member of the project of the
        organisation's name (which Keystone tokens are scoped to).
    """
    local = {"domain": domain, "account": "{vo}", "user": "{sub}@" + issuer}
    if project:
        local["project"] = "{vo}"
    return {
        "rules": [
            {
                "issuer": issuer,
                "remote": [
                    {"claim": "sub"},
                    {
                        "claim": "eduperson_entitlement",
                        "regex": ENTITLEMENT.replace("{vo}", "(?P<vo>[a-z0-9.-]+)"),
                    },
                ],
                "local": local,
            }
        ]
    }


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalIssuer:
    """An OpenID Connect issuer on ``http://127.0.0.1:<port>``, started by :meth:`start`.

    :param audience: the audience its tokens name by default.
    """

    def __init__(self, audience: str = "concord") -> None:
        self.audience = audience
        self.keys: list[RSAKey] = []
        self.jwks_fetches = 0
        self._server: WSGIServer | None = None
        self.rotate()

    # -- keys ----------------------------------------------------------------

    def rotate(self) -> str:
        """Publish a new signing key (the old ones stay published); returns its kid."""
        kid = f"key-{len(self.keys) + 1}"
        self.keys.append(RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"}))
        return kid

    def retire_old_keys(self) -> None:
        """Stop publishing every key but the newest."""
        self.keys = self.keys[-1:]

    # -- HTTP ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The issuer identifier, as tokens carry it in ``iss``."""
        assert self._server is not None, "start() the issuer first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> LocalIssuer:
        """Serve discovery and keys in a background thread."""
        self._server = make_server("127.0.0.1", 0, self._app, handler_class=_QuietHandler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving (tokens already minted keep their signatures)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/.well-known/openid-configuration":
            body: dict[str, Any] = {
                "issuer": self.url,
                "jwks_uri": f"{self.url}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
                "subject_types_supported": ["public"],
                "response_types_supported": ["code"],
            }
        elif path == "/jwks":
            self.jwks_fetches += 1
            body = KeySet(list(self.keys)).as_dict(private=False)
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    # -- tokens ----------------------------------------------------------------

    def token(
        self,
        sub: str | None = "alice-sub",
        *,
        lifetime: int = 300,
        key: RSAKey | None = None,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed token for ``sub``, valid ``lifetime`` seconds (negative: already expired).

        ``claims`` add to or replace the standard ones (``iss``, ``aud``, ``iat``, ``exp``).
        """
        key = key or self.keys[-1]
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": self.audience,
            "sub": sub,
            "iat": now - max(0, -lifetime) - 10,
            "exp": now + lifetime,
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        protected = {"alg": "RS256", "kid": key.kid, **(header or {})}
        return jwt.encode(protected, body, key)
