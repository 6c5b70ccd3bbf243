"""``concord federation image-list``: publish this site's signed image list, subscribe to others'.

``publish`` prints (or writes) the site's signed HEPiX list, as
``/federation/image-list`` serves it, for a site that hosts the file
elsewhere; ``subscribe NAME URL --endorser-dn DN --ca FILE`` records a list to
follow, ``sync`` fetches, verifies and applies the lists (from cron, for
instance), then fetches and verifies their images' bytes into
``federation_image_dir`` (:mod:`concord.image_fetch`), ``list`` shows each
subscription's last verdict and ``unsubscribe`` forgets one, retiring its
templates (docs/federation.rst).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from concord.cli.admin import _account
from concord.cli.context import CommandError, Context, print_table
from concord.image_fetch import remove_unused_files
from concord.image_list_fetch import sync_lists
from engine.federation.image_list_publish import Publisher, signed_site_list
from engine.federation.image_lists import ImageListService
from engine.federation.smime import load_identity

#: Where ``/federation/image-list`` is, below the public URL.
LIST_PATH = "/federation/image-list"


def add_parsers(federation: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``federation image-list publish|subscribe|unsubscribe|list|sync``."""
    lists = federation.add_parser(
        "image-list", help="signed HEPiX image lists: publish this site's, subscribe to others'"
    ).add_subparsers(dest="action", required=True)
    p = lists.add_parser("publish", help="print this site's signed image list")
    p.add_argument("--url", help="the list's public address (default: public_url + " + LIST_PATH)
    p.add_argument("--output", type=Path, help="write it to this file instead")
    p.set_defaults(handler=publish)
    p = lists.add_parser("subscribe", help="follow another site's image list")
    p.add_argument("name", help="a short name: its templates are called NAME.<title>")
    p.add_argument("url", help="where the signed list is published")
    p.add_argument("--endorser-dn", required=True, help="the DN that must have signed it")
    p.add_argument("--ca", required=True, type=Path, help="PEM file of the CA to trust for it")
    p.add_argument("--token", help="the token its publisher gave (sent as Basic user)")
    p.add_argument("--account", help="register its images for this account (default: public)")
    p.add_argument("--domain", default="ROOT", help="--account's domain (default ROOT)")
    p.set_defaults(handler=subscribe)
    p = lists.add_parser("unsubscribe", help="forget a list and retire its templates")
    p.add_argument("name")
    p.set_defaults(handler=unsubscribe)
    lists.add_parser("list", help="the subscriptions and their last verdict").set_defaults(
        handler=list_subscriptions
    )
    p = lists.add_parser("sync", help="fetch, verify and apply the subscribed lists now")
    p.add_argument("name", nargs="?", help="only this list")
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for a list, or for each read of an image (default 30)",
    )
    p.set_defaults(handler=sync)


def publish(ctx: Context, args: argparse.Namespace) -> None:
    settings = ctx.settings
    if not settings.image_list_certificate:
        raise CommandError("set image_list_certificate and image_list_key to publish a list")
    url = args.url or (settings.public_url + LIST_PATH if settings.public_url else None)
    if url is None:
        raise CommandError("give --url, or set public_url: image ids are built from it")
    publisher = Publisher(
        site_name=settings.site_name,
        list_url=url,
        identity=load_identity(
            Path(settings.image_list_certificate), Path(settings.image_list_key)
        ),
        lifetime=settings.image_list_lifetime,
    )
    with ctx.system() as (session, _system):
        signed = signed_site_list(session, publisher)
    if args.output is None:
        sys.stdout.write(signed.decode("utf-8"))
    else:
        args.output.write_bytes(signed)
        print(f"wrote the signed image list to {args.output}")


def subscribe(ctx: Context, args: argparse.Namespace) -> None:
    try:
        ca_pem = args.ca.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {args.ca}: {exc}") from None
    with ctx.system() as (session, system):
        account_id = (
            _account(session, system, args.domain, args.account).id if args.account else None
        )
        ImageListService(session, ctx.server_keys).subscribe(
            system,
            args.name,
            args.url,
            args.endorser_dn,
            ca_pem,
            token=args.token,
            account_id=account_id,
        )
    print(f"subscribed to image list {args.name}; 'concord federation image-list sync' reads it")


def unsubscribe(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        retired = ImageListService(session, ctx.server_keys).unsubscribe(system, args.name)
    remove_unused_files(ctx.database, ctx.settings.image_dir())
    print(f"unsubscribed from image list {args.name}; retired {len(retired)} template(s)")


def list_subscriptions(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {
                "name": s.name,
                "url": s.url,
                "endorser": s.endorser_dn,
                "synced": s.synced.isoformat(timespec="seconds") if s.synced else "never",
                "error": s.error or "",
            }
            for s in ImageListService(session, ctx.server_keys).list_subscriptions(system)
        ]
    print_table(rows, ["name", "url", "endorser", "synced", "error"])


def sync(ctx: Context, args: argparse.Namespace) -> None:
    outcome = sync_lists(
        ctx.database, ctx.server_keys, args.timeout, args.name, image_dir=ctx.settings.image_dir()
    )
    for name, result in sorted(outcome.items()):
        if result.refused is not None:
            print(f"{name}: refused: {result.refused}")
            continue
        print(
            f"{name}: accepted: {len(result.added)} added, {len(result.updated)} updated, "
            f"{len(result.retired)} retired"
        )
        for image, error in result.fetched:
            print(f"  {image}: " + (f"not fetched: {error}" if error else "fetched and verified"))
    if any(result.refused is not None for result in outcome.values()):
        raise CommandError("some lists were refused (above); nothing of them changed")
    if any(error for result in outcome.values() for _image, error in result.fetched):
        raise CommandError("some images were not fetched (above); they are in state error")
