"""``concord serve``, ``concord init`` and ``concord db upgrade``."""

from __future__ import annotations

import argparse
import logging
import secrets
import signal
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from pyramid.router import Router
from sqlalchemy.engine import make_url

from concord.background import (
    start_background,
    start_federation_schedule,
    start_usage_schedule,
)
from concord.cli.context import CommandError, Context, sqlite_path
from concord.demo import (
    DEMO_PASSWORD,
    DEMO_USER,
    DemoCredentialsFound,
    check_no_demo_credentials,
    demo_var_dir,
    describe_capacity,
    describe_zone,
    is_loopback,
    provision_demo_networks,
    provision_demo_tenant,
    provision_demo_zone,
    remove_demo_credentials,
    save_demo_hosts,
)
from concord.logs import configure_logging
from concord.serving import Supervisor, bind_worker_sockets
from concord.settings import Settings
from engine.schema import current_revision, head_revision, upgrade
from engine.scope import Scope
from engine.tenancy.models import Account, AccountType, User
from engine.tenancy.service import TenancyService

ADMIN_ACCOUNT = "admins"
log = logging.getLogger("concord.serving")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register serve, init and db."""
    p = sub.add_parser("serve", help="run the API server (waitress)")
    p.add_argument(
        "--demo",
        action="store_true",
        help="provision the demo tenant (demo/demo) and zone; loopback only; "
        "its own database (var/demo.sqlite) unless the settings name one",
    )
    p.add_argument(
        "--remove-demo-credentials",
        action="store_true",
        help="without --demo: remove the demo's well-known credentials from the database "
        "(a server refuses to start while they are there)",
    )
    p.add_argument("--host", help="bind address (default from settings: 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default from settings: 8787)")
    p.add_argument("--threads", type=int, default=8, help="request threads (of each worker)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes on the same port (1: this process serves, no fork)",
    )
    p.set_defaults(handler=serve)

    p = sub.add_parser("init", help="create ROOT and the first administrator")
    p.add_argument("--admin", default="admin", help="name of the administrator to create")
    p.set_defaults(handler=init)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply pending migrations").set_defaults(handler=db_upgrade)
    db.add_parser("current", help="show the schema revision").set_defaults(handler=db_current)


def db_upgrade(ctx: Context, args: argparse.Namespace) -> None:
    ctx.create_database_file()
    before = current_revision(ctx.database)
    upgrade(ctx.database, server_keys=ctx.server_keys)
    after = current_revision(ctx.database)
    if before == after:
        print(f"database is current (revision {after})")
    else:
        print(f"database upgraded from {before or 'empty'} to {after}")


def db_current(ctx: Context, args: argparse.Namespace) -> None:
    ctx.require_database()
    print(
        f"database revision {current_revision(ctx.database) or 'empty'}; "
        f"code expects {head_revision()}"
    )


def init(ctx: Context, args: argparse.Namespace) -> None:
    """Create ROOT, the ``admins`` account and one administrator; print its password once."""
    ctx.create_database_file()
    upgrade(ctx.database, server_keys=ctx.server_keys)
    with ctx.database.transaction() as session:
        tenancy = TenancyService(session, ctx.hasher)
        root = tenancy.ensure_root()
        system = Scope.system(root)
        existing = session.scalar(
            sa.select(User).join(Account).where(Account.type == AccountType.ADMIN)
        )
        if existing is not None:
            print(f"already initialised: administrator {existing.username!r} exists")
            return
        account = session.scalar(
            sa.select(Account).where(Account.domain_id == root.id, Account.name == ADMIN_ACCOUNT)
        ) or tenancy.create_account(system, ADMIN_ACCOUNT, root.id, AccountType.ADMIN)
        password = secrets.token_urlsafe(15)
        tenancy.create_user(system, account.id, args.admin, password)
    print(f"created ROOT and administrator {args.admin!r}")
    print(f"password: {password}")
    print("This password is shown once. Change it with 'concord user passwd'.")


def serve(ctx: Context, args: argparse.Namespace) -> None:
    """Upgrade the schema, optionally provision the demo, and serve until interrupted."""
    from concord.app import freeze_after_start_up, make_app

    settings = ctx.settings
    host = args.host or settings.host
    port = args.port or settings.port
    demo = settings.demo  # --demo is a setting too (make_context)
    _check_workers(args.workers, demo, ctx.settings.database_url)
    if demo and settings.remove_demo_credentials:
        raise CommandError("--remove-demo-credentials is for a server that is not the demo")
    if demo and not is_loopback(host):
        raise CommandError(
            f"--demo serves a well-known password and binds to loopback only, not {host}"
        )
    configure_logging(settings.log_format, settings.log_level)
    ctx.create_database_file()
    upgrade(ctx.database, server_keys=ctx.server_keys)
    if not demo and not settings.remove_demo_credentials:
        # Before binding: a refused server holds no port.
        with ctx.database.session() as session:
            try:
                check_no_demo_credentials(session, ctx.hasher)
            except DemoCredentialsFound as exc:
                raise CommandError(str(exc)) from None
    app = make_app(settings, ctx.database, ctx.server_keys)
    # Bind before anything acts on the cloud: a second server started on a
    # busy port must fail without reconciling (its simulated hosts are
    # empty, and it would record a live server's guests as vanished).
    try:
        if args.workers == 1:
            server = _bind(app, host, port, args.threads, settings)
        else:
            slots = bind_worker_sockets(host, port, args.workers)
    except OSError as exc:
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    demo_zone = demo_capacity = ""
    removed = False
    with ctx.database.transaction() as session:
        TenancyService(session).ensure_root()
        if settings.remove_demo_credentials:
            removed = remove_demo_credentials(session, ctx.hasher)
        if demo:
            provision_demo_tenant(session, ctx.hasher)
            zone = provision_demo_zone(session, demo_var_dir(settings.database_url))
            provision_demo_networks(session, zone)
            demo_zone = describe_zone(session, zone)
            demo_capacity = describe_capacity(session, zone)
    if args.workers > 1:
        _print_banner(ctx, f"http://{host}:{port}", removed, demo_zone, demo_capacity)
        print(
            f"  {args.workers} worker processes of {args.threads} threads"
            + (", the first with the embedded worker" if settings.embedded_worker else ""),
            flush=True,
        )
        # No pooled connection crosses the fork: each worker opens its own.
        ctx.database.dispose()
        freeze_after_start_up()  # before forking: the workers share these pages
        Supervisor(slots, lambda slot, sockets: _serve_worker(ctx, app, slot, sockets, args)).run()
        return
    stop_background = _start_embedded(ctx)
    _print_banner(ctx, f"http://{host}:{port}", removed, demo_zone, demo_capacity)
    freeze_after_start_up()
    # SIGTERM (systemd, docker, a test) stops the server as Ctrl-C does, so that the
    # shutdown below runs: the worker finishes, and the demo saves its hosts.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _serve_until_interrupted(server, stop_background)
    finally:
        if demo:
            with ctx.database.session() as session:
                saved = save_demo_hosts(session, demo_var_dir(settings.database_url))
            print(f"saved the demo hosts ({saved} guest(s)) for the next start", flush=True)


def _check_workers(workers: int, demo: bool, database_url: str) -> None:
    """Refuse a worker count that cannot serve as asked."""
    if workers < 1:
        raise CommandError("--workers must be 1 or more")
    if workers == 1:
        return
    if demo:
        # Its simulated hosts live in the process that opened them (and are
        # saved from it at the end): the demo is one process.
        raise CommandError("--demo runs in one process: leave out --workers")
    if make_url(database_url).get_backend_name() == "sqlite" and sqlite_path(database_url) is None:
        # An SQLite file is shared safely (file locks, busy_timeout); an
        # in-memory database would be a different empty database in each worker.
        raise CommandError("--workers needs a database file or server, not an in-memory SQLite")


def _serve_worker(
    ctx: Context, app: Router, slot: int, sockets: list[Any], args: argparse.Namespace
) -> None:
    """One worker process of ``--workers``: serve on its sockets until SIGTERM."""
    # The parent closed its pooled connections before forking; a new pool
    # makes sure that this process never touches one of another process.
    ctx.database.engine.dispose(close=False)
    signal.signal(signal.SIGTERM, _interrupt)
    server = _bind_sockets(app, sockets, args.threads, ctx.settings)
    # The job worker, reconciliation, the event monitor and the schedules run
    # once per server, in the first worker (and again in its replacement).
    embedded = slot == 0 and ctx.settings.embedded_worker
    stop_background = _start_embedded(ctx) if embedded else (lambda: None)
    log.info("worker %d serving", slot, extra={"worker_slot": slot, "embedded_worker": embedded})
    _serve_until_interrupted(server, stop_background)


def _serve_until_interrupted(server: Any, stop_background: Callable[[], None]) -> None:
    """Serve until Ctrl-C or SIGTERM (raised as KeyboardInterrupt), then close the
    server and stop the background work, whatever ended it."""
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        stop_background()


def _start_embedded(ctx: Context) -> Callable[[], None]:
    """Start the embedded worker's background work, if the settings ask for it.

    :returns: what stops it all (a no-op when none runs).
    """
    settings = ctx.settings
    if not settings.embedded_worker:
        return lambda: None
    stops = [
        start_background(
            ctx.database,
            run_worker=True,
            ha=settings.ha_config() if settings.ha_enabled else None,
            crash_policy=settings.crash_restart_policy(),
        ),
        start_usage_schedule(ctx.database, settings),
        start_federation_schedule(ctx.database, settings, ctx.server_keys),
    ]

    def stop() -> None:
        # The schedules first, the job worker last (as before: it may be mid-job).
        for each in reversed(stops):
            each()

    return stop


def _print_banner(
    ctx: Context, base: str, removed: bool, demo_zone: str, demo_capacity: str
) -> None:
    settings = ctx.settings
    if removed:
        print(
            f"removed the demo credentials: user {DEMO_USER!r} has no password and no "
            "API key now (it keeps what it owns)",
            flush=True,
        )
    print(f"Concord serving on {base}", flush=True)
    if settings.public_url:
        print(f"  public URL (the base of rendered URLs): {settings.public_url}", flush=True)
    print(f"  OCCI query interface: {base}/-/", flush=True)
    print(f"  CIMI cloud entry point: {base}/cimi/cloudEntryPoint", flush=True)
    print(f"  health: {base}/healthz   metrics: {base}/metrics", flush=True)
    if settings.demo:
        print(f"  demo {demo_zone}", flush=True)
        print(f"  demo capacity: {demo_capacity}", flush=True)
        print(
            "  capacity by zone, pod, cluster, host and pool: CONCORD_DEMO=true concord capacity,"
            f" or GET {base}/capacity as a root administrator",
            flush=True,
        )
        print(f"  demo credentials: {DEMO_USER} / {DEMO_PASSWORD}", flush=True)
        print(f"  try: curl -u {DEMO_USER}:{DEMO_PASSWORD} {base}/-/", flush=True)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


#: waitress refuses by itself (in plain text) only what exceeds Concord's own
#: limits this many times over: below that, the request reaches the edge tween,
#: which refuses it in the client's rendering (docs/security.rst, "Serving").
BACKSTOP = 2
#: Room for the request line and the bytes waitress counts that Concord does
#: not (": " and CRLF of each header line).
HEADER_SLACK = 16 * 1024


def waitress_options(settings: Settings) -> dict[str, Any]:
    """The options of waitress that come from the settings."""
    return {
        "connection_limit": settings.connection_limit,
        "channel_timeout": settings.channel_timeout,
        # Idle connections are looked for this often: one lives at most
        # channel_timeout plus this.
        "cleanup_interval": max(1, min(30, settings.channel_timeout // 2)),
        "max_request_body_size": BACKSTOP * settings.max_body_bytes,
        "max_request_header_size": BACKSTOP * settings.max_header_bytes + HEADER_SLACK,
        "ident": None,  # our edge tween sets the Server header (GFD.223 §3.2)
    }


def _bind(app: Router, host: str, port: int, threads: int, settings: Settings) -> Any:
    """A waitress server listening on ``host:port`` (raises OSError when it cannot)."""
    from waitress.server import create_server

    from concord.spelling import keep_spelling

    return keep_spelling(
        create_server(app, host=host, port=port, threads=threads, **waitress_options(settings))
    )


def _bind_sockets(app: Router, sockets: list[Any], threads: int, settings: Settings) -> Any:
    """A waitress server accepting on ``sockets``, already bound and listening."""
    from waitress.server import create_server

    from concord.spelling import keep_spelling

    return keep_spelling(
        create_server(app, sockets=sockets, threads=threads, **waitress_options(settings))
    )
