"""``concord apikey sign``: the signature headers of one request, for curl.

It signs through the :mod:`signing` package, the code the server verifies
with, and prints one header per line (``Content-Digest``, ``Signature-Input``,
``Signature``), which ``curl -H @FILE`` reads as they are::

    concord apikey sign --user demo GET http://127.0.0.1:8787/-/ > sig.txt
    curl -H @sig.txt http://127.0.0.1:8787/-/

The key is either the caller's (``--access-key``, with the secret in the
``CONCORD_API_SECRET`` environment variable, never on the command line where
other users can read it), or, for an operator on the server, a key of the
user kept for this command (``--user``): it is issued on first use, and its
secret is read from the database with the server keys.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import signing
from concord.cli.context import CommandError, Context
from engine.tenancy.credentials import CredentialService
from engine.tenancy.service import TenancyService

#: The description of the keys ``--user`` signs with (how the command finds them again).
TOOL_KEY = "concord apikey sign"
SECRET_VARIABLE = "CONCORD_API_SECRET"  # noqa: S105 (a variable name, not a secret)


def add_parser(apikey: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``apikey sign``."""
    p = apikey.add_parser(
        "sign",
        help="print the signature headers of a request (for curl -H @file)",
        description="Sign one request with an API key (RFC 9421 HMAC-SHA256 and an RFC 9530 "
        "Content-Digest) and print the headers to add, one per line.",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--user",
        help="sign with this user's key for this command, issued on first use "
        "(needs the database and the server key)",
    )
    who.add_argument(
        "--access-key", help=f"sign with this key; its secret is read from ${SECRET_VARIABLE}"
    )
    p.add_argument("method", help="the request method (GET, POST, PUT, DELETE...)")
    p.add_argument("url", help="the absolute URL the request goes to, as curl will send it")
    p.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a header the request will carry (give curl the same); repeatable",
    )
    p.add_argument("--data-file", help="the file whose bytes are the body (curl --data-binary @F)")
    p.set_defaults(handler=apikey_sign)


def _fields(given: list[str]) -> list[tuple[str, str]]:
    found = []
    for item in given:
        name, sep, value = item.partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise CommandError(f"not a header: {item!r} (write 'Name: value')")
        found.append((name, value.strip()))
    return found


def _key(ctx: Context, args: argparse.Namespace) -> tuple[str, str]:
    if args.access_key:
        secret = os.environ.get(SECRET_VARIABLE, "")
        if not secret:
            raise CommandError(f"set {SECRET_VARIABLE} to the secret of {args.access_key}")
        return args.access_key, secret
    with ctx.system() as (session, system):
        user = TenancyService(session).find_user(system, args.user)
        credentials = CredentialService(session, server_keys=ctx.server_keys)
        key = credentials.key_for_tool(system, user.id, TOOL_KEY)
    return key.access_key, key.secret


def apikey_sign(ctx: Context, args: argparse.Namespace) -> None:
    fields = _fields(args.header)
    body = b""
    if args.data_file:
        try:
            body = Path(args.data_file).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {args.data_file}: {exc.strerror}") from None
    access_key, secret = _key(ctx, args)
    try:
        added = signing.sign(args.method, args.url, fields, body, key_id=access_key, secret=secret)
    except signing.SignatureRefused as exc:
        raise CommandError(f"cannot sign this request: {exc}") from None
    for name, value in added.items():
        sys.stdout.write(f"{name}: {value}\n")
