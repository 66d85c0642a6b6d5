"""``occi-server``: serve OCCI, manage the users of basic authentication, show the configuration.

    occi-server [--config PATH] [--host H] [--port P] [--workers N] [--backend NAME]
                [--database-url URL] [--server uvicorn|granian] [--log-level LEVEL]
                [--log-format text|json] [--metrics-port PORT]
    occi-server user add NAME --tenant T [--users-file PATH] [--password-stdin | --token]
                [--replace]
    occi-server user remove NAME [--users-file PATH]
    occi-server user list [--users-file PATH]
    occi-server config show
    occi-server tokens revoke

Options override the environment, which overrides the configuration file
(see ``docs/server-config.md``). Operator mistakes - a bad option, a wrong
setting, an unreadable file - end with one line on stderr and exit status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import importlib.util
import logging
import os
import shutil
import ssl
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from pyocci import __version__
from pyocci.server.auth import (
    SigningKeyFile,
    User,
    check_tenant_id,
    check_user_name,
    generate_token,
    hash_password,
    hash_token,
    read_users_file,
    write_users_file,
)
from pyocci.server.backends import check_backend
from pyocci.server.config import (
    CONFIG_JSON_ENV,
    MULTIPROCESS_ENV,
    ConfigError,
    ServerConfig,
    load_config,
    redact_url,
    user_data_dir,
)
from pyocci.server.listening import listen_problem
from pyocci.server.open_files import connection_cap, raise_open_files_limit

__all__ = ["APP_FACTORY", "main"]

#: The ASGI app factory every worker process calls; it reads ``PYOCCI_CONFIG_JSON``.
APP_FACTORY = "pyocci.server.app:create_app_from_environment"
#: granian has no proxy_headers option, no URL limit and no body deadline: this
#: factory adds them (see `pyocci.server.granian_app`).
GRANIAN_APP_FACTORY = "pyocci.server.granian_app:create_guarded_app_from_environment"

PROG = "occi-server"
EXIT_USAGE = 2

# Serving options and the settings they override.
_SERVE_OPTIONS = {
    "host": "host",
    "port": "port",
    "workers": "workers",
    "backend": "backend",
    "database_url": "database_url",
    "server": "server",
    "log_level": "log_level",
    "log_format": "log_format",
    "metrics_port": "metrics.port",
}


class CommandError(Exception):
    """An operator mistake the command reports in one line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, reported by `main`."""

    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{message} (see '{self.prog} --help')")


def _add_config_option(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Accepted before and after the subcommand; SUPPRESS keeps a subcommand's
    # absent option from overwriting the one given before it.
    parser.add_argument(
        "--config",
        metavar="PATH",
        type=Path,
        default=None if top else argparse.SUPPRESS,
        help="the TOML configuration file (default: $PYOCCI_CONFIG, else "
        "server.toml in the user configuration directory if it exists)",
    )


def _add_users_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--users-file",
        metavar="PATH",
        type=Path,
        help="the users file (default: [auth] users_file of the configuration)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``occi-server``."""
    parser = _Parser(
        prog=PROG,
        description="Serve the OCCI 1.2 HTTP protocol in front of a cloud "
        "(by default an embedded simulated cloud).",
        epilog="Without a command, serves. Options override PYOCCI_* environment "
        "variables, which override the configuration file.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_config_option(parser, top=True)
    serving = parser.add_argument_group("serving")
    serving.add_argument("--host", help="the address to listen on (default 127.0.0.1)")
    serving.add_argument("--port", help="the TCP port to listen on (default 8787)")
    serving.add_argument("--workers", metavar="N", help="worker processes (default 1)")
    serving.add_argument("--backend", metavar="NAME", help="the backend (default sim)")
    serving.add_argument(
        "--database-url",
        metavar="URL",
        help="the store's SQLAlchemy URL (default: a SQLite file in the user data directory)",
    )
    serving.add_argument(
        "--server", metavar="{uvicorn,granian}", help="the ASGI server (default uvicorn)"
    )
    serving.add_argument(
        "--log-level",
        metavar="LEVEL",
        help="critical, error, warning, info (default), debug or trace",
    )
    serving.add_argument(
        "--log-format", metavar="{text,json}", help="text (default) or json: one object per line"
    )
    serving.add_argument(
        "--metrics-port",
        metavar="PORT",
        help="collect metrics and serve /metrics on this port of [metrics] address "
        "(default 127.0.0.1)",
    )
    parser.set_defaults(handler=_serve)

    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    user = commands.add_parser(
        "user", help="manage the users of HTTP basic and bearer-token authentication"
    )
    _add_config_option(user, top=False)
    user_commands = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    add = user_commands.add_parser("add", help="add a user (or, with --replace, change one)")
    add.add_argument("name", help="the user name")
    add.add_argument("--tenant", required=True, help="the tenant the user acts for")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of asking",
    )
    secret.add_argument(
        "--token",
        action="store_true",
        help="generate a bearer token (method token) instead of setting a password; "
        "it is printed once and only its hash is stored",
    )
    add.add_argument(
        "--replace",
        action="store_true",
        help="change the tenant and the password (or, with --token, the token) of an "
        "existing user, keeping the other",
    )
    _add_users_file_option(add)
    _add_config_option(add, top=False)
    add.set_defaults(handler=_user_add)

    remove = user_commands.add_parser("remove", help="remove a user")
    remove.add_argument("name", help="the user name")
    _add_users_file_option(remove)
    _add_config_option(remove, top=False)
    remove.set_defaults(handler=_user_remove)

    listing = user_commands.add_parser("list", help="list the users and their tenants")
    _add_users_file_option(listing)
    _add_config_option(listing, top=False)
    listing.set_defaults(handler=_user_list)

    config = commands.add_parser("config", help="show the effective configuration")
    _add_config_option(config, top=False)
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = config_commands.add_parser(
        "show", help="print the effective configuration as TOML (passwords masked)"
    )
    _add_config_option(show, top=False)
    show.set_defaults(handler=_config_show)

    tokens = commands.add_parser(
        "tokens", help="the tokens of the Keystone-like handshake ([auth] keystone_handshake)"
    )
    _add_config_option(tokens, top=False)
    token_commands = tokens.add_subparsers(dest="tokens_command", metavar="ACTION", required=True)
    revoke = token_commands.add_parser(
        "revoke",
        help="revoke every token the handshake issued, by replacing its signing key "
        "([auth] handshake_key_file); running servers notice within a second",
    )
    _add_config_option(revoke, top=False)
    revoke.set_defaults(handler=_tokens_revoke)

    accounting = commands.add_parser("accounting", help="usage records of computes")
    _add_config_option(accounting, top=False)
    accounting_commands = accounting.add_subparsers(
        dest="accounting_command", metavar="ACTION", required=True
    )
    export = accounting_commands.add_parser(
        "export",
        help="write the usage records of a period to standard output (APEL cloud v0.4 or JSON)",
    )
    export.add_argument(
        "--since",
        required=True,
        help="the period's start: ISO 8601 date or date and time (UTC unless it says), "
        "or seconds since the epoch",
    )
    export.add_argument("--until", help="the period's end, excluded (default: now)")
    export.add_argument(
        "--format", choices=("apel", "json"), default="apel", help="apel (default) or json"
    )
    _add_config_option(export, top=False)
    export.set_defaults(handler=_accounting_export)
    return parser


