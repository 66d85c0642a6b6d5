"""Options every command takes, before or after the command name.

``occi -o json list compute`` and ``occi list compute -o json`` mean the
same: the options are declared on the group and on each command, and their
values land in one `Settings` (a command's own value wins).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from pyocci.client.auth import AUTH_METHODS

OUTPUTS = ("table", "json", "yaml", "plain", "uri-list")
RENDERINGS = ("json", "text", "occi")

_KEY = "occi.settings"

F = TypeVar("F", bound=Callable[..., Any])


def settings(ctx: click.Context) -> dict[str, Any]:
    """The global options given so far, by name (absent when not given)."""
    return ctx.meta.setdefault(_KEY, {})


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and param.name is not None:
        name = param.name
        # A site named on the command line beats an endpoint from the environment.
        source = ctx.get_parameter_source(name)
        if name in ("endpoint", "site") and source is click.core.ParameterSource.ENVIRONMENT:
            name += "_from_environment"
        settings(ctx)[name] = value
    return value


def _options(with_environment: bool) -> list[Callable[[F], F]]:
    def env(name: str) -> dict[str, Any]:
        return {"envvar": name, "show_envvar": True} if with_environment else {}

    common: dict[str, Any] = {"expose_value": False, "callback": _store, "default": None}
    return [
        click.option(
            "-e",
            "--endpoint",
            metavar="URL",
            help="The OCCI endpoint (default: the local occi-server, http://127.0.0.1:8787).",
            **env("OCCI_ENDPOINT"),
            **common,
        ),
        click.option(
            "-s",
            "--site",
            metavar="NAME",
            help="A site of the sites file, or 'all' for every site.",
            **env("OCCI_SITE"),
            **common,
        ),
        click.option(
            "--sites-file",
            type=click.Path(dir_okay=False),
            help="The sites file (default: sites.toml in the user configuration directory).",
            **env("OCCI_SITES_FILE"),
            **common,
        ),
        click.option(
            "-o",
            "--output",
            type=click.Choice(OUTPUTS),
            help="How to print results (default: table on a terminal, plain otherwise).",
            **env("OCCI_OUTPUT"),
            **common,
        ),
        click.option(
            "-v", "--verbose", is_flag=True, help="Show the raw HTTP exchange on stderr.", **common
        ),
        click.option(
            "--rendering",
            type=click.Choice(RENDERINGS),
            help="Force a rendering: json "
            "(application/occi+json), text (text/plain) or occi (text/occi).",
            **common,
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            help="Seconds to wait for each HTTP answer (default 30).",
            **common,
        ),
        click.option(
            "--auth", type=click.Choice(AUTH_METHODS), help="How to authenticate.", **common
        ),
        click.option("--user", help="User name (basic, keystone).", **common),
        click.option(
            "--password",
            help="Password (basic, keystone); asked for on a terminal when missing.",
            **env("OCCI_PASSWORD"),
            **common,
        ),
        click.option("--token", help="A bearer (token) or Keystone token.", **common),
        click.option(
            "--token-env",
            metavar="VARIABLE",
            help="Environment variable holding the token.",
            **common,
        ),
        click.option(
            "--oidc-account",
            metavar="ACCOUNT",
            help="oidc-agent account to get tokens from.",
            **common,
        ),
        click.option(
            "--cert",
            type=click.Path(dir_okay=False),
            help="Client certificate: PEM, a VOMS proxy, or PKCS#12 (.p12) (x509).",
            **common,
        ),
        click.option(
            "--key", type=click.Path(dir_okay=False), help="Client key PEM (x509).", **common
        ),
        click.option(
            "--cert-password",
            help="Password of a PKCS#12 certificate or an encrypted key; asked for on a "
            "terminal when missing.",
            **env("OCCI_CERT_PASSWORD"),
            **common,
        ),
        click.option("--project", help="Keystone project to scope the token to.", **common),
        click.option(
            "--identity-provider",
            metavar="NAME",
            help="Keystone identity provider to exchange an OIDC token (--token, "
            "--oidc-account) or, with --protocol mapped, the certificate at (keystone).",
            **common,
        ),
        click.option(
            "--protocol",
            metavar="NAME",
            help="Keystone federation protocol (default openid; mapped for certificates).",
            **common,
        ),
        click.option(
            "--ca", type=click.Path(), help="CA bundle or directory to verify the server.", **common
        ),
        click.option(
            "--insecure", is_flag=True, help="Do not verify the server's certificate.", **common
        ),
    ]


def group_options(function: F) -> F:
    """The global options on the ``occi`` group (with their environment variables)."""
    for option in reversed(_options(with_environment=True)):
        function = option(function)
    return function


def command_options(function: F) -> F:
    """The same options on a command, so they may follow the command name."""
    for option in reversed(_options(with_environment=False)):
        function = option(function)
    return function
