"""The server configuration: defaults, a TOML file, environment overrides.

Where each setting comes from, later sources winning:

1. the defaults of the dataclasses below, chosen so that ``occi-server``
   alone serves the simulated cloud on 127.0.0.1 with a SQLite file in the
   user's data directory;
2. a TOML file: ``--config PATH``, else ``$PYOCCI_CONFIG``, else
   ``<user config dir>/pyocci/server.toml`` when it exists;
3. environment variables ``PYOCCI_<KEY>`` for top-level keys and
   ``PYOCCI_<SECTION>_<KEY>`` for keys of a section (``PYOCCI_PORT``,
   ``PYOCCI_LIMITS_MAX_BODY_BYTES``, ``PYOCCI_BACKEND_SETTINGS_<KEY>``);
4. command-line options (``overrides``, passed by ``occi-server``).

Values are typed by the dataclass field types. Every user mistake becomes a
`ConfigError` whose message names the key, where the bad value came from
and what is expected; nothing here lets a traceback reach the operator.

Uvicorn and granian workers are separate processes: ``occi-server`` hands
them the effective configuration as JSON in ``PYOCCI_CONFIG_JSON``
(`ServerConfig.to_json` / `ServerConfig.from_json`, or simply
`config_from_environment`), so every worker serves exactly what the parent
resolved, command-line options included.

The file format is documented, with a complete example, in
``docs/server-config.md``.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import ipaddress
import json
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import platformdirs

from pyocci.backends.deadline import DEFAULT_DEADLINE
from pyocci.model.errors import OcciError

__all__ = [
    "AUTH_METHODS",
    "CONFIG_ENV",
    "CONFIG_JSON_ENV",
    "ENV_PREFIX",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "SERVERS",
    "AccountingConfig",
    "AuthConfig",
    "ConfigError",
    "ExportConfig",
    "Limits",
    "MetricsConfig",
    "ServerConfig",
    "TlsConfig",
    "config_from_environment",
    "default_config_file",
    "default_handshake_key_file",
    "default_users_file",
    "find_config_file",
    "load_config",
    "redact_url",
    "toml_key",
    "toml_value",
    "user_config_dir",
    "user_data_dir",
]

#: The environment variable naming the configuration file.
CONFIG_ENV = "PYOCCI_CONFIG"
#: The environment variable through which ``occi-server`` hands workers the
#: effective configuration.
CONFIG_JSON_ENV = "PYOCCI_CONFIG_JSON"
#: The prefix of every configuration environment variable.
ENV_PREFIX = "PYOCCI_"

#: The directory of prometheus-client's per-process files (multiprocess mode): set by
#: ``occi-server`` before anything imports prometheus-client (`pyocci.server.metrics`).
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
AUTH_METHODS = ("none", "basic", "token", "x509", "keystone", "oidc", "cloud", "voms")
OCCI_VERSIONS = ("1.2", "1.1")
SERVERS = ("uvicorn", "granian")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
LOG_FORMATS = ("text", "json")

KIB = 1024
MIB = 1024 * KIB


class ConfigError(OcciError):
    """The configuration is wrong; the message says which key, where, and what is expected."""


def user_config_dir() -> Path:
    """The per-user configuration directory of pyocci (platform dependent)."""
    return platformdirs.user_config_path("pyocci")


def user_data_dir() -> Path:
    """The per-user data directory of pyocci, where the default SQLite file lives."""
    return platformdirs.user_data_path("pyocci")


def default_config_file() -> Path:
    """The configuration file read when neither ``--config`` nor ``$PYOCCI_CONFIG`` is given."""
    return user_config_dir() / "server.toml"


def default_users_file() -> Path:
    """The users file of HTTP basic authentication when ``auth.users_file`` is not set."""
    return user_config_dir() / "users.toml"


def default_handshake_key_file() -> Path:
    """Where the handshake's signing key is kept when ``auth.handshake_key_file`` is not set."""
    return user_data_dir() / "handshake.key"


# --- validation helpers ---------------------------------------------------------------
#
# A check returns None when a value is acceptable, else the description of what is
# expected ("an integer from 1 to 65535"), which goes into the ConfigError message.

Check = Callable[[Any], str | None]


def _at_least(minimum: int | float) -> Check:
    def check(value: Any) -> str | None:
        if value is None or value >= minimum:
            return None
        return f"a number of at least {minimum}"

    return check