def _effective_config(args: argparse.Namespace) -> ServerConfig:
    overrides = {
        key: getattr(args, option)
        for option, key in _SERVE_OPTIONS.items()
        if getattr(args, option, None) is not None
    }
    if "metrics.port" in overrides:
        # A port to serve metrics on is asking for metrics.
        overrides["metrics.enabled"] = "true"
    return load_config(args.config, os.environ, overrides=overrides)


# --- serving -----------------------------------------------------------------------------------


def _listen_url(config: ServerConfig) -> str:
    host = f"[{config.host}]" if ":" in config.host else config.host
    scheme = "https" if config.tls.enabled else "http"
    return f"{scheme}://{host}:{config.port}/"


def describe_serving(config: ServerConfig) -> str:
    """The one line ``occi-server`` prints when it starts (passwords masked)."""
    if config.database_url is None:
        database = f"SQLite in {user_data_dir()}"
    else:
        database = redact_url(config.database_url)
    public = f" (public URL {config.base_url})" if config.base_url else ""
    workers = f"{config.workers} worker" + ("s" if config.workers != 1 else "")
    return (
        f"{PROG} {__version__}: serving OCCI 1.2 at {_listen_url(config)}{public} "
        f"with backend {config.backend!r}, database {database}, auth {config.auth.method!r}, "
        f"{workers} on {config.server}{_client_certificates(config)}{_metrics_at(config)}"
    )


