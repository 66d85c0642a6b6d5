"""The trusted issuers of method ``oidc``: the issuers file (``[auth] oidc_issuers_file``).

A TOML file with one ``[[issuers]]`` table per OpenID Provider whose tokens
the server takes, each with its mapping rules (``[[issuers.tenants]]``, see
`pyocci.server.auth.oidc_mapping`)::

    [[issuers]]
    issuer = "https://aai.egi.eu/auth/realms/egi"
    audience = "https://occi.example.org"
    client_id = "occi"                 # for opaque tokens (introspection)
    client_secret = "..."

    [[issuers.tenants]]
    claim = "eduperson_entitlement"
    match = '^urn:mace:egi\\.eu:group:(?P<vo>[^:#]+):role=member#aai\\.egi\\.eu$'
    tenant = "{vo}"

`read_issuers_file` reads it; every mistake is a `ConfigError` naming the
file, the issuer and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pyocci.server.auth.oidc_mapping import TenantRule, parse_rules
from pyocci.server.config import ConfigError

__all__ = ["TrustedIssuer", "parse_issuers", "read_issuers_file"]

_ISSUER_KEYS = (
    "issuer",
    "audience",
    "jwks_uri",
    "introspection_endpoint",
    "client_id",
    "client_secret",
    "user_claim",
    "tenants",
)


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """One OpenID Provider whose tokens are accepted, and how they map to tenants."""

    #: The ``iss`` claim of its tokens, exactly (also where discovery is read from).
    issuer: str
    #: Audiences a token must name (one of them) in ``aud``.
    audiences: tuple[str, ...]
    #: Its tokens' tenants: the first rule that maps a token decides.
    rules: tuple[TenantRule, ...]
    #: The claim naming the user, for the log.
    user_claim: str = "sub"
    #: Where its keys are; None: from its discovery document.
    jwks_uri: str | None = None
    #: Its RFC 7662 endpoint; None: from its discovery document.
    introspection_endpoint: str | None = None
    #: The credentials occi-server introspects opaque tokens with; without them
    #: this issuer's opaque tokens are refused (its JWTs are still checked).
    client_id: str | None = None
    client_secret: str | None = None

    @property
    def introspects(self) -> bool:
        """Whether opaque tokens are sent to this issuer for introspection."""
        return self.client_id is not None


def read_issuers_file(path: Path) -> tuple[TrustedIssuer, ...]:
    """The trusted issuers of an issuers file; ConfigError when it is unreadable or wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"auth.oidc_issuers_file: {path} does not exist; it lists the trusted OpenID "
            f"Providers (see docs/auth.md)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"auth.oidc_issuers_file: cannot read {path}: {error}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"auth.oidc_issuers_file: {path} is not valid TOML: {error}") from None
    return parse_issuers(document, where=str(path))


def parse_issuers(document: Mapping[str, Any], *, where: str) -> tuple[TrustedIssuer, ...]:
    """The trusted issuers of a parsed issuers file (`where` names it in messages)."""
    unknown = sorted(set(document) - {"issuers"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; expected [[issuers]] tables")
    tables = document.get("issuers")
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{where}: no [[issuers]] table: name at least one trusted issuer")
    issuers = []
    for index, table in enumerate(tables):
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: issuers[{index}] must be a table ([[issuers]])")
        issuers.append(_issuer(table, f"{where}, issuers[{index}]"))
    seen: set[str] = set()
    for issuer in issuers:
        if issuer.issuer in seen:
            raise ConfigError(f"{where}: issuer {issuer.issuer!r} is listed twice")
        seen.add(issuer.issuer)
    return tuple(issuers)


def _issuer(table: Mapping[str, Any], where: str) -> TrustedIssuer:
    unknown = sorted(set(table) - set(_ISSUER_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; expected one of {', '.join(_ISSUER_KEYS)}"
        )
    issuer = _url(table, "issuer", where, required=True)
    assert issuer is not None
    where = f"{where} ({issuer})"
    audience = table.get("audience")
    if isinstance(audience, str):
        audience = [audience]
    if (
        not isinstance(audience, list)
        or not audience
        or not all(isinstance(item, str) and item for item in audience)
    ):
        raise ConfigError(
            f"{where}: audience: expected the audience (a string, or a list of strings) "
            f"this server's tokens carry in 'aud'"
        )
    client_id = _string(table, "client_id", where)
    client_secret = _string(table, "client_secret", where)
    if (client_id is None) != (client_secret is None):
        raise ConfigError(
            f"{where}: client_id and client_secret go together: the credentials occi-server "
            f"introspects opaque tokens with"
        )
    rules = parse_rules(table.get("tenants"), where, table="issuers.tenants")
    return TrustedIssuer(
        issuer=issuer,
        audiences=tuple(audience),
        rules=rules,
        user_claim=_string(table, "user_claim", where) or "sub",
        jwks_uri=_url(table, "jwks_uri", where),
        introspection_endpoint=_url(table, "introspection_endpoint", where),
        client_id=client_id,
        client_secret=client_secret,
    )


def _string(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key}: expected a non-empty string, got {value!r}")
    return value


def _url(table: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = _string(table, key, where)
    if value is None:
        if required:
            raise ConfigError(f"{where}: {key} is required (the provider's issuer URL)")
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(f"{where}: {key}: expected an http(s) URL, got {value!r}")
    return value
