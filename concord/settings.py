"""Settings: PasteDeploy ``.ini`` values with ``CONCORD_*`` environment overrides.

Every setting has a key in the ``concord.`` namespace of the ini file and an
environment variable that wins over it: ``concord.database_url`` is
overridden by ``CONCORD_DATABASE_URL``. The table below is the one place
where settings are declared; docs/install-and-run.rst lists them.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine.compute.crash_restart import CrashRestartPolicy, RestartCrashed
from engine.ha.config import HaConfig
from engine.tenancy.server_keys import ServerKeys

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


#: The embedded SQLite databases under ``var/``: the demo keeps its own, so that a
#: database the demo seeded with its well-known password is never served later by
#: a server that does not protect it.
DATABASE_FILE = "concord.sqlite"
DEMO_DATABASE_FILE = "demo.sqlite"


def default_database_url(demo: bool = False) -> str:
    """The embedded SQLite database under ``var/`` of the working directory.

    :param demo: the demo's database (``var/demo.sqlite``) rather than the
        default one (``var/concord.sqlite``).
    """
    name = DEMO_DATABASE_FILE if demo else DATABASE_FILE
    return f"sqlite:///{Path('var').absolute() / name}"


def default_server_key_file() -> Path:
    """The server key file used when none is configured: ``var/server.key`` of the working
    directory, generated on first use (readable by its owner only)."""
    return Path("var").absolute() / "server.key"


def default_federation_image_dir() -> Path:
    """Where subscribed images' bytes go when no directory is configured: ``var/images``
    of the working directory."""
    return Path("var").absolute() / "images"


#: A URI host (a name, IPv4 address or bracketed IPv6 address) with an optional port.
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])")
HOST_PORT = re.compile(_HOST.pattern + r"(?::[0-9]{1,5})?")
SCHEMES = ("http", "https")


def check_public_url(value: str) -> str:
    """The configured public base URL without its trailing slash.

    :raises ValueError: not ``http(s)://host[:port][/path]`` (no user, query
        or fragment).
    """
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(f"not a URL: {value!r}") from None
    host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    if (
        parts.scheme not in SCHEMES
        or not _HOST.fullmatch(host)
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or any(c.isspace() for c in value)
    ):
        raise ValueError(
            f"must be http(s)://host[:port][/path] without user, query or fragment, not {value!r}"
        )
    return value.rstrip("/")


def parse_networks(value: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks (``10.0.0.1, 192.168.0.0/24``).

    :raises ValueError: one is neither.
    """
    found = []
    for item in value.split(","):
        if not item.strip():
            continue
        try:
            found.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {item.strip()!r}") from None
    return tuple(found)