def _metrics_at(config: ServerConfig) -> str:
    metrics = config.metrics
    if not metrics.enabled:
        return ""
    if metrics.port is None:
        return f", metrics at {_listen_url(config)}metrics (with the token)"
    host = f"[{metrics.address}]" if ":" in metrics.address else metrics.address
    return f", metrics at http://{host}:{metrics.port}/metrics"


def _client_certificates(config: ServerConfig) -> str:
    if config.tls.client_ca is None:
        return ""
    wanted = "required" if config.tls.require_client_certificate else "optional"
    return f", client certificates {wanted}"


def _serve(args: argparse.Namespace) -> int:
    config = _effective_config(args)
    if importlib.util.find_spec("pyocci.server.app") is None:
        raise CommandError("the HTTP app (pyocci.server.app) is not installed")
    runner = _run_granian if config.server == "granian" else _run_uvicorn
    if config.server == "granian" and importlib.util.find_spec("granian") is None:
        raise CommandError(
            "granian is not installed: install it (pip install granian) or use --server uvicorn"
        )
    _check_tls_files(config)
    # A busy port is one clear line here, not a line among uvicorn's or a Rust backtrace.
    problem = listen_problem(config.host, config.port)
    if problem is not None:
        raise CommandError(problem)
    # A wrong backend setting is one clear line here, not a traceback from each
    # worker's startup.
    check_backend(config)
    if config.auth.keystone_handshake:
        # Created (or read) here, so that a wrong path is one line rather than a
        # traceback from each worker, and so that the workers share one key.
        SigningKeyFile(config.auth.effective_handshake_key_file).current()
    # Workers are separate processes and inherit the environment: this is how
    # every one of them serves exactly the configuration resolved here.
    os.environ[CONFIG_JSON_ENV] = config.to_json()
    with _metrics_collected(config):
        print(describe_serving(config), flush=True)
        _make_room_for_connections(config)
        runner(config)
    return 0


@contextlib.contextmanager
def _metrics_collected(config: ServerConfig) -> Iterator[None]:
    """With metrics on, every process (workers, and this one) keeps its values in files of
    one directory, which any of them reads whole for a scrape; and with ``[metrics]
    port``, this process serves them on a listener of its own."""
    if not config.metrics.enabled:
        yield
        return
    given = os.environ.get(MULTIPROCESS_ENV)
    if given:
        # The operator's directory: the files of an earlier run would add to this one's.
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="pyocci-metrics-"))
        # Before anything imports prometheus-client: it decides at import.
        os.environ[MULTIPROCESS_ENV] = str(directory)
    listener = None
    try:
        if config.metrics.port is not None:
            from pyocci.server.metrics_listener import MetricsListener

            metrics = config.metrics
            try:
                listener = MetricsListener(metrics.address, metrics.port, metrics.token)
            except OSError as error:
                raise CommandError(
                    f"cannot serve metrics on {metrics.address} port {metrics.port}: "
                    f"{error.strerror or error}; choose another with --metrics-port or "
                    "[metrics] port"
                ) from None
            listener.start()
        yield
    finally:
        if listener is not None:
            listener.stop()
        if not given:
            del os.environ[MULTIPROCESS_ENV]
            shutil.rmtree(directory, ignore_errors=True)


def _make_room_for_connections(config: ServerConfig) -> None:
    """Raise the open-files limit the workers inherit to what ``limits.max_connections``
    needs; say so when the hard limit holds fewer (the workers then cap lower)."""
    wanted = config.limits.max_connections
    cap = raise_open_files_limit(wanted)
    if cap < wanted:
        print(
            f"{PROG}: note: the open-files limit (ulimit -n) leaves room for {cap} connections "
            f"per worker, fewer than limits.max_connections = {wanted}",
            file=sys.stderr,
            flush=True,
        )


def _check_tls_files(config: ServerConfig) -> None:
    """Load the TLS files once here, so that a wrong one is one clear line, not a
    traceback from the ASGI server."""
    tls = config.tls
    if not tls.enabled:
        return
    for name in ("certificate", "key", "client_ca"):
        path = getattr(tls, name)
        if path is not None and not Path(path).is_file():
            raise CommandError(f"tls.{name}: {path} does not exist or is not a file")
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls.certificate), str(tls.key) if tls.key else None, "")
        if tls.client_ca is not None:
            context.load_verify_locations(cafile=str(tls.client_ca))
    except ssl.SSLError as error:
        raise CommandError(
            f"cannot use the TLS files of [tls]: {error.reason or error}; check that "
            f"certificate and key are PEM, match, and that the key is not encrypted"
        ) from None


