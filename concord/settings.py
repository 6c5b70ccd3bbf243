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
    #: Seconds a signed request's timestamp may differ from the server clock.
    signature_window: int = 300
    #: Seconds a verified Basic password is remembered, so that the memory-hard
    #: hash runs once per client and window instead of once per request.
    credential_cache_seconds: int = 60
    #: Failed Basic sign-ins allowed from one source address (an IPv6 /64), and
    #: for one user name, in any ``failed_sign_in_window`` seconds; past them a
    #: sign-in is refused with 429 before its password is hashed. 0: no limit.
    #: Counted in each process's memory (docs/authentication.rst).
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
    #: When set, ``/metrics`` answers only ``Authorization: Bearer <token>``.
    metrics_token: str = ""

    #: The base of every absolute URL rendered (``https://cloud.example.org``);
    #: empty: each request's own scheme and Host (docs/security-settings.rst).
    public_url: str = ""
    #: Comma-separated addresses or networks of the reverse proxies whose
    #: X-Forwarded-Proto and X-Forwarded-Host are believed (without public_url).
    trusted_proxies: str = ""
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
    #: Log format: ``json`` (one object per line) or ``text``.
    log_format: str = "json"
    log_level: str = "INFO"

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
            "failed_sign_in_window",
            "max_body_bytes",
            "max_header_bytes",
            "max_header_count",
            "max_header_line_bytes",
            "max_document_depth",
            "max_document_elements",
            "max_element_attributes",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"setting {name}: must be a positive number")
        # Argon2 needs at least 8 KiB per lane; Concord hashes with 4 lanes.
        if self.password_memory_kib < 32:
            raise ValueError("setting password_memory_kib: must be at least 32 (KiB)")
        for name in (
            "credential_cache_seconds",
            "failed_sign_ins_per_source",
            "failed_sign_ins_per_user",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"setting {name}: must be 0 (off) or more")
        if not 1 <= self.port <= 65535:
            raise ValueError("setting port: must be between 1 and 65535")
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
        if self.log_format not in ("json", "text"):
            raise ValueError("setting log_format: must be 'json' or 'text'")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("setting log_level: must be DEBUG, INFO, WARNING, ERROR or CRITICAL")

    def server_keys(self) -> ServerKeys:
        """Load the server keys from ``server_key_file``, or from the default file.

        The default file is generated on first use; a configured one must
        exist, so that servers meant to share a key never each make their own.

        :raises ServerKeyError: the file is missing, unreadable or holds no valid key.
        """
        if self.server_key_file:
            return ServerKeys.load(self.server_key_file)
        return ServerKeys.load(default_server_key_file(), create=True)

    def as_pyramid(self) -> dict[str, Any]:
        """The settings as a flat ``concord.*`` mapping for Pyramid's registry."""
        return {f"concord.{f.name}": getattr(self, f.name) for f in fields(self)}