def _between(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        if value is None or low <= value <= high:
            return None
        return f"an integer from {low} to {high}"

    return check


def _one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        if value in choices:
            return None
        return "one of " + ", ".join(repr(choice) for choice in choices)

    return check


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _non_empty(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and not _CONTROL.search(value):
        return None
    return "a non-empty string without control characters"


_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")


def _backend_name(value: Any) -> str | None:
    if _IDENTIFIER.match(value):
        return None
    return "a backend name such as 'sim' (lower-case letters, digits and '_')"


def _base_url(value: Any) -> str | None:
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # an invalid IPv6 literal, for one
        valid = False
    if valid and not parts.query and not parts.fragment and "?" not in value:
        return None
    return "an absolute http(s) URL without query or fragment, such as 'https://occi.example.org'"


_DATABASE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+._-]*://")


def _database_url(value: Any) -> str | None:
    if value is None or _DATABASE_URL.match(value):
        return None
    return "a SQLAlchemy database URL such as 'postgresql+psycopg://user:pw@host/db'"


def _optional_name(value: Any) -> str | None:
    return None if value is None else _non_empty(value)


def _addresses(value: Any) -> str | None:
    if value is None:
        return None
    items = [item.strip() for item in str(value).split(",") if item.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return f"IP addresses or networks separated by commas; {item!r} is neither"
    return None if items else "at least one IP address or network"


def _meta(check: Check | None = None, doc: str = "") -> dict[str, Any]:
    return {"check": check, "doc": doc}


# --- the configuration ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """What a request may cost the server: past these the app answers 413 or 431, the
    HTTP server 408, 414, 431 or 503 (see ``pyocci.server.uvicorn_protocol``)."""

    #: Largest request body accepted, in bytes (413 above).
    max_body_bytes: int = field(default=1 * MIB, metadata=_meta(_at_least(1)))
    #: Most request header fields accepted (431 above).
    max_header_count: int = field(default=100, metadata=_meta(_at_least(1)))
    #: Largest total size of the request header fields, in bytes (431 above).
    max_header_bytes: int = field(default=64 * KIB, metadata=_meta(_at_least(1)))
    #: Largest `number` a client may ask for when paging a collection (413 above).
    max_page_size: int = field(default=1000, metadata=_meta(_at_least(1)))
    #: The HTTP server's own cap on request line plus headers (and on chunked
    #: trailers), in bytes: what a request head may buffer before the server answers
    #: 431 and closes (granian: its HTTP/1 buffer). None derives it from
    #: `max_url_bytes` + `max_header_bytes`, so that the app's precise limit (431
    #: with a message) is the one clients meet. (The name is historical.)
    h11_max_incomplete_event_size: int | None = field(default=None, metadata=_meta(_at_least(1024)))
    #: Longest request target (path and query) accepted, in bytes (414 above).
    max_url_bytes: int = field(default=8 * KIB, metadata=_meta(_at_least(256)))
    #: Open connections one worker process holds at most; past it a new connection
    #: is answered 503 at once (granian: waits in the listen backlog). Lowered at
    #: start if the open-files limit (``ulimit -n``) cannot hold it.
    max_connections: int = field(default=1000, metadata=_meta(_at_least(1)))
    #: Seconds a client has to send a request's line and headers, counted from the
    #: connection's opening or the request's first byte (408, or a close, past it).
    header_timeout: float = field(default=10.0, metadata=_meta(_at_least(0.1)))
    #: Seconds a client has to send a request's body once its headers are in (408).
    body_timeout: float = field(default=60.0, metadata=_meta(_at_least(0.1)))
    #: Seconds an idle connection is kept open between requests; 0 closes every
    #: connection after its response.
    keep_alive_timeout: float = field(default=5.0, metadata=_meta(_at_least(0)))
    #: Seconds a response may wait for a client that stopped reading it before the
    #: connection is dropped.
    send_timeout: float = field(default=60.0, metadata=_meta(_at_least(0.1)))
    #: The longest a request waits for the cloud to answer, in seconds (503 with
    #: Retry-After past it); each answer gives the cloud this long again, so an
    #: operation that polls a cloud making progress runs to the backend's own limits.
    cloud_deadline: float = field(default=DEFAULT_DEADLINE, metadata=_meta(_at_least(0.1)))
    #: The longest a create or a delete waits for the cloud to show it done (the new
    #: entity readable, the deleted one gone), in seconds, on top of the cloud's own
    #: answer; past it the answer is 202 Accepted. Clouds whose writes show at once
    #: (the sim) are not waited for.
    write_wait: float = field(default=10.0, metadata=_meta(_between(0, 300)))

    @property
    def server_header_limit(self) -> int:
        """The effective HTTP-server cap on request line plus headers, in bytes."""
        if self.h11_max_incomplete_event_size is not None:
            return self.h11_max_incomplete_event_size
        return self.max_header_bytes + self.max_url_bytes


#: The methods the Keystone-like handshake cannot stand in front of, and why.
_NO_HANDSHAKE = {
    "none": "checks no credential to exchange for a token",
    "keystone": "sends clients to the real Keystone, which is the handshake",
    "cloud": "passes callers' own credentials on to the cloud, which a token of the "
    "handshake does not carry",
}


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """How requests are authenticated and which tenant they act for."""

    #: ``none`` (every request acts for `tenant`; for development), ``basic`` (HTTP
    #: basic against `users_file`), ``token`` (bearer tokens of `users_file`),
    #: ``x509`` (TLS client certificates checked by the server itself; every holder of
    #: a certificate the ``[tls] client_ca`` vouches for acts for `tenant`) or
    #: ``keystone`` (OpenStack Keystone tokens, the tenant being the token's project) or
    #: ``oidc`` (access tokens of the OpenID Providers of `oidc_issuers_file`, the tenant
    #: mapped from their claims) or ``voms`` (certificates and VOMS proxies a TLS front of
    #: `front_addresses` passes on, verified against `voms_file`).
    method: str = field(default="none", metadata=_meta(_one_of(*AUTH_METHODS)))
    #: The one tenant of methods ``none`` and ``x509``.
    tenant: str = field(default="default", metadata=_meta(_non_empty))
    #: The users file of methods ``basic`` and ``token``; None means `default_users_file()`.
    users_file: Path | None = None
    #: The realm announced in ``WWW-Authenticate: Basic realm="..."`` (or ``Bearer``).
    realm: str = field(default="pyocci", metadata=_meta(_non_empty))
    #: How long a successful (or failed) password verification, a Keystone or OIDC
    #: token validation, or a certificate chain's check (voms), is remembered, in
    #: seconds; 0 disables. A revoked Keystone token
    #: is accepted for at most this long.
    cache_seconds: float = field(default=60.0, metadata=_meta(_at_least(0)))
    #: How many verifications are remembered at most.
    cache_size: int = field(default=1024, metadata=_meta(_at_least(0)))
    #: Failed authentications (methods ``basic``, ``token``, ``keystone``, ``oidc``) for one
    #: user name within `failure_window_seconds` after which that user's attempts
    #: get 429 for `lockout_seconds`, except from addresses the user logged in from
    #: recently; 0 turns the limit off.
    max_failures_per_user: int = field(default=10, metadata=_meta(_at_least(0)))
    #: The same for one client address (an IPv6 address counts as its /64); no
    #: exception: every attempt from a locked address gets 429. 0 turns it off.
    max_failures_per_address: int = field(default=30, metadata=_meta(_at_least(0)))
    #: The time over which failures are counted, in seconds.
    failure_window_seconds: float = field(default=300.0, metadata=_meta(_at_least(1)))
    #: How long a user or an address past its limit gets 429, in seconds.
    lockout_seconds: float = field(default=300.0, metadata=_meta(_at_least(1)))
    #: How many user names, addresses and trusted (user, address) pairs the failure
    #: throttle remembers at most, each: what bounds its memory.
    throttle_size: int = field(default=10000, metadata=_meta(_at_least(1)))
    #: Keystone's public URL (method ``keystone``): announced to clients in
    #: ``WWW-Authenticate: Keystone uri='...'`` and used to validate their tokens.
    keystone_url: str | None = field(default=None, metadata=_meta(_base_url))
    #: The service user occi-server validates tokens as (it needs Keystone's
    #: ``service`` or ``admin`` role).
    keystone_service_user: str | None = None
    #: That user's password.
    keystone_service_password: str | None = None
    #: The project the service user's token is scoped to (by name).
    keystone_service_project: str | None = None
    #: The Keystone domain (name) of the service user and its project.
    keystone_service_domain: str = field(default="Default", metadata=_meta(_non_empty))
    #: CA certificates (file or directory) that verify Keystone's TLS certificate;
    #: None uses the system's.
    keystone_ca: Path | None = None
    #: How long one request to Keystone may take, in seconds, before the OCCI request
    #: is answered 503.
    keystone_timeout: float = field(default=5.0, metadata=_meta(_at_least(0.1)))
    #: The trusted OpenID Providers of method ``oidc`` and how their tokens map to
    #: tenants: a TOML file of ``[[issuers]]`` tables (docs/auth.md).
    oidc_issuers_file: Path | None = None
    #: CA certificates (file or directory) that verify the providers' TLS
    #: certificates; None uses the system's.
    oidc_ca: Path | None = None
    #: How long one request to a provider (discovery, keys, introspection) may take,
    #: in seconds, before the OCCI request is answered 503.
    oidc_timeout: float = field(default=5.0, metadata=_meta(_at_least(0.1)))
    #: The clock difference tolerated when checking a token's expiry, in seconds.
    oidc_leeway_seconds: float = field(default=30.0, metadata=_meta(_between(0, 300)))
    #: How long a provider's discovery document and signing keys are used before they
    #: are fetched again, in seconds (a token signed with a key not yet seen fetches
    #: them sooner, at most every 10 s).
    oidc_keys_seconds: float = field(default=3600.0, metadata=_meta(_at_least(10)))
    #: The TLS fronts of method ``voms``: addresses or networks, separated by commas
    #: (``"127.0.0.1, ::1"``), the only peers whose client certificate headers are read.
    front_addresses: str | None = field(default=None, metadata=_meta(_addresses))
    #: The CA and VOMS server certificates method ``voms`` trusts and how certificates map
    #: to tenants: a TOML file (docs/auth.md).
    voms_file: Path | None = None
    #: Whether occi-server serves the Keystone-like handshake (docs/auth.md): a token
    #: endpoint in the shape of Keystone's API at ``/-/identity`` that exchanges
    #: what the method accepts (an OIDC access token, a password, a client certificate)
    #: for a project-scoped occi-server token sent as ``X-Auth-Token``; a 401 then
    #: carries ``WWW-Authenticate: Keystone uri='...'``. Not with ``none`` or ``keystone``.
    keystone_handshake: bool = False
    #: How long a token the handshake issues lives at most, in seconds; never past the
    #: credential it was exchanged for.
    handshake_lifetime_seconds: float = field(default=3600.0, metadata=_meta(_at_least(1)))
    #: The secret issued tokens are signed with, created at the first start; every
    #: worker and host that serves the same tenants must read the same file. None
    #: means `default_handshake_key_file()`.
    handshake_key_file: Path | None = None
    #: The tenant that holders of a TLS client certificate (``[tls] client_ca``) get
    #: from the handshake when the method is not ``x509``; None exchanges no
    #: certificates (with ``x509``, they get `tenant`).
    handshake_certificate_tenant: str | None = field(default=None, metadata=_meta(_optional_name))

    def __post_init__(self) -> None:
        if self.keystone_handshake and self.method in _NO_HANDSHAKE:
            why = _NO_HANDSHAKE[self.method]
            raise ConfigError(
                f"auth.keystone_handshake needs a method that checks credentials (basic, "
                f"token, x509, oidc or voms): method {self.method!r} {why}"
            )
        if self.method == "oidc" and self.oidc_issuers_file is None:
            raise ConfigError(
                "auth.method 'oidc' needs auth.oidc_issuers_file: the file that lists the "
                "trusted OpenID Providers and how their tokens map to tenants"
            )
        if self.method == "voms" and (self.front_addresses is None or self.voms_file is None):
            raise ConfigError(
                "auth.method 'voms' needs auth.front_addresses (the TLS fronts that pass "
                "client certificates on) and auth.voms_file (the trusted CAs, VOMS servers "
                "and mapping rules)"
            )
        if self.method != "keystone":
            return
        missing = [
            f"auth.{name}"
            for name in (
                "keystone_url",
                "keystone_service_user",
                "keystone_service_password",
                "keystone_service_project",
            )
            if not getattr(self, name)
        ]
        if missing:
            raise ConfigError(
                f"auth.method 'keystone' needs {', '.join(missing)}: the Keystone URL and the "
                f"service account occi-server validates tokens with"
            )

    @property
    def effective_users_file(self) -> Path:
        """The users file basic authentication reads."""
        return self.users_file if self.users_file is not None else default_users_file()

    @property
    def effective_handshake_key_file(self) -> Path:
        """The file the handshake's signing key is kept in."""
        if self.handshake_key_file is not None:
            return self.handshake_key_file
        return default_handshake_key_file()


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """HTTPS: the server's certificate, and the client certificates it asks for."""

    #: The server's certificate chain (PEM); with `key`, occi-server serves HTTPS.
    certificate: Path | None = None
    #: The server's private key (PEM, unencrypted); None: it is in `certificate`.
    key: Path | None = None
    #: CA certificates (a PEM file) that client certificates must chain to; None asks
    #: clients for no certificate.
    client_ca: Path | None = None
    #: Whether a client without a valid certificate is refused at the TLS handshake
    #: (with `client_ca`); false makes the certificate optional.
    require_client_certificate: bool = False

    def __post_init__(self) -> None:
        if self.certificate is None and (self.key or self.client_ca):
            raise ConfigError(
                "tls.key and tls.client_ca need tls.certificate: the server's certificate"
            )
        if self.require_client_certificate and self.client_ca is None:
            raise ConfigError(
                "tls.require_client_certificate needs tls.client_ca: the CA certificates "
                "client certificates are checked against"
            )

    @property
    def enabled(self) -> bool:
        """Whether occi-server serves HTTPS."""
        return self.certificate is not None


#: The shortest bearer token a scraper of ``/metrics`` may be given: a guessable one
#: would leave the page as open as none.
MIN_METRICS_TOKEN = 16


def _metrics_token(value: Any) -> str | None:
    if value is None:
        return None
    printable = value.isascii() and value.isprintable() and " " not in value
    if len(value) >= MIN_METRICS_TOKEN and printable:
        return None
    return f"at least {MIN_METRICS_TOKEN} printable ASCII characters without spaces"


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """``/metrics``: Prometheus metrics of requests, backend calls, caches and entities
    (see ``docs/operations.md``)."""

    #: Whether metrics are collected and served.
    enabled: bool = False
    #: A listener of its own for ``/metrics`` on `address`, run by ``occi-server``'s
    #: main process for every worker; None serves ``/metrics`` on the OCCI port, which
    #: then needs `token`.
    port: int | None = field(default=None, metadata=_meta(_between(1, 65535)))
    #: The address of the listener of `port`.
    address: str = field(default="127.0.0.1", metadata=_meta(_non_empty))
    #: The bearer token a scraper sends (``Authorization: Bearer <token>``); required
    #: on the OCCI port, optional on a listener of its own.
    token: str | None = field(default=None, metadata=_meta(_metrics_token))
    #: How often each worker counts the entities by kind and state, in seconds, on
    #: backends that can count them in one query (the sim); 0 turns counting off.
    census_seconds: float = field(default=60.0, metadata=_meta(_at_least(0)))

    def __post_init__(self) -> None:
        if self.enabled and self.port is None and self.token is None:
            raise ConfigError(
                "metrics.enabled serves /metrics on the OCCI port, which needs metrics.token "
                "(the bearer token scrapers send); or set metrics.port for a listener of its own"
            )


@dataclass(frozen=True, slots=True)
class AccountingConfig:
    """Usage records of computes, exported as APEL cloud records or JSON by ``occi-server
    accounting export`` (see ``docs/operations.md``)."""

    #: Whether the server records each compute's changes (create, actions, updates,
    #: delete) in the store.
    enabled: bool = True
    #: The site's name in the accounting repository (APEL ``SiteName``, the GOCDB name);
    #: needed by the APEL format.
    site_name: str | None = field(default=None, metadata=_meta(_optional_name))
    #: The cloud service's name in the accounting repository (APEL
    #: ``CloudComputeService``); needed by the APEL format.
    cloud_compute_service: str | None = field(default=None, metadata=_meta(_optional_name))
    #: The cloud's middleware (APEL ``CloudType``); None reports the backend's name.
    cloud_type: str | None = field(default=None, metadata=_meta(_optional_name))


#: The smallest chunk an export moves: S3 refuses multipart parts under 5 MiB.
MIN_EXPORT_CHUNK = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExportConfig:
    """Image export to s3://, https:// and glance:// targets (see ``docs/export.md``)."""

    #: Whether exports are offered (on backends that can read images).
    enabled: bool = True
    #: How many exports of one tenant may be pending or transferring at once.
    max_per_tenant: int = field(default=2, metadata=_meta(_at_least(1)))
    #: How many exports one worker moves at once.
    max_running: int = field(default=4, metadata=_meta(_at_least(1)))
    #: Bytes read from the cloud and written to the target at a time (an S3 part).
    chunk_bytes: int = field(default=8 * 1024 * 1024, metadata=_meta(_at_least(MIN_EXPORT_CHUNK)))
    #: How long a runner's claim on an export holds without progress; after that (its
    #: server stopped) another runner starts the export over.
    lease_seconds: float = field(default=60.0, metadata=_meta(_at_least(1)))
    #: The S3-compatible object store s3:// targets are written to; None: no s3://.
    s3_endpoint_url: str | None = field(default=None, metadata=_meta(_optional_name))
    s3_region: str = field(default="us-east-1", metadata=_meta(_non_empty))
    s3_access_key_id: str | None = field(default=None, metadata=_meta(_optional_name))
    s3_secret_access_key: str | None = field(
        default=None, repr=False, metadata=_meta(_optional_name)
    )
    #: CA certificates (PEM) trusted for https:// targets and the S3 endpoint, beside
    #: the system's.
    ca_file: Path | None = None
    #: The ``qemu-img`` that converts disk formats (a command name or a path); where
    #: it is not found, exports leave in the cloud's format and conversion is 501.
    qemu_img: str = field(default="qemu-img", metadata=_meta(_non_empty))
    #: Where a conversion keeps its two temporary files (the image as read, the
    #: converted one); None: the system's temporary directory.
    spool_dir: Path | None = None
    #: The most disk one conversion may use (both files); larger images are refused.
    max_spool_bytes: int = field(default=64 * 1024**3, metadata=_meta(_at_least(1)))
    #: How long one ``qemu-img`` run may take, in seconds, before the export fails.
    convert_timeout_seconds: float = field(default=3600.0, metadata=_meta(_at_least(1)))
    #: The remote sites whose Glance glance:// targets write to, with their endpoints
    #: and credentials (a TOML file of its own, so that no credential is in this
    #: configuration); None: no glance://.
    glance_sites_file: Path | None = None

    def __post_init__(self) -> None:
        if self.glance_sites_file is not None:
            # Imported here: the module builds on the server's export targets.
            from pyocci.server.exports.glance import GlanceSitesError, read_sites

            try:
                read_sites(self.glance_sites_file)
            except GlanceSitesError as error:
                raise ConfigError(f"export.glance_sites_file: {error}") from None

    @property
    def schemes(self) -> tuple[str, ...]:
        """The target URL schemes offered: https always, s3 with an object store, glance
        with remote sites."""
        return (
            *(("s3",) if self.s3_endpoint_url else ()),
            "https",
            *(("glance",) if self.glance_sites_file else ()),
        )


def _frozen_settings() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything ``occi-server`` needs to know; see ``docs/server-config.md``."""

    #: The address to listen on; ``0.0.0.0`` or ``::`` for every interface.
    host: str = field(default="127.0.0.1", metadata=_meta(_non_empty))
    #: The TCP port to listen on.
    port: int = field(default=8787, metadata=_meta(_between(1, 65535)))
    #: How many worker processes serve requests (several need PostgreSQL).
    workers: int = field(default=1, metadata=_meta(_at_least(1)))
    #: The ASGI server: ``uvicorn`` or ``granian`` (if installed).
    server: str = field(default="uvicorn", metadata=_meta(_one_of(*SERVERS)))
    #: The public URL of the service when behind a proxy that rewrites it; None
    #: derives absolute URLs (``Location``, links) from each request.
    base_url: str | None = field(default=None, metadata=_meta(_base_url))
    #: The SQLAlchemy URL of the store; None lets the store use a SQLite file in
    #: the user's data directory.
    database_url: str | None = field(default=None, metadata=_meta(_database_url))
    #: The backend module under ``pyocci.backends`` that serves the entities.
    backend: str = field(default="sim", metadata=_meta(_backend_name))
    #: The OCCI version the server speaks: ``1.2``, or ``1.1`` to behave as a 1.1
    #: server does (``Server: ... OCCI/1.1``, text renderings only, no JSON).
    occi_version: str = field(default="1.2", metadata=_meta(_one_of(*OCCI_VERSIONS)))
    #: Whether browsers (an Accept that prefers text/html) get the HTML view; false
    #: answers them as any client (docs/html.md).
    html_view: bool = True
    #: The log level of the HTTP server and of pyocci.
    log_level: str = field(default="info", metadata=_meta(_one_of(*LOG_LEVELS)))
    #: ``text`` (lines for people) or ``json`` (one JSON object per line) for every log line.
    log_format: str = field(default="text", metadata=_meta(_one_of(*LOG_FORMATS)))
    #: Whether every request is logged: one line at level info (logger ``pyocci.access``).
    access_log: bool = True
    #: Settings passed as they are to the backend (``[backend_settings]``).
    backend_settings: Mapping[str, Any] = field(default_factory=_frozen_settings)
    limits: Limits = field(default_factory=Limits)
    auth: AuthConfig = field(default_factory=AuthConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    accounting: AccountingConfig = field(default_factory=AccountingConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    #: The file the configuration was read from, if any (informational, not a key).
    config_file: Path | None = None

    def __post_init__(self) -> None:
        # A frozen configuration whose nested settings could still be mutated by a
        # backend would not be frozen at all.
        object.__setattr__(self, "backend_settings", _freeze(self.backend_settings))
        # One spelling of the public URL, so the app can append paths to it.
        if self.base_url is not None and self.base_url.endswith("/"):
            object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if self.auth.method == "x509" and not self.tls.require_client_certificate:
            # The ASGI servers do not hand the client's certificate to the app, so the
            # TLS handshake is the whole check: without it, x509 would let anyone in.
            raise ConfigError(
                "auth.method 'x509' needs [tls] certificate, client_ca and "
                "require_client_certificate = true: occi-server checks client certificates "
                "at the TLS handshake"
            )
        metrics = self.metrics
        if metrics.enabled and metrics.port == self.port and _same_host(metrics.address, self.host):
            raise ConfigError(
                f"metrics.port {metrics.port} is the OCCI port; choose another port, or leave "
                "metrics.port out to serve /metrics on the OCCI port (with metrics.token)"
            )
        if self.auth.handshake_certificate_tenant is not None:
            if self.auth.method == "x509" or not self.auth.keystone_handshake:
                raise ConfigError(
                    "auth.handshake_certificate_tenant is for auth.keystone_handshake with "
                    "a method other than x509 (with x509, certificate holders get auth.tenant)"
                )
            if self.tls.client_ca is None:
                raise ConfigError(
                    "auth.handshake_certificate_tenant needs [tls] certificate and client_ca: "
                    "occi-server asks for client certificates at the TLS handshake"
                )
            if self.server != "uvicorn":
                raise ConfigError(
                    "auth.handshake_certificate_tenant needs server = 'uvicorn': granian does "
                    "not hand the client's certificate to the application"
                )

    # JSON: how the parent process hands the effective configuration to workers.

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-compatible data (secrets included)."""
        data: dict[str, Any] = {}
        for name in _TOP_LEVEL_KEYS:
            data[name] = _plain(getattr(self, name))
        data["backend_settings"] = _thaw(self.backend_settings)
        for section in _SECTIONS:
            data[section] = {
                f.name: _plain(getattr(getattr(self, section), f.name))
                for f in dataclasses.fields(_SECTIONS[section])
            }
        data["config_file"] = _plain(self.config_file)
        return data

    def to_json(self) -> str:
        """The configuration as JSON, for ``PYOCCI_CONFIG_JSON`` (secrets included)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ServerConfig:
        """Read a configuration written by `to_json`, validating it like a file."""
        where = f"in {CONFIG_JSON_ENV}"
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as error:
            raise ConfigError(f"{CONFIG_JSON_ENV} is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{CONFIG_JSON_ENV}: expected a JSON object")
        config_file = data.pop("config_file", None)
        if config_file is not None and not isinstance(config_file, str):
            raise ConfigError(f"config_file: expected a string or null ({where})")
        builder = _Builder()
        builder.add_document(data, where=where, base_dir=None)
        return builder.build(config_file=Path(config_file) if config_file else None)

    # TOML: what ``occi-server config show`` prints.

    def to_toml(self, *, redact: bool = True) -> str:
        """The configuration as a TOML document; with `redact`, passwords are masked."""
        lines = ["# The effective pyocci server configuration."]
        if self.config_file is not None:
            lines.append(f"# Read from {self.config_file}, then the environment.")
        else:
            lines.append("# No configuration file: defaults, then the environment.")
        for name in _TOP_LEVEL_KEYS:
            value = getattr(self, name)
            if name == "database_url" and value is not None and redact:
                value = redact_url(value)
            lines.append(_toml_line(name, value, _NOT_SET_NOTES.get(name)))
        for section, section_type in _SECTIONS.items():
            lines.append("")
            lines.append(f"[{section}]")
            settings = getattr(self, section)
            for f in dataclasses.fields(section_type):
                note = _NOT_SET_NOTES.get(f"{section}.{f.name}")
                value = getattr(settings, f.name)
                if redact and value is not None and _SECRET_KEY.search(f.name):
                    value = _MASK
                lines.append(_toml_line(f.name, value, note))
        lines.append("")
        settings = _redact_settings(self.backend_settings) if redact else self.backend_settings
        lines.extend(_toml_table("backend_settings", settings))
        return "\n".join(lines) + "\n"


_SECTIONS: dict[str, type] = {
    "limits": Limits,
    "auth": AuthConfig,
    "tls": TlsConfig,
    "metrics": MetricsConfig,
    "accounting": AccountingConfig,
    "export": ExportConfig,
}
_NOT_TOP_LEVEL = frozenset({"backend_settings", "config_file", *_SECTIONS})
_TOP_LEVEL_KEYS = tuple(
    f.name for f in dataclasses.fields(ServerConfig) if f.name not in _NOT_TOP_LEVEL
)
#: Every key the top level of a configuration file may hold.
_FILE_KEYS = (*_TOP_LEVEL_KEYS, *_SECTIONS, "backend_settings")

_NOT_SET_NOTES: dict[str, Callable[[], str]] = {
    "base_url": lambda: "absolute URLs follow each request's Host",
    "database_url": lambda: f"the store uses a SQLite file in {user_data_dir()}",
    "limits.h11_max_incomplete_event_size": lambda: "max_url_bytes + max_header_bytes",
    "auth.users_file": lambda: f"the default is {default_users_file()}",
    "auth.keystone_url": lambda: "needed by method keystone",
    "auth.keystone_ca": lambda: "the system's CA certificates verify Keystone",
    "auth.oidc_issuers_file": lambda: "needed by method oidc",
    "auth.oidc_ca": lambda: "the system's CA certificates verify the OpenID Providers",
    "auth.handshake_key_file": lambda: f"the default is {default_handshake_key_file()}",
    "auth.handshake_certificate_tenant": lambda: "the handshake exchanges no certificates",
    "tls.certificate": lambda: "plain HTTP",
    "metrics.port": lambda: "/metrics is served on the OCCI port",
    "metrics.token": lambda: "scrapers send no token",
    "accounting.site_name": lambda: "needed by the APEL format",
    "accounting.cloud_compute_service": lambda: "needed by the APEL format",
    "accounting.cloud_type": lambda: "the backend's name",
    "export.s3_endpoint_url": lambda: "no s3:// targets",
    "export.s3_access_key_id": lambda: "the usual boto3 sources (environment, profile)",
    "export.s3_secret_access_key": lambda: "the usual boto3 sources (environment, profile)",
    "export.ca_file": lambda: "the system's CA certificates",
    "export.glance_sites_file": lambda: "no glance:// targets",
}


def _same_host(first: str, second: str) -> bool:
    """Whether two listen addresses may be the same socket (every interface overlaps all)."""
    every = ("0.0.0.0", "::", "")
    return first == second or first in every or second in every


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Raw:
    """One setting as found, before conversion: the value and where it came from."""

    value: Any
    where: str
    #: Whether `value` is text to be parsed (environment, command line) rather than a
    #: typed value (TOML, JSON).
    textual: bool
    #: What relative paths are relative to (a file's directory); None: the cwd.
    base_dir: Path | None


class _Builder:
    """Collects settings layer by layer, then converts and validates them at once."""

    def __init__(self) -> None:
        self.values: dict[str, _Raw] = {}
        self.backend_settings: dict[str, Any] = {}

    def add_document(self, data: Mapping[str, Any], *, where: str, base_dir: Path | None) -> None:
        """Add the settings of a parsed TOML file or JSON document."""
        for key, value in data.items():
            if key in _SECTIONS:
                if not isinstance(value, Mapping):
                    raise ConfigError(
                        f"{key}: expected a table ([{key}]), got {_describe(value)} ({where})"
                    )
                known = [f.name for f in dataclasses.fields(_SECTIONS[key])]
                for sub_key, sub_value in value.items():
                    if sub_key not in known:
                        raise _unknown_key(f"{key}.{sub_key}", sub_key, known, where)
                    self.values[f"{key}.{sub_key}"] = _Raw(sub_value, where, False, base_dir)
            elif key == "backend_settings":
                if not isinstance(value, Mapping):
                    raise ConfigError(
                        f"backend_settings: expected a table ([backend_settings]), "
                        f"got {_describe(value)} ({where})"
                    )
                for name, setting in value.items():
                    _check_setting(f"backend_settings.{name}", setting, where)
                    self.backend_settings[name] = setting
            elif key in _TOP_LEVEL_KEYS:
                self.values[key] = _Raw(value, where, False, base_dir)
            else:
                raise _unknown_key(key, key, _FILE_KEYS, where)

    def add_environment(self, environ: Mapping[str, str]) -> None:
        """Add the ``PYOCCI_*`` environment variables that name settings."""
        for name in sorted(environ):
            if not name.startswith(ENV_PREFIX) or name in (CONFIG_ENV, CONFIG_JSON_ENV):
                continue
            text = environ[name]
            key = name[len(ENV_PREFIX) :].lower()
            where = f"from environment variable {name}"
            if key in _TOP_LEVEL_KEYS:
                self.values[key] = _Raw(text, where, True, None)
                continue
            if key.startswith("backend_settings_") and len(key) > len("backend_settings_"):
                setting = key[len("backend_settings_") :]
                self.backend_settings[setting] = _parse_setting(text)
                continue
            for section, section_type in _SECTIONS.items():
                if key.startswith(section + "_"):
                    sub_key = key[len(section) + 1 :]
                    known = [f.name for f in dataclasses.fields(section_type)]
                    if sub_key not in known:
                        raise _unknown_key(f"{section}.{sub_key}", sub_key, known, where)
                    self.values[f"{section}.{sub_key}"] = _Raw(text, where, True, None)
                    break
            # Other PYOCCI_* names are left alone on purpose: they may belong to the
            # client or to tools around the server, which must not stop it starting.

    def add_overrides(self, overrides: Mapping[str, str]) -> None:
        """Add command-line options, keyed by dotted setting name, as text."""
        for key, text in overrides.items():
            section, _, sub_key = key.rpartition(".")
            if section and section not in _SECTIONS:
                raise _unknown_key(key, section, _SECTIONS, "on the command line")
            if section:
                known = [f.name for f in dataclasses.fields(_SECTIONS[section])]
                if sub_key not in known:
                    raise _unknown_key(key, sub_key, known, "on the command line")
            elif key not in _TOP_LEVEL_KEYS:
                raise _unknown_key(key, key, _TOP_LEVEL_KEYS, "on the command line")
            option = "--" + key.replace(".", "-").replace("_", "-")
            self.values[key] = _Raw(text, f"from command-line option {option}", True, None)

    def build(self, *, config_file: Path | None) -> ServerConfig:
        """Convert and check every collected setting; build the configuration."""
        top = self._convert_fields(ServerConfig, "", _TOP_LEVEL_KEYS)
        sections = {
            section: section_type(
                **self._convert_fields(
                    section_type,
                    section + ".",
                    [f.name for f in dataclasses.fields(section_type)],
                )
            )
            for section, section_type in _SECTIONS.items()
        }
        return ServerConfig(
            **top,
            **sections,
            backend_settings=dict(self.backend_settings),
            config_file=config_file,
        )

    def _convert_fields(self, cls: type, prefix: str, names: typing.Iterable[str]) -> dict:
        hints = typing.get_type_hints(cls)
        fields_by_name = {f.name: f for f in dataclasses.fields(cls)}
        converted: dict[str, Any] = {}
        for name in names:
            key = prefix + name
            raw = self.values.get(key)
            if raw is None:
                continue
            value = _convert(key, raw, hints[name])
            check = fields_by_name[name].metadata.get("check")
            expected = check(value) if check is not None else None
            if expected is not None:
                raise ConfigError(f"{key}: expected {expected}, got {value!r} ({raw.where})")
            converted[name] = value
        return converted


def _unknown_key(key: str, name: str, known: typing.Iterable[str], where: str) -> ConfigError:
    known = list(known)
    message = f"unknown setting {key!r} ({where})"
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    else:
        message += "; expected one of: " + ", ".join(known)
    return ConfigError(message)


def _describe(value: Any) -> str:
    """A value as a user would name it in their file: 'the string "x"', 'a table'."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


_EXPECTED_TYPE = {
    int: "an integer",
    float: "a number",
    bool: "true or false",
    str: "a string",
    Path: "a file path (a string)",
}

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _convert(key: str, raw: _Raw, hint: Any) -> Any:
    """Turn a raw setting into a value of the field's type, or raise ConfigError."""
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else ()
    optional = type(None) in args
    base = next((arg for arg in args if arg is not type(None)), hint) if args else hint
    expected = _EXPECTED_TYPE[base] + (" (or empty, for the default)" if optional else "")
    value = raw.value

    def wrong() -> ConfigError:
        shown = repr(value) if raw.textual else _describe(value)
        return ConfigError(f"{key}: expected {expected}, got {shown} ({raw.where})")

    if raw.textual:
        text = value.strip()
        if optional and not text:
            return None
        if base is int:
            try:
                return int(text, 10)
            except ValueError:
                raise wrong() from None
        if base is float:
            try:
                number = float(text)
            except ValueError:
                raise wrong() from None
            if not math.isfinite(number):
                raise wrong()
            return number
        if base is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise wrong()
        if base is Path:
            return _path(text, None)
        return value

    if value is None and optional:
        return None
    if base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise wrong()
    if base is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise wrong()
            return float(value)
        raise wrong()
    if base is bool:
        if isinstance(value, bool):
            return value
        raise wrong()
    if not isinstance(value, str):
        raise wrong()
    if optional and not value.strip():
        return None
    if base is Path:
        return _path(value, raw.base_dir)
    return value


def _path(text: str, base_dir: Path | None) -> Path:
    """A path from a setting: ``~`` expanded, relative to the file that named it (or the cwd).

    Made absolute here because workers must find the same file whatever their cwd.
    """
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = (base_dir if base_dir is not None else Path.cwd()) / path
    return path


_TOML_SCALARS = (str, int, float, bool)


def _check_setting(key: str, value: Any, where: str) -> None:
    """Backend settings must survive the JSON trip to the workers: no dates or times."""
    if isinstance(value, datetime.date | datetime.time):
        raise ConfigError(
            f"{key}: dates and times are not supported in backend settings; "
            f"write them as strings ({where})"
        )
    if isinstance(value, Mapping):
        for name, item in value.items():
            _check_setting(f"{key}.{name}", item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_setting(f"{key}[{index}]", item, where)
    elif value is not None and not isinstance(value, _TOML_SCALARS):
        raise ConfigError(f"{key}: unsupported value {_describe(value)} ({where})")


def _parse_setting(text: str) -> Any:
    """A backend setting from the environment: a TOML value if it is one, else the text.

    ``5`` is the number 5, ``true`` a boolean, ``["a", "b"]`` an array; anything
    that is not a TOML value (``eu-west-1``) is the string as written. Quote a value
    to force a string: ``'"12345"'``.
    """
    try:
        value = tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text
    if isinstance(value, datetime.date | datetime.time):
        return text
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(item) for item in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def find_config_file(
    path: Path | None = None, environ: Mapping[str, str] = os.environ
) -> tuple[Path | None, str]:
    """The configuration file to read and how it was chosen (for messages).

    An explicit file (`path`, then ``$PYOCCI_CONFIG``) must exist; the default one
    is read only when it exists, else the first item is None.
    """
    if path is not None:
        return Path(path).expanduser(), "named by --config"
    named = environ.get(CONFIG_ENV, "").strip()
    if named:
        return Path(named).expanduser(), f"named by {CONFIG_ENV}"
    default = default_config_file()
    return (default if default.is_file() else None), "the default configuration file"


def _read_toml(path: Path, source: str) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} ({source}) does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"configuration file {path} ({source}) is a directory") from None
    except OSError as error:
        raise ConfigError(
            f"cannot read configuration file {path} ({source}): {error.strerror}"
        ) from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"configuration file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"configuration file {path} is not valid TOML: {error}") from None


def load_config(
    path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    *,
    overrides: Mapping[str, str] | None = None,
) -> ServerConfig:
    """The effective configuration: defaults, the TOML file, the environment, `overrides`.

    `path` is the file named by ``--config``; without it ``$PYOCCI_CONFIG``, then the
    default file in the user configuration directory if it exists. `overrides` maps
    dotted keys (``port``, ``limits.max_body_bytes``) to command-line text, typed
    and checked like environment variables. Raises ConfigError for any mistake.
    """
    builder = _Builder()
    config_file, source = find_config_file(path, environ)
    if config_file is not None:
        document = _read_toml(config_file, source)
        config_file = config_file.absolute()
        builder.add_document(document, where=f"in {config_file}", base_dir=config_file.parent)
    builder.add_environment(environ)
    if overrides:
        builder.add_overrides(overrides)
    return builder.build(config_file=config_file)


def config_from_environment(environ: Mapping[str, str] = os.environ) -> ServerConfig:
    """The configuration a worker process serves: ``PYOCCI_CONFIG_JSON`` as handed over
    by ``occi-server``, else (an app started by another ASGI runner) `load_config`."""
    handed_over = environ.get(CONFIG_JSON_ENV)
    if handed_over:
        return ServerConfig.from_json(handed_over)
    return load_config(environ=environ)


# --- writing TOML -------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
_SECRET_KEY = re.compile(r"password|passwd|secret|token|credential|private_key", re.IGNORECASE)
_MASK = "***"


def redact_url(url: str) -> str:
    """A URL with the password of its user info replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    user_info, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in user_info:
        return url
    user = user_info.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{_MASK}@{host}"))


def _redact_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    redacted: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, Mapping):
            redacted[key] = _redact_settings(value)
        elif isinstance(value, list | tuple):
            redacted[key] = [
                _redact_settings(item) if isinstance(item, Mapping) else item for item in value
            ]
        elif _SECRET_KEY.search(key) and value is not None:
            redacted[key] = _MASK
        elif isinstance(value, str) and "://" in value:
            redacted[key] = redact_url(value)
        else:
            redacted[key] = value
    return redacted


def toml_key(key: str) -> str:
    """A TOML key: bare when it can be, quoted otherwise."""
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def toml_value(value: Any) -> str:
    """A Python value written as a TOML value (tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str | Path):
        return _toml_string(str(value))
    if isinstance(value, Mapping):
        items = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_line(key: str, value: Any, note: Callable[[], str] | None) -> str:
    if value is None:
        return f"# {key} is not set" + (f": {note()}" if note else "")
    return f"{toml_key(key)} = {toml_value(value)}"


def _toml_table(name: str, table: Mapping[str, Any]) -> list[str]:
    """A table as ``[name]`` with its scalars, then each sub-table as its own section."""
    lines = [f"[{name}]"]
    sub_tables = []
    for key, value in table.items():
        if isinstance(value, Mapping):
            sub_tables.append((key, value))
        elif value is not None:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, value in sub_tables:
        lines.append("")
        lines.extend(_toml_table(f"{name}.{toml_key(key)}", value))
    return lines