def _uvicorn_tls(config: ServerConfig) -> dict[str, Any]:
    tls = config.tls
    if not tls.enabled:
        return {}
    if tls.client_ca is None:
        requirement = ssl.CERT_NONE
    elif tls.require_client_certificate:
        requirement = ssl.CERT_REQUIRED
    else:
        requirement = ssl.CERT_OPTIONAL
    return {
        "ssl_certfile": str(tls.certificate),
        "ssl_keyfile": str(tls.key) if tls.key else None,
        "ssl_ca_certs": str(tls.client_ca) if tls.client_ca else None,
        "ssl_cert_reqs": requirement,
        "ssl_context_factory": accept_proxy_certificates,
    }


def accept_proxy_certificates(config: Any, default: Any) -> ssl.SSLContext:
    """uvicorn's TLS context, also accepting RFC 3820 proxy certificates (VOMS proxies).

    Grid users authenticate with a short-lived proxy signed by their own certificate;
    OpenSSL refuses such chains unless told to accept them.
    """
    context: ssl.SSLContext = default()
    context.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS
    return context


def _run_uvicorn(config: ServerConfig) -> None:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from pyocci.server.logs import logging_config
    from pyocci.server.uvicorn_protocol import LimitedHttpToolsProtocol

    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        log_level=config.log_level,
        # pyocci's loggers and format, applied in every worker; pyocci writes the
        # access log itself (with request ids and tenants), so uvicorn's is off.
        log_config=logging_config(config.log_format, config.log_level, LOGGING_CONFIG),
        access_log=False,
        # uvicorn's httptools protocol with the limits of [limits]: head size, header
        # and body deadlines, open connections (it reads them in each worker).
        http=LimitedHttpToolsProtocol,
        timeout_keep_alive=config.limits.keep_alive_timeout,  # type: ignore[arg-type]
        # The app sends its own `Server: pyocci/<v> OCCI/1.2`.
        server_header=False,
        proxy_headers=True,
        **_uvicorn_tls(config),
    )


def _run_granian(config: ServerConfig) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LOGGING_CONFIG, LogLevels

    from pyocci.server.logs import logging_config

    # granian has no "trace" level; debug is the closest.
    level = "debug" if config.log_level == "trace" else config.log_level
    limits = config.limits
    tls = config.tls
    # granian's TLS (rustls) verifies client certificates but, unlike OpenSSL, never
    # accepts RFC 3820 proxy certificates: VOMS proxy users need uvicorn.
    tls_options: dict[str, Any] = {}
    if tls.enabled:
        tls_options = {
            "ssl_cert": Path(tls.certificate) if tls.certificate else None,
            "ssl_key": Path(tls.key if tls.key else tls.certificate) if tls.certificate else None,
            "ssl_ca": Path(tls.client_ca) if tls.client_ca else None,
            "ssl_client_verify": tls.require_client_certificate,
        }
    Granian(
        GRANIAN_APP_FACTORY,
        factory=True,
        interface=Interfaces.ASGI,
        address=config.host,
        port=config.port,
        workers=config.workers,
        log_level=LogLevels(level),
        # pyocci's loggers and format, applied in every worker; the access log is pyocci's.
        log_dictconfig=logging_config(config.log_format, config.log_level, LOGGING_CONFIG),
        log_access=False,
        # Connections past the cap wait in the listen backlog (granian has no refusal).
        backpressure=connection_cap(limits.max_connections),
        http1_settings=HTTP1Settings(
            # granian's read buffer bounds request line plus headers; below 8 KiB it refuses.
            max_buffer_size=max(8192, limits.server_header_limit),
            # The time to read a head once its first byte came, and the idle time
            # between requests: granian has one setting for both.
            header_read_timeout=max(1, round(limits.header_timeout * 1000)),
            keep_alive=limits.keep_alive_timeout > 0,
        ),
        **tls_options,
    ).serve()


# --- users -------------------------------------------------------------------------------------


def _users_file(args: argparse.Namespace) -> tuple[Path, ServerConfig]:
    config = _effective_config(args)
    path = args.users_file if args.users_file is not None else config.auth.effective_users_file
    return Path(path).expanduser(), config