@dataclass(frozen=True)
class Settings:
    """Typed settings of one Concord process."""

    database_url: str = ""
    #: Argon2id costs for new password hashes (RFC 9106 defaults).
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    #: Seconds a signed request stays valid after its ``created`` time (its
    #: nonce is remembered as long), and seconds ``created`` may lie ahead of
    #: the server's clock (``signature_window`` at most).
    signature_window: int = 300
    signature_clock_skew: int = 30
    #: Seconds a federated token's exp, nbf and iat may be off by (clock skew).
    federation_token_leeway: int = 60
    #: Seconds a trusted issuer's signing keys (its JWKS) are kept before being
    #: fetched again; a token naming an unknown key refetches them sooner.
    federation_jwks_cache_seconds: int = 3600
    #: Seconds to wait for an issuer's discovery document or keys.
    federation_http_timeout: int = 5
    #: The fewest seconds between two fetches of an issuer's keys caused by
    #: tokens naming a key id Concord does not know (so that made-up key ids
    #: cannot make every request a call to the issuer). A provider that
    #: rotates keys publishes the new key before it signs with it.
    federation_jwks_refresh_cooldown: int = 30
    #: This site's name in a federation (GLUE documents, accounting records).
    site_name: str = "concord"
    #: When set, ``Authorization: Bearer <glue_token>`` reads the site's GLUE
    #: document (``/federation/glue``): give it to the federation's registry.
    glue_token: str = ""
    #: The PEM certificate (its chain after it) and unencrypted PEM key that
    #: sign the site's image list (``/federation/image-list``); both empty:
    #: the site publishes no list.
    image_list_certificate: str = ""
    image_list_key: str = ""
    #: Seconds a published image list stays valid (its ``dc:date:expires``).
    image_list_lifetime: int = 7 * 24 * 3600
    #: When set, the image list is served only to HTTP Basic user ``<token>``
    #: (password ``x-oauth-basic``, as atrope sends it) or ``Bearer <token>``.
    image_list_token: str = ""
    #: Seconds between two synchronisations of each subscribed image list by
    #: the workers' schedule (``concord worker`` and the embedded worker); 0:
    #: never, run ``concord federation image-list sync`` instead.
    image_list_sync_interval: int = 0
    #: The directory each subscribed image's bytes are fetched into (under a
    #: directory per subscription), verified against the list's size and
    #: sha512; guests' root disks are copied from there by libvirt, so it must
    #: be the target of a libvirt ``dir`` storage pool on the hosts. Empty:
    #: ``var/images`` of the working directory.
    federation_image_dir: str = ""
    #: Accounting repository role (docs/federation.rst): when true, trusted
    #: sites push APEL records to ``/federation/accounting/records`` and
    #: ``/federation/accounting/summary`` answers root administrators.
    accounting_repository: bool = False
    #: Accounting push: where the workers' schedule sends this site's APEL
    #: cloud records (a repository's ``.../federation/accounting/records``),
    #: with ``Authorization: Bearer <accounting_push_token>``, and/or the
    #: directory queue (dirq, as ssmsend reads) it writes them into; every
    #: ``accounting_push_interval`` seconds (0: never).
    accounting_push_url: str = ""
    accounting_push_token: str = ""
    accounting_queue: str = ""
    accounting_push_interval: int = 3600
    #: Federation registry's monitoring: every ``federation_monitor_interval``
    #: seconds the workers' schedule reads the members' GLUE documents and
    #: runs the conformance harness's read-only profile against each OCCI and
    #: CIMI endpoint they list (0: never; ``concord federation monitor run``
    #: runs one turn now).
    federation_monitor_interval: int = 0
    #: Seconds a token of the Keystone subset (``/keystone``) stays valid.
    keystone_token_lifetime: int = 3600
    #: When true, a request without any credentials is answered 401 with only
    #: the challenge ``Keystone uri='<public URL>/keystone/v3'``, which sends
    #: Keystone-aware OCCI clients (IM, rOCCI) through the federated sign-in;
    #: such clients then never use Basic, so leave it off for Basic users.
    keystone_challenge: bool = False
    #: Seconds a verified Basic password is remembered, so that the memory-hard
    #: hash runs once per client and window instead of once per request.
    credential_cache_seconds: int = 60
    #: Failed Basic sign-ins allowed from one source address (an IPv6 /64), and
    #: for one user name, in any ``failed_sign_in_window`` seconds; past them a
    #: sign-in is refused with 429 before its password is hashed. 0: no limit.
    #: Counted in each process's memory (docs/security.rst).
    failed_sign_ins_per_source: int = 30
    failed_sign_ins_per_user: int = 10
    failed_sign_in_window: int = 60
    #: The file of the server keys that encrypt API-key secrets at rest, one per
    #: line, the current one first. Empty: ``var/server.key`` of the working
    #: directory, generated on first use; a file named here must exist.
    server_key_file: str = ""
    #: Largest request body accepted, in bytes (413 beyond).
    max_body_bytes: int = 1024 * 1024
    #: Largest total size of request headers, in bytes (431 beyond).
    max_header_bytes: int = 32 * 1024
    #: Most request header fields, repeated names counted once (431 beyond).
    max_header_count: int = 100
    #: Largest single header field, name and value, in bytes (431 beyond); also
    #: the longest line of a text/plain OCCI body (400 beyond).
    max_header_line_bytes: int = 16 * 1024
    #: Deepest nesting of a request document: JSON containers, XML elements (400 beyond).
    max_document_depth: int = 32
    #: Most elements of a request document: XML elements, JSON values, OCCI
    #: text lines and rendered values (400 beyond).
    max_document_elements: int = 10_000
    #: Most attributes of one element: XML attributes, members of one JSON
    #: object, X-OCCI-Attribute values of one OCCI rendering (400 beyond).
    max_element_attributes: int = 256
    #: DELETE on a whole OCCI Kind collection (no filter, no locations) needs
    #: ``?confirm=all`` or ``Concord-Confirm: all`` (docs/occi.rst); false: not.
    occi_confirm_collection_delete: bool = True
    #: When set, ``/metrics`` answers only ``Authorization: Bearer <token>``.
    metrics_token: str = ""

    #: The base of every absolute URL rendered (``https://cloud.example.org``);
    #: empty: each request's own scheme and Host (docs/security.rst).
    public_url: str = ""
    #: Comma-separated addresses or networks of the reverse proxies whose
    #: X-Forwarded-Proto and X-Forwarded-Host are believed (without public_url).
    trusted_proxies: str = ""
    #: ``concord serve`` (waitress): the most connections open at once (more
    #: wait in the listen backlog), and the seconds a connection may stay
    #: silent, mid-request or idle between requests, before it is closed.
    connection_limit: int = 500
    channel_timeout: int = 30
    #: Bind address and port of ``concord serve``.
    host: str = "127.0.0.1"
    port: int = 8787
    #: Run the job worker thread inside the API process (the embedded default).
    embedded_worker: bool = True
    #: Provision the demo tenant and zone at start (loopback only).
    demo: bool = False
    #: Let a server that is not the demo start on a database that still holds the
    #: demo's well-known credentials by removing them (it refuses otherwise).
    remove_demo_credentials: bool = False
    #: Which guests that crash on a healthy host are restarted in place
    #: (docs/ha.rst): ``ha`` (those whose HA flag is set), ``all``
    #: or ``none``.
    restart_crashed_guests: str = "ha"
    #: Seconds before the first restart of a crashed guest; each further one
    #: waits twice as long, at most ``crash_restart_max_delay``.
    crash_restart_first_delay: int = 5
    crash_restart_max_delay: int = 300
    #: Restarts tried within ``crash_restart_window`` seconds of a guest's first
    #: crash before it is left in error (CloudStack: max.retries=5,
    #: time.between.failures=3600 s).
    crash_restart_max_attempts: int = 5
    crash_restart_window: int = 3600
    #: Usage accounting (docs/usage.rst): where aggregation periods end, ``hour``
    #: or ``day`` (UTC); seconds after a period's end before it is aggregated;
    #: seconds between two aggregation runs inside ``concord worker`` and the
    #: embedded worker (0: never, run ``concord usage aggregate`` instead).
    usage_period: str = "hour"
    usage_settle_seconds: int = 120
    usage_interval: int = 300
    #: The APEL export's CloudComputeService (docs/usage.rst); its SiteName is
    #: ``site_name``.
    usage_compute_service: str = "concord"
    #: Log format: ``json`` (one object per line) or ``text``.
    log_format: str = "json"
    log_level: str = "INFO"

    #: High availability (docs/ha.rst): run the host monitor and HA recovery in
    #: ``concord worker`` processes and in ``concord serve``'s embedded worker.
    ha_enabled: bool = True
    #: Seconds between two heartbeats of each host, and the deadline of one.
    ha_check_interval: float = 1.0
    ha_probe_timeout: float = 2.0
    #: Seconds of silence after which a host is suspect (HA's own state: it
    #: still takes guests), and after which it is down if a second,
    #: independent check fails too.
    ha_suspect_after: float = 3.0
    ha_down_after: float = 6.0
    #: Seconds a fencer may take before its fence counts as unconfirmed.
    ha_fence_timeout: float = 30.0
    #: Seconds without a heartbeat after which another process takes over an HA item.
    ha_stale_after: float = 30.0
    #: More than this share of a zone's hosts failing within ``ha_storm_window``
    #: seconds stops automatic fencing and recovery in the zone.
    ha_storm_share: float = 0.5
    ha_storm_window: float = 300.0
    #: After an unconfirmed fence, seconds before the fencer is tried again,
    #: doubling after each further failure up to ``ha_fence_retry_max``.
    ha_fence_retry_first: float = 10.0
    ha_fence_retry_max: float = 300.0
    #: Guests a recovery starts at once on one host, and in all.
    ha_restarts_per_host: int = 4
    ha_restart_threads: int = 16

    @classmethod
    def from_mapping(
        cls,
        values: Mapping[str, Any],
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Build settings from ini values (``concord.x``) and the environment (``CONCORD_X``).

        :param overrides: typed values by setting name that win over both (the
            command line's options, such as ``serve --demo``).
        :raises ValueError: a value does not convert to its setting's type.
        """
        environ = os.environ if environ is None else environ
        converters: dict[type | str, Callable[[str], Any]] = {
            "int": int,
            "float": float,
            "bool": _bool,
            "str": str,
        }
        found: dict[str, Any] = {}
        for field in fields(cls):
            raw = values.get(f"concord.{field.name}")
            env = environ.get(f"CONCORD_{field.name.upper()}")
            if env is not None:
                raw = env
            if raw is None:
                continue
            if isinstance(raw, str):
                convert = converters[str(field.type)]
                try:
                    found[field.name] = convert(raw)
                except ValueError as exc:
                    raise ValueError(f"setting {field.name}: {exc}") from None
            else:
                found[field.name] = raw
        found.update(overrides or {})
        settings = cls(**found)
        if not settings.database_url:
            settings = cls(**{**found, "database_url": default_database_url(settings.demo)})
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse values outside their ranges, naming the setting.

        :raises ValueError: ``setting <name>: <why>``.
        """
        positive = (
            "password_time_cost",
            "password_memory_kib",
            "signature_window",
            "federation_jwks_cache_seconds",
            "federation_http_timeout",
            "keystone_token_lifetime",
            "failed_sign_in_window",
            "max_body_bytes",
            "max_header_bytes",
            "max_header_count",
            "max_header_line_bytes",
            "max_document_depth",
            "max_document_elements",
            "max_element_attributes",
            "crash_restart_max_delay",
            "crash_restart_window",
            "connection_limit",
            "channel_timeout",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"setting {name}: must be a positive number")
        # Argon2 needs at least 8 KiB per lane; Concord hashes with 4 lanes.
        if self.password_memory_kib < 32:
            raise ValueError("setting password_memory_kib: must be at least 32 (KiB)")
        if not 0 <= self.signature_clock_skew <= self.signature_window:
            raise ValueError(
                "setting signature_clock_skew: must be between 0 and signature_window "
                f"({self.signature_window})"
            )
        for name in (
            "credential_cache_seconds",
            "federation_token_leeway",
            "federation_jwks_refresh_cooldown",
            "failed_sign_ins_per_source",
            "failed_sign_ins_per_user",
            "crash_restart_first_delay",
            "crash_restart_max_attempts",
            "usage_settle_seconds",
            "usage_interval",
            "image_list_sync_interval",
            "accounting_push_interval",
            "federation_monitor_interval",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"setting {name}: must be 0 (off) or more")
        if not 1 <= self.port <= 65535:
            raise ValueError("setting port: must be between 1 and 65535")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", self.site_name):
            raise ValueError(
                "setting site_name: 1 to 64 letters, digits, '.', '_' or '-', starting with "
                "a letter or digit"
            )
        if any(char.isspace() for char in self.glue_token):
            raise ValueError("setting glue_token: must not contain white space")
        if any(char.isspace() or char == ":" for char in self.image_list_token):
            raise ValueError("setting image_list_token: must not contain white space or ':'")
        if bool(self.image_list_certificate) != bool(self.image_list_key):
            raise ValueError("settings image_list_certificate and image_list_key go together")
        if self.accounting_push_url and not self.accounting_push_url.startswith(
            ("https://", "http://")
        ):
            raise ValueError("setting accounting_push_url: must be an http(s) URL")
        if any(char.isspace() for char in self.accounting_push_token):
            raise ValueError("setting accounting_push_token: must not contain white space")
        if self.image_list_lifetime <= 0:
            raise ValueError("setting image_list_lifetime: must be more than 0")
        if any(char.isspace() for char in self.metrics_token):
            raise ValueError("setting metrics_token: must not contain white space")
        for name, check in (
            ("public_url", check_public_url),
            ("trusted_proxies", parse_networks),
        ):
            value = getattr(self, name)
            if value:
                try:
                    check(value)
                except ValueError as exc:
                    raise ValueError(f"setting {name}: {exc}") from None
        try:
            self.ha_config()
        except ValueError as exc:
            raise ValueError(f"setting ha_{exc}") from None
        if self.restart_crashed_guests not in [choice.value for choice in RestartCrashed]:
            raise ValueError("setting restart_crashed_guests: must be 'ha', 'all' or 'none'")
        if self.crash_restart_first_delay > self.crash_restart_max_delay:
            raise ValueError(
                "setting crash_restart_first_delay: must not exceed crash_restart_max_delay"
            )
        if self.usage_period not in ("hour", "day"):
            raise ValueError("setting usage_period: must be 'hour' or 'day'")
        for name in ("usage_compute_service",):
            value = getattr(self, name)
            if not value or len(value) > 255 or any(not c.isprintable() for c in value):
                raise ValueError(f"setting {name}: must be 1 to 255 printable characters")
        if self.log_format not in ("json", "text"):
            raise ValueError("setting log_format: must be 'json' or 'text'")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("setting log_level: must be DEBUG, INFO, WARNING, ERROR or CRITICAL")

    def ha_config(self) -> HaConfig:
        """The ``ha_*`` settings as the engine's HA takes them.

        :raises ValueError: ``<name> must be ...`` for a value out of range.
        """
        return HaConfig(
            check_interval=self.ha_check_interval,
            probe_timeout=self.ha_probe_timeout,
            suspect_after=self.ha_suspect_after,
            down_after=self.ha_down_after,
            fence_timeout=self.ha_fence_timeout,
            stale_after=self.ha_stale_after,
            storm_share=self.ha_storm_share,
            storm_window=self.ha_storm_window,
            fence_retry_first=self.ha_fence_retry_first,
            fence_retry_max=self.ha_fence_retry_max,
            restarts_per_host=self.ha_restarts_per_host,
            restart_threads=self.ha_restart_threads,
        )

    def crash_restart_policy(self) -> CrashRestartPolicy:
        """How crashed guests are restarted in place (engine.compute.crash_restart)."""
        return CrashRestartPolicy(
            which=RestartCrashed(self.restart_crashed_guests),
            first_delay=float(self.crash_restart_first_delay),
            max_delay=float(self.crash_restart_max_delay),
            max_attempts=self.crash_restart_max_attempts,
            window=float(self.crash_restart_window),
        )

    def server_keys(self) -> ServerKeys:
        """Load the server keys from ``server_key_file``, or from the default file.

        The default file is generated on first use; a configured one must
        exist, so that servers meant to share a key never each make their own.

        :raises ServerKeyError: the file is missing, unreadable or holds no valid key.
        """
        if self.server_key_file:
            return ServerKeys.load(self.server_key_file)
        return ServerKeys.load(default_server_key_file(), create=True)

    def image_dir(self) -> Path:
        """The absolute directory subscribed images are fetched into (``federation_image_dir``)."""
        if self.federation_image_dir:
            return Path(self.federation_image_dir).absolute()
        return default_federation_image_dir()

    def as_pyramid(self) -> dict[str, Any]:
        """The settings as a flat ``concord.*`` mapping for Pyramid's registry."""
        return {f"concord.{f.name}": getattr(self, f.name) for f in fields(self)}
