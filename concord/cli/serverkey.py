"""``concord serverkey``: the keys API-key secrets are encrypted with at rest.

``generate`` prints a new key; ``rotate`` puts a new key first in the key
file (keeping the others, for decryption) and re-encrypts every secret under
it; ``reencrypt`` re-encrypts every secret under the file's first key, after
an operator has changed the file by hand (docs/security.rst,
"Rotating the server key").
"""

from __future__ import annotations

import argparse
from pathlib import Path

from concord.cli.context import Context
from concord.settings import default_server_key_file
from engine.tenancy.credentials import CredentialService
from engine.tenancy.server_keys import ServerKeys, write_key_file


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serverkey generate|rotate|reencrypt``."""
    serverkey = sub.add_parser(
        "serverkey", help="the server key that encrypts API-key secrets at rest"
    ).add_subparsers(dest="action", required=True)
    serverkey.add_parser("generate", help="print a new server key").set_defaults(handler=generate)
    serverkey.add_parser(
        "rotate",
        help="put a new key first in the key file and re-encrypt every API-key secret under it",
    ).set_defaults(handler=rotate)
    serverkey.add_parser(
        "reencrypt", help="re-encrypt every API-key secret under the key file's first key"
    ).set_defaults(handler=reencrypt)


def generate(ctx: Context, args: argparse.Namespace) -> None:
    print(ServerKeys.generate())


def _reencrypt(ctx: Context, keys: ServerKeys) -> int:
    with ctx.system() as (session, _system):
        return CredentialService(session, server_keys=keys).reseal_api_keys()


def rotate(ctx: Context, args: argparse.Namespace) -> None:
    path = Path(ctx.settings.server_key_file or default_server_key_file())
    earlier = ctx.server_keys.keys  # the default file is made first if there is none
    keys = ServerKeys([ServerKeys.generate(), *earlier])
    # The new key is written first, the earlier ones after it, before any secret
    # is re-encrypted: whatever happens next, every secret stays readable.
    write_key_file(path, keys.keys, replace=True)
    count = _reencrypt(ctx, keys)
    print(f"{path}: a new key is first, followed by the {len(earlier)} earlier one(s)")
    print(f"re-encrypted {count} API key secret(s) under the new key")
    print(
        "Restart every Concord process (each reads the key file at start); once all of "
        "them run with this file, the earlier keys can be deleted from it."
    )


def reencrypt(ctx: Context, args: argparse.Namespace) -> None:
    count = _reencrypt(ctx, ctx.server_keys)
    print(f"re-encrypted {count} API key secret(s) under the first key of the key file")