def _read_password(args: argparse.Namespace, name: str) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise CommandError("no password on standard input (--password-stdin)")
        return password
    try:
        password = getpass.getpass(f"Password for {name}: ")
        again = getpass.getpass("Repeat the password: ")
    except EOFError:
        raise CommandError("no password given") from None
    if not password:
        raise CommandError("the password cannot be empty")
    if password != again:
        raise CommandError("the two passwords differ; nothing changed")
    return password


def _user_add(args: argparse.Namespace) -> int:
    problem = check_user_name(args.name) or check_tenant_id(args.tenant)
    if problem:
        raise CommandError(problem)
    path, config = _users_file(args)
    users = read_users_file(path)
    if args.name in users and not args.replace:
        raise CommandError(
            f"user {args.name!r} already exists in {path}; use --replace to change it"
        )
    existing = users.get(args.name)
    verb = "changed" if existing is not None else "added"
    if args.token:
        token = generate_token()
        password_hash = existing.password_hash if existing is not None else None
        users[args.name] = User(args.name, args.tenant, password_hash, hash_token(token))
        write_users_file(path, users)
        print(f"{verb} user {args.name!r} (tenant {args.tenant!r}) in {path}")
        # The only time the token is shown: only its hash is stored.
        print(f"token: {token}")
        wanted = "token"
    else:
        password = _read_password(args, args.name)
        token_hash = existing.token_hash if existing is not None else None
        users[args.name] = User(args.name, args.tenant, hash_password(password), token_hash)
        write_users_file(path, users)
        print(f"{verb} user {args.name!r} (tenant {args.tenant!r}) in {path}")
        wanted = "basic"
    if config.auth.method != wanted:
        asks = "tokens" if wanted == "token" else "passwords"
        print(
            f'note: auth method is {config.auth.method!r}; set [auth] method = "{wanted}" '
            f"(or PYOCCI_AUTH_METHOD={wanted}) for the server to ask for {asks}",
            file=sys.stderr,
        )
    return 0


def _user_remove(args: argparse.Namespace) -> int:
    path, _config = _users_file(args)
    users = read_users_file(path)
    if args.name not in users:
        raise CommandError(f"no user {args.name!r} in {path}")
    del users[args.name]
    write_users_file(path, users)
    print(f"removed user {args.name!r} from {path}")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    path, _config = _users_file(args)
    users = read_users_file(path)
    if not users:
        print(f"no users in {path}")
        return 0
    width = max(len("USER"), *(len(name) for name in users))
    print(f"{'USER':<{width}}  TENANT")
    for name in sorted(users):
        print(f"{name:<{width}}  {users[name].tenant}")
    return 0


# --- configuration -------------------------------------------------------------------------


def _config_show(args: argparse.Namespace) -> int:
    sys.stdout.write(_effective_config(args).to_toml(redact=True))
    return 0


# --- the handshake's tokens -----------------------------------------------------------------


def _tokens_revoke(args: argparse.Namespace) -> int:
    config = _effective_config(args)
    keys = SigningKeyFile(config.auth.effective_handshake_key_file)
    keys.replace()
    print(
        f"revoked every issued token: a new signing key is in {keys.path} "
        f"(copy it to the other hosts that serve the same tenants, if any)"
    )
    if not config.auth.keystone_handshake:
        print(f"{PROG}: note: [auth] keystone_handshake is off in this configuration")
    return 0


# --- accounting ------------------------------------------------------------------------------


def _accounting_export(args: argparse.Namespace) -> int:
    # Imported here: the other commands need neither the store nor the service.
    from pyocci.server.accounting import ExportError, export, parse_instant

    config = _effective_config(args)
    # The store logs a database incident for a server's operator; here the command's
    # own one-line error says it.
    store_log = logging.getLogger("pyocci.store")
    level = store_log.level
    store_log.setLevel(logging.CRITICAL)
    try:
        since = parse_instant(args.since, "--since")
        until = time.time() if args.until is None else parse_instant(args.until, "--until")
        export(config, since, until, args.format, sys.stdout)
    except ExportError as error:
        raise CommandError(str(error)) from None
    finally:
        store_log.setLevel(level)
    return 0


# --- entry point ---------------------------------------------------------------------------


def _one_line(message: Any) -> str:
    return " ".join(str(message).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``occi-server`` with `argv` (default: the process's arguments); the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.handler(args)
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    except (CommandError, ConfigError) as error:
        message = error.message if isinstance(error, ConfigError) else error
        print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        # Files the command itself reads or writes (the users file, its directory).
        where = f" ({error.filename})" if error.filename else ""
        print(f"{PROG}: error: {_one_line(error.strerror or error)}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
