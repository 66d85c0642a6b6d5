"""The sites file: named endpoints and how to authenticate to each.

``~/.config/pyocci/sites.toml`` (the user configuration directory), or the
file named by ``--sites-file`` / ``$OCCI_SITES_FILE``::

    default = "local"            # the site used when no --endpoint or --site is given

    [sites.local]
    endpoint = "http://127.0.0.1:8787"

    [sites.physics]
    endpoint = "https://occi.physics.example.org"
    auth = "basic"
    user = "alice"
    password_env = "PHYSICS_PASSWORD"
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

from pyocci.client.auth import AUTH_METHODS
from pyocci.client.discovery import media_type_named
from pyocci.client.transport import normalize_endpoint

#: Site keys and the `Credentials` field each one sets (None: not a credential).
SITE_KEYS: dict[str, str | None] = {
    "endpoint": None,
    "rendering": None,
    "timeout": None,
    "auth": "method",
    "user": "username",
    "password": "password",
    "password_env": None,
    "token": "token",
    "token_env": "token_env",
    "oidc_account": "oidc_account",
    "cert": "certificate",
    "key": "key",
    "cert_password": "cert_password",
    "project": "project",
    "user_domain": "user_domain",
    "identity_provider": "identity_provider",
    "protocol": "protocol",
    "ca": "ca",
    "insecure": "insecure",
}

_BOOLEAN_KEYS = frozenset({"insecure"})
_NUMBER_KEYS = frozenset({"timeout"})


class SitesError(Exception):
    """The sites file is missing, unreadable or wrong; the message says what to fix."""


@dataclass(frozen=True)
class Site:
    """One named endpoint and its settings (the keys of `SITE_KEYS`)."""

    name: str
    endpoint: str
    settings: dict[str, Any] = field(default_factory=dict)

    def credential_fields(self) -> dict[str, Any]:
        """The site's settings as `Credentials` keyword arguments."""
        fields = {
            SITE_KEYS[key]: value
            for key, value in self.settings.items()
            if SITE_KEYS.get(key) is not None
        }
        variable = self.settings.get("password_env")
        if variable and "password" not in fields:
            value = os.environ.get(variable)
            if value is None:
                raise SitesError(
                    f"site {self.name!r}: the environment variable {variable} (password_env) "
                    "is not set"
                )
            fields["password"] = value
        return fields


@dataclass(frozen=True)
class SitesFile:
    """The parsed sites file."""

    path: Path
    sites: dict[str, Site]
    default: str | None = None

    def site(self, name: str) -> Site:
        """The site of this name; SitesError naming the known ones otherwise."""
        site = self.sites.get(name)
        if site is None:
            known = ", ".join(self.sites) or "none"
            raise SitesError(f"no site {name!r} in {self.path} (sites: {known})")
        return site


def default_sites_path() -> Path:
    """``sites.toml`` in the user configuration directory."""
    return Path(user_config_dir("pyocci")) / "sites.toml"


def load_sites(path: Path | None, *, required: bool) -> SitesFile:
    """Read a sites file; a missing default file is an empty one unless `required`."""
    path = path or default_sites_path()
    if not path.exists():
        if required:
            raise SitesError(
                f"no sites file at {path}; create it (see `occi --help` and the CLI guide) "
                "or give --endpoint"
            )
        return SitesFile(path, {})
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SitesError(f"cannot read {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SitesError(f"{path} is not valid TOML: {error}") from None
    return _parse(path, document)


def _parse(path: Path, document: dict[str, Any]) -> SitesFile:
    unknown = set(document) - {"default", "sites"}
    if unknown:
        raise SitesError(
            f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
            'write default = "NAME" and [sites.NAME] tables'
        )
    tables = document.get("sites", {})
    if not isinstance(tables, dict):
        raise SitesError(f"{path}: 'sites' must be a table of [sites.NAME] tables")
    sites = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise SitesError(f"{path}: sites.{name} must be a table")
        sites[name] = _site(path, name, table)
    default = document.get("default")
    if default is not None and default not in sites:
        raise SitesError(f"{path}: default = {default!r} names no [sites.{default}] table")
    return SitesFile(path, sites, default)


def _site(path: Path, name: str, table: dict[str, Any]) -> Site:
    if name == "all":
        raise SitesError(f"{path}: 'all' is reserved (--site all runs on every site)")
    for key, value in table.items():
        if key not in SITE_KEYS:
            close = difflib.get_close_matches(key, SITE_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (keys: {', '.join(SITE_KEYS)})"
            raise SitesError(f"{path}: sites.{name}: unknown key {key!r}{hint}")
        if key in _BOOLEAN_KEYS and not isinstance(value, bool):
            raise SitesError(f"{path}: sites.{name}.{key} must be true or false")
        if key in _NUMBER_KEYS and (
            isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
        ):
            raise SitesError(f"{path}: sites.{name}.{key} must be a positive number of seconds")
        if key not in _BOOLEAN_KEYS | _NUMBER_KEYS and not isinstance(value, str):
            raise SitesError(f"{path}: sites.{name}.{key} must be a string")
    endpoint = table.get("endpoint")
    if not endpoint:
        raise SitesError(f'{path}: sites.{name} needs an endpoint = "https://..."')
    _check_values(path, name, table)
    settings = {key: value for key, value in table.items() if key != "endpoint"}
    return Site(name, endpoint, settings)


def _check_values(path: Path, name: str, table: dict[str, Any]) -> None:
    """The endpoint, auth and rendering of a site, checked where the file can be named."""
    try:
        normalize_endpoint(table["endpoint"])
        if "rendering" in table:
            media_type_named(table["rendering"])
    except ValueError as error:
        raise SitesError(f"{path}: sites.{name}: {error}") from None
    if "auth" in table and table["auth"] not in AUTH_METHODS:
        raise SitesError(
            f"{path}: sites.{name}.auth {table['auth']!r} is not a method; "
            f"use one of: {', '.join(AUTH_METHODS)}"
        )
