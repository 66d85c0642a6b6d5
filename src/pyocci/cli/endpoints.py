"""From the global options to clients: which endpoints, with which credentials.

One endpoint normally; every site of the sites file with ``--site all``,
where the command runs on each in parallel (threads) and a failing site
does not stop the others.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import click

from pyocci.cli.sites import SITE_KEYS, Site, SitesError, load_sites
from pyocci.cli.verbose import exchange_hooks
from pyocci.client import Credentials, OcciClient
from pyocci.client.auth import certificate_needs_password
from pyocci.client.discovery import media_type_named

#: Where ``occi`` goes when told nothing: the local occi-server's default address.
DEFAULT_ENDPOINT = "http://127.0.0.1:8787"
DEFAULT_TIMEOUT = 30.0

#: Options and the Credentials field each sets: the command line options have the names
#: of the sites file keys.
CREDENTIAL_FLAGS = {key: name for key, name in SITE_KEYS.items() if name is not None}

#: With no --auth, the method a credential flag implies.
_IMPLIED_METHOD = (
    ("identity_provider", "keystone"),
    ("oidc_account", "oidc"),
    ("certificate", "x509"),
    ("token", "token"),
    ("token_env", "token"),
    ("username", "basic"),
)

T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    """One endpoint to run a command on."""

    site: str | None
    endpoint: str
    credentials: Credentials
    media_type: str | None
    timeout: float
    verbose: bool = False

    @property
    def label(self) -> str:
        """The site name, or the endpoint when no site is involved."""
        return self.site or self.endpoint

    def client(self) -> OcciClient:
        """A client of this endpoint (close it, or use it as a context manager)."""
        hooks = exchange_hooks() if self.verbose else None
        return OcciClient(
            self.endpoint,
            self.credentials,
            media_type=self.media_type,
            timeout=self.timeout,
            event_hooks=hooks,
        )


def targets(options: dict[str, Any], *, interactive: bool = True) -> list[Target]:
    """The endpoints the options name; SitesError or click.UsageError when they are wrong.

    Not `interactive` (shell completion), a missing password is never asked for.
    """
    sites_file = options.get("sites_file")
    path = Path(sites_file).expanduser() if sites_file else None
    site_name = options.get("site") or (
        None if options.get("endpoint") else options.get("site_from_environment")
    )
    endpoint = options.get("endpoint") or (
        None if site_name else options.get("endpoint_from_environment")
    )
    if site_name and endpoint:
        raise click.UsageError("give --endpoint or --site, not both")
    if site_name:
        sites = load_sites(path, required=True)
        chosen = list(sites.sites.values()) if site_name == "all" else [sites.site(site_name)]
        if not chosen:
            raise SitesError(f"{sites.path} names no sites")
    elif endpoint:
        chosen = [Site("", endpoint)]
    else:
        sites = load_sites(path, required=sites_file is not None)
        default = sites.default
        chosen = [sites.site(default)] if default else [Site("", DEFAULT_ENDPOINT)]
    several = len(chosen) > 1
    return [_target(site, options, ask=interactive and not several) for site in chosen]


def _target(site: Site, options: dict[str, Any], *, ask: bool) -> Target:
    values = site.credential_fields()
    for flag, name in CREDENTIAL_FLAGS.items():
        if options.get(flag) not in (None, False):
            values[name] = options[flag]
    if "method" not in values:
        for name, method in _IMPLIED_METHOD:
            if values.get(name):
                values["method"] = method
                break
    if (
        values.get("method") in ("basic", "keystone")
        and values.get("username")
        and not values.get("password")
        and not values.get("token")
        and ask
    ):
        values["password"] = _ask_password(values["username"], site.name or site.endpoint)
    certificate = values.get("certificate")
    if (
        certificate
        and values.get("cert_password") is None
        and ask
        and certificate_needs_password(str(certificate), values.get("key"))
    ):
        values["cert_password"] = _ask_certificate_password(str(certificate))
    known = {field.name for field in fields(Credentials)}
    credentials = Credentials(**{k: v for k, v in values.items() if k in known})
    rendering = options.get("rendering") or site.settings.get("rendering")
    timeout = options.get("timeout") or site.settings.get("timeout") or DEFAULT_TIMEOUT
    return Target(
        site=site.name or None,
        endpoint=site.endpoint,
        credentials=credentials,
        media_type=media_type_named(rendering) if rendering else None,
        timeout=float(timeout),
        verbose=bool(options.get("verbose")),
    )


def _ask_password(user: str, where: str) -> str | None:
    """Ask on the terminal; None (the credentials check then says what to give) elsewhere."""
    if not (sys.stdin.isatty() and os.environ.get("OCCI_NO_PROMPT") != "1"):
        return None
    return click.prompt(f"Password of {user} at {where}", hide_input=True, err=True)


def _ask_certificate_password(certificate: str) -> str | None:
    """Ask on the terminal; None (the credentials check then says what to give) elsewhere."""
    if not (sys.stdin.isatty() and os.environ.get("OCCI_NO_PROMPT") != "1"):
        return None
    return click.prompt(f"Password of the certificate {certificate}", hide_input=True, err=True)


def run_on(
    chosen: list[Target], work: Callable[[Target], T]
) -> list[tuple[Target, T | BaseException]]:
    """Run `work` on every target (in parallel when there are several), keeping failures."""
    if len(chosen) == 1:
        return [(chosen[0], _attempt(work, chosen[0]))]
    with ThreadPoolExecutor(max_workers=min(8, len(chosen))) as pool:
        results = list(pool.map(lambda target: _attempt(work, target), chosen))
    return list(zip(chosen, results, strict=True))


def _attempt(work: Callable[[Target], T], target: Target) -> T | BaseException:
    try:
        return work(target)
    except Exception as error:  # reported per site by the caller
        return error
