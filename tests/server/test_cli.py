"""``occi-server``: option resolution, serving (with the ASGI servers faked), users, errors."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import socket
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyocci import __version__
from pyocci.server import cli
from pyocci.server.auth import read_users_file, verify_password
from pyocci.server.config import CONFIG_JSON_ENV, ServerConfig
from pyocci.server.uvicorn_protocol import LimitedHttpToolsProtocol

pytestmark = pytest.mark.usefixtures("isolated_env")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a command that must fail as an operator mistake: status 2, one line on stderr."""
    status, out, err = run(capsys, *argv)
    assert status == 2, (out, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("occi-server: error: ")
    assert "Traceback" not in err
    return err.removeprefix("occi-server: error: ").rstrip("\n")


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def answers(monkeypatch: pytest.MonkeyPatch, *replies: str | type[BaseException]) -> list[str]:
    """Fake getpass: each prompt gets the next reply (or raises it); the prompts are kept."""
    prompts: list[str] = []
    queue: Iterator[str | type[BaseException]] = iter(replies)

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        reply = next(queue)
        if isinstance(reply, type):
            raise reply()
        return reply

    monkeypatch.setattr(cli.getpass, "getpass", getpass)
    return prompts


# --- help, version, bad arguments ---------------------------------------------------------------


def test_help_in_a_subprocess() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    completed = subprocess.run(
        [sys.executable, "-m", "pyocci.server.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("usage: occi-server")
    for word in ("--config", "--port", "--workers", "--database-url", "--server", "user", "config"):
        assert word in completed.stdout
    assert completed.stderr == ""


def test_bad_option_in_a_subprocess_is_one_line() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    completed = subprocess.run(
        [sys.executable, "-m", "pyocci.server.cli", "--port", "http", "config", "show"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr == (
        "occi-server: error: port: expected an integer, got 'http' "
        "(from command-line option --port)\n"
    )


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "occi-server" in out
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out == f"occi-server {__version__}\n"
    status, out, _ = run(capsys, "user", "add", "--help")
    assert status == 0 and "--password-stdin" in out and "--tenant" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--frobnicate"], "unrecognized arguments: --frobnicate (see 'occi-server --help')"),
        (["serve-me"], "argument COMMAND: invalid choice: 'serve-me'"),
        (["user"], "the following arguments are required: ACTION (see 'occi-server user --help')"),
        (["user", "add", "alice"], "the following arguments are required: --tenant"),
        (["config"], "the following arguments are required: ACTION"),
        (["--port"], "argument --port: expected one argument"),
    ],
)
def test_bad_arguments_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    assert fails(capsys, *argv).startswith(expected)


# --- config show ---------------------------------------------------------------------------------


def test_config_show_defaults(capsys: pytest.CaptureFixture[str], isolated_env: Path) -> None:
    status, out, err = run(capsys, "config", "show")
    assert status == 0 and err == ""
    assert "# No configuration file" in out
    shown = tomllib.loads(out)
    assert shown["host"] == "127.0.0.1"
    assert shown["port"] == 8787
    assert shown["backend"] == "sim"
    assert shown["auth"]["method"] == "none"
    assert shown["limits"]["max_body_bytes"] == 1048576
    assert "base_url" not in shown
    assert f"the default is {isolated_env / 'users.toml'}" in out


def test_options_override_environment_and_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "server.toml"
    path.write_text('port = 9000\nworkers = 3\nhost = "0.0.0.0"\nlog_level = "debug"\n')
    monkeypatch.setenv("PYOCCI_PORT", "9001")
    monkeypatch.setenv("PYOCCI_WORKERS", "4")
    argv = ["--config", str(path), "--port", "9002", "--backend", "other", "config", "show"]
    status, out, _ = run(capsys, *argv)
    assert status == 0
    shown = tomllib.loads(out)
    assert shown["port"] == 9002  # option > environment > file
    assert shown["workers"] == 4  # environment > file
    assert shown["host"] == "0.0.0.0"  # file > default
    assert shown["log_level"] == "debug"
    assert shown["backend"] == "other"
    assert f"# Read from {path}" in out


def test_config_option_after_the_subcommand(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "server.toml"
    path.write_text("port = 9005\n")
    before = ["config", "--config", str(path), "show"]
    after = ["config", "show", "--config", str(path)]
    for argv in (before, after):
        status, out, _ = run(capsys, *argv)
        assert status == 0 and tomllib.loads(out)["port"] == 9005


def test_config_show_never_prints_passwords(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYOCCI_BACKEND_SETTINGS_PASSWORD", "hunter2")
    argv = ["--database-url", "postgresql://occi:s3cret@db/occi", "config", "show"]
    status, out, _ = run(capsys, *argv)
    assert status == 0
    assert "s3cret" not in out and "hunter2" not in out
    assert 'database_url = "postgresql://occi:***@db/occi"' in out


PORT_RANGE = "port: expected an integer from 1 to 65535"


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["--port", "0"], {}, f"{PORT_RANGE}, got 0 (from command-line option --port)"),
        (
            ["--workers", "many"],
            {},
            "workers: expected an integer, got 'many' (from command-line option --workers)",
        ),
        (["--server", "gunicorn"], {}, "server: expected one of 'uvicorn', 'granian'"),
        (["--log-level", "loud"], {}, "log_level: expected one of 'critical'"),
        (
            [],
            {"PYOCCI_PORT": "99999"},
            f"{PORT_RANGE}, got 99999 (from environment variable PYOCCI_PORT)",
        ),
        (
            [],
            {"PYOCCI_AUTH_METHOD": "ldap"},
            "auth.method: expected one of 'none', 'basic', 'token', 'x509', 'keystone', 'oidc', "
            "'cloud', 'voms', got 'ldap' "
            "(from environment variable PYOCCI_AUTH_METHOD)",
        ),
        (
            [],
            {"PYOCCI_LIMITS_MAX_BODY": "1"},
            "unknown setting 'limits.max_body' (from environment variable "
            "PYOCCI_LIMITS_MAX_BODY); did you mean 'max_body_bytes'?",
        ),
    ],
)
def test_configuration_errors_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    environ: dict[str, str],
    expected: str,
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert fails(capsys, *argv, "config", "show").startswith(expected)


def test_file_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    assert fails(capsys, "--config", str(missing), "config", "show") == (
        f"configuration file {missing} (named by --config) does not exist"
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("port = \n")
    message = fails(capsys, "--config", str(broken), "config", "show")
    assert message.startswith(f"configuration file {broken} is not valid TOML")
    bad = tmp_path / "bad.toml"
    bad.write_text("[auth]\nmethod = 'ldap'\n")
    assert fails(capsys, "--config", str(bad), "config", "show") == (
        "auth.method: expected one of 'none', 'basic', 'token', 'x509', 'keystone', 'oidc', "
        f"'cloud', 'voms', got 'ldap' (in {bad})"
    )


# --- serving ---------------------------------------------------------------------------------


@pytest.fixture
def handover(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the command set PYOCCI_CONFIG_JSON, and undo it after the test.

    The tests that use it fake the ASGI server, which never listens: whether their
    port is free on this machine (8787 may be a developer's own server) does not
    matter to them; the busy-port tests below run the real process.
    """
    monkeypatch.setenv(CONFIG_JSON_ENV, "")
    monkeypatch.setattr(cli, "listen_problem", lambda host, port: None)


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch, handover: None) -> list[dict[str, Any]]:
    import uvicorn

    calls: list[dict[str, Any]] = []

    def fake_run(app: str, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_serve_with_uvicorn(
    capsys: pytest.CaptureFixture[str], uvicorn_calls: list[dict[str, Any]], isolated_env: Path
) -> None:
    status, out, err = run(capsys, "--port", "9999", "--workers", "2")
    assert status == 0, err
    log_config = uvicorn_calls[0].pop("log_config")
    assert log_config["loggers"]["pyocci"]["handlers"] == ["pyocci"]
    assert log_config["formatters"]["pyocci"] == {"()": "pyocci.server.logs.TextFormatter"}
    assert uvicorn_calls == [
        {
            "app": "pyocci.server.app:create_app_from_environment",
            "factory": True,
            "host": "127.0.0.1",
            "port": 9999,
            "workers": 2,
            "log_level": "info",
            "http": LimitedHttpToolsProtocol,
            "timeout_keep_alive": 5.0,
            "server_header": False,
            "proxy_headers": True,
            # pyocci writes the access log itself.
            "access_log": False,
        }
    ]
    assert out.count("\n") == 1
    assert out.startswith(f"occi-server {__version__}: serving OCCI 1.2 at http://127.0.0.1:9999/")
    assert "backend 'sim'" in out
    assert f"database SQLite in {isolated_env.parent / 'user-data'}" in out
    assert "2 workers on uvicorn" in out
    # The workers get exactly the configuration resolved here.
    handed = ServerConfig.from_json(os.environ[CONFIG_JSON_ENV])
    assert (handed.port, handed.workers, handed.backend) == (9999, 2, "sim")


def test_serve_line_masks_the_database_password(
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYOCCI_BASE_URL", "https://occi.example.org")
    monkeypatch.setenv("PYOCCI_LIMITS_H11_MAX_INCOMPLETE_EVENT_SIZE", "4096")
    argv = ["--host", "::1", "--database-url", "postgresql+psycopg://u:pw@db/occi"]
    status, out, _ = run(capsys, *argv)
    assert status == 0
    assert "http://[::1]:8787/ (public URL https://occi.example.org)" in out
    assert "database postgresql+psycopg://u:***@db/occi" in out
    assert ":pw@" not in out
    # The protocol reads its limits from the configuration handed to the workers.
    assert ServerConfig.from_json(os.environ[CONFIG_JSON_ENV]).limits.server_header_limit == 4096
    # The workers need the real password.
    assert json.loads(os.environ[CONFIG_JSON_ENV])["database_url"].endswith("u:pw@db/occi")


def test_serve_does_not_start_on_bad_configuration(
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYOCCI_WORKERS", "0")
    assert fails(capsys).startswith("workers: expected a number of at least 1, got 0")
    assert uvicorn_calls == []


def test_serving_the_handshake_makes_its_key_first(
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    users = tmp_path / "users.toml"
    users.write_text("")
    monkeypatch.setenv("PYOCCI_AUTH_METHOD", "basic")
    monkeypatch.setenv("PYOCCI_AUTH_USERS_FILE", str(users))
    monkeypatch.setenv("PYOCCI_AUTH_KEYSTONE_HANDSHAKE", "true")
    key = tmp_path / "keys" / "handshake.key"
    monkeypatch.setenv("PYOCCI_AUTH_HANDSHAKE_KEY_FILE", str(key))
    status, _, err = run(capsys)
    assert status == 0, err
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # A key file that holds no key stops the server with one line, before any worker.
    key.write_text("nonsense\n")
    uvicorn_calls.clear()
    assert fails(capsys).startswith(f"auth.handshake_key_file: {key} holds no key")
    assert uvicorn_calls == []


def test_tokens_revoke_replaces_the_key(
    capsys: pytest.CaptureFixture[str], isolated_env: Path
) -> None:
    key = isolated_env.parent / "user-data" / "handshake.key"
    status, out, _ = run(capsys, "tokens", "revoke")
    assert status == 0
    assert out.startswith(f"revoked every issued token: a new signing key is in {key}")
    assert "keystone_handshake is off in this configuration" in out
    first = key.read_text()
    assert run(capsys, "tokens", "revoke")[0] == 0
    assert key.read_text() != first


def test_serve_reports_the_server_exit_status(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, handover: None
) -> None:
    import uvicorn

    def failing_run(app: str, **kwargs: Any) -> None:
        sys.exit(3)  # what uvicorn does when it cannot bind or import the app

    monkeypatch.setattr(uvicorn, "run", failing_run)
    assert run(capsys)[0] == 3


class FakeGranian:
    instances: list[FakeGranian] = []

    def __init__(self, target: str, **kwargs: Any) -> None:
        self.target = target
        self.kwargs = kwargs
        self.served = False
        FakeGranian.instances.append(self)

    def serve(self) -> None:
        self.served = True


def test_serve_with_granian(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, handover: None
) -> None:
    granian = pytest.importorskip("granian")
    FakeGranian.instances = []
    monkeypatch.setattr(granian, "Granian", FakeGranian)
    status, out, err = run(capsys, "--server", "granian", "--log-level", "trace", "--port", "9100")
    assert status == 0, err
    assert "1 worker on granian" in out
    (server,) = FakeGranian.instances
    assert server.served
    assert server.target == "pyocci.server.granian_app:create_guarded_app_from_environment"
    kwargs = server.kwargs
    assert kwargs["factory"] is True
    assert str(kwargs["interface"].value) == "asgi"
    assert (kwargs["address"], kwargs["port"], kwargs["workers"]) == ("127.0.0.1", 9100, 1)
    assert kwargs["log_level"].value == "debug"  # granian has no trace
    assert kwargs["http1_settings"].max_buffer_size == 64 * 1024 + 8 * 1024
    assert kwargs["http1_settings"].header_read_timeout == 10_000
    assert kwargs["http1_settings"].keep_alive is True
    assert kwargs["backpressure"] == 1000


def test_granian_takes_the_limits_of_the_configuration(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, handover: None
) -> None:
    granian = pytest.importorskip("granian")
    FakeGranian.instances = []
    monkeypatch.setattr(granian, "Granian", FakeGranian)
    monkeypatch.setenv("PYOCCI_LIMITS_HEADER_TIMEOUT", "2.5")
    monkeypatch.setenv("PYOCCI_LIMITS_KEEP_ALIVE_TIMEOUT", "0")
    monkeypatch.setenv("PYOCCI_LIMITS_MAX_CONNECTIONS", "64")
    status, _, err = run(capsys, "--server", "granian")
    assert status == 0, err
    kwargs = FakeGranian.instances[0].kwargs
    assert kwargs["http1_settings"].header_read_timeout == 2500
    assert kwargs["http1_settings"].keep_alive is False
    assert kwargs["backpressure"] == 64


def test_a_low_open_files_limit_lowers_the_connection_cap(
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard open-files limit")
    monkeypatch.setenv("PYOCCI_LIMITS_MAX_CONNECTIONS", str(hard))
    try:
        status, out, err = run(capsys)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert status == 0
    assert out.count("\n") == 1
    assert err == (
        f"occi-server: note: the open-files limit (ulimit -n) leaves room for {hard - 256} "
        f"connections per worker, fewer than limits.max_connections = {hard}\n"
    )


def test_missing_granian_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, handover: None
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "granian" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert fails(capsys, "--server", "granian") == (
        "granian is not installed: install it (pip install granian) or use --server uvicorn"
    )


def test_missing_app_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, handover: None
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "pyocci.server.app" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert fails(capsys) == "the HTTP app (pyocci.server.app) is not installed"


# --- users ---------------------------------------------------------------------------------


def test_user_add_from_stdin(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    path = tmp_path / "etc" / "users.toml"
    stdin(monkeypatch, "s3cret pass\n")
    argv = ["user", "add", "alice", "--tenant", "physics", "--users-file", str(path)]
    status, out, err = run(capsys, *argv, "--password-stdin")
    assert status == 0
    assert out == f"added user 'alice' (tenant 'physics') in {path}\n"
    assert "auth method is 'none'" in err  # a hint: these users are not asked for yet
    users = read_users_file(path)
    assert users["alice"].tenant == "physics"
    assert verify_password("s3cret pass", users["alice"].password_hash)
    assert "s3cret" not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_user_add_keeps_a_windows_line_ending_out_of_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "users.toml"
    stdin(monkeypatch, "pw\r\nignored\n")
    argv = ["user", "add", "a", "--tenant", "t", "--users-file", str(path), "--password-stdin"]
    assert run(capsys, *argv)[0] == 0
    assert verify_password("pw", read_users_file(path)["a"].password_hash)


def test_user_add_asks_twice(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "users.toml"
    prompts = answers(monkeypatch, "pw", "pw")
    status, _, _ = run(capsys, "user", "add", "bob", "--tenant", "t", "--users-file", str(path))
    assert status == 0
    assert prompts == ["Password for bob: ", "Repeat the password: "]
    assert verify_password("pw", read_users_file(path)["bob"].password_hash)


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        (("pw", "wp"), "the two passwords differ; nothing changed"),
        (("", ""), "the password cannot be empty"),
        ((EOFError,), "no password given"),
    ],
)
def test_user_add_refuses_bad_passwords(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    replies: tuple[Any, ...],
    expected: str,
) -> None:
    path = tmp_path / "users.toml"
    answers(monkeypatch, *replies)
    assert fails(capsys, "user", "add", "bob", "--tenant", "t", "--users-file", str(path)) == (
        expected
    )
    assert not path.exists()


def test_user_add_refuses_an_empty_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stdin(monkeypatch, "")
    argv = ["user", "add", "a", "--tenant", "t", "--users-file", str(tmp_path / "u.toml")]
    assert fails(capsys, *argv, "--password-stdin") == (
        "no password on standard input (--password-stdin)"
    )


@pytest.mark.parametrize(
    ("name", "tenant", "expected"),
    [
        ("a:b", "t", "a user name cannot contain ':'"),
        ("", "t", "a user name cannot be empty"),
        (" a", "t", "a user name cannot start or end with white space"),
        ("a\tb", "t", "a user name cannot contain control characters"),
        ("a", " ", "a tenant cannot be empty"),
    ],
)
def test_user_add_refuses_bad_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, tenant: str, expected: str
) -> None:
    argv = ["user", "add", name, "--tenant", tenant, "--users-file", str(tmp_path / "u.toml")]
    assert fails(capsys, *argv) == expected


def test_user_add_existing_needs_replace(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "users.toml"
    base = ["user", "add", "alice", "--users-file", str(path), "--password-stdin"]
    stdin(monkeypatch, "one\n")
    assert run(capsys, *base, "--tenant", "a")[0] == 0
    stdin(monkeypatch, "two\n")
    assert fails(capsys, *base, "--tenant", "b") == (
        f"user 'alice' already exists in {path}; use --replace to change it"
    )
    stdin(monkeypatch, "two\n")
    status, out, _ = run(capsys, *base, "--tenant", "b", "--replace")
    assert status == 0 and out.startswith("changed user 'alice' (tenant 'b')")
    alice = read_users_file(path)["alice"]
    assert alice.tenant == "b" and verify_password("two", alice.password_hash)


def test_user_list_and_remove(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "users.toml"
    file = ["--users-file", str(path)]
    status, out, _ = run(capsys, "user", "list", *file)
    assert (status, out) == (0, f"no users in {path}\n")
    for name, tenant in [("zoe", "z"), ("alexander", "physics"), ("bo", "physics")]:
        stdin(monkeypatch, "pw\n")
        argv = ["user", "add", name, "--tenant", tenant, *file, "--password-stdin"]
        assert run(capsys, *argv)[0] == 0
    status, out, _ = run(capsys, "user", "list", *file)
    assert status == 0
    assert out.splitlines() == [
        "USER       TENANT",
        "alexander  physics",
        "bo         physics",
        "zoe        z",
    ]
    status, out, _ = run(capsys, "user", "remove", "bo", *file)
    assert (status, out) == (0, f"removed user 'bo' from {path}\n")
    assert set(read_users_file(path)) == {"alexander", "zoe"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fails(capsys, "user", "remove", "bo", *file) == f"no user 'bo' in {path}"


def test_users_file_comes_from_the_configuration(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "conf" / "server.toml"
    config.parent.mkdir()
    config.write_text('[auth]\nmethod = "basic"\nusers_file = "people.toml"\n')
    stdin(monkeypatch, "pw\n")
    argv = ["user", "add", "a", "--tenant", "t", "--password-stdin", "--config", str(config)]
    status, _, err = run(capsys, *argv)
    assert status == 0
    assert err == ""  # auth is basic: no hint
    assert (tmp_path / "conf" / "people.toml").exists()
    monkeypatch.setenv("PYOCCI_CONFIG", str(config))
    assert run(capsys, "user", "list")[1].splitlines()[1].split() == ["a", "t"]


def test_the_default_users_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    stdin(monkeypatch, "pw\n")
    assert run(capsys, "user", "add", "a", "--tenant", "t", "--password-stdin")[0] == 0
    assert set(read_users_file(isolated_env / "users.toml")) == {"a"}
    assert stat.S_IMODE(isolated_env.stat().st_mode) & 0o077 == 0  # created private


def test_users_file_problems_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[users.a]\ntenant = 'x'\npassword = 'plain'\n")
    assert fails(capsys, "user", "list", "--users-file", str(broken)).startswith(
        f"users file {broken}: user 'a': password: expected a hash made by 'occi-server user add'"
    )
    directory = tmp_path / "a-directory"
    directory.mkdir()
    assert fails(capsys, "user", "list", "--users-file", str(directory)).startswith(
        f"cannot read users file {directory}"
    )
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    stdin(monkeypatch, "pw\n")
    argv = ["user", "add", "a", "--tenant", "t", "--password-stdin"]
    message = fails(capsys, *argv, "--users-file", str(blocker / "users.toml"))
    assert "not-a-dir" in message


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('backend = "sim"\n[backend_settings]\nflavours = 3\n', "the sim backend's settings"),
        (
            'backend = "openstack"\n[backend_settings]\ncloud = "x"\npaeg_size = 3\n',
            "the openstack backend's settings: backend_settings.paeg_size: unknown setting",
        ),
        (
            'backend = "openstack"\n[backend_settings]\ncredentials = "caller"\n'
            'auth_url = "https://keystone.example.org/v3"\n',
            "[auth] method must be 'keystone'",
        ),
    ],
)
def test_wrong_backend_settings_stop_the_server_before_it_serves(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, table: str, expected: str
) -> None:
    config = tmp_path / "server.toml"
    config.write_text(table)
    assert expected in fails(capsys, "--config", str(config))


# --- metrics and logs ------------------------------------------------------------------------

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"


@pytest.fixture
def no_multiprocess_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command sets prometheus-client's directory for its workers; undo it after."""
    monkeypatch.delenv(MULTIPROCESS, raising=False)


def test_a_metrics_port_serves_every_workers_metrics_while_serving(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    handover: None,
    no_multiprocess_dir: None,
) -> None:
    import httpx
    import uvicorn

    from e2e.server import free_port

    port = free_port()
    seen: dict[str, Any] = {}

    def serving(app: str, **kwargs: Any) -> None:
        directory = Path(os.environ[MULTIPROCESS])
        seen["directory"] = directory
        seen["existed"] = directory.is_dir()
        seen["scrape"] = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)

    monkeypatch.setattr(uvicorn, "run", serving)
    status, out, err = run(capsys, "--metrics-port", str(port))
    assert status == 0, err
    assert f"metrics at http://127.0.0.1:{port}/metrics" in out
    assert seen["existed"]
    assert seen["scrape"].status_code == 200
    assert ServerConfig.from_json(os.environ[CONFIG_JSON_ENV]).metrics.enabled
    # The directory was this run's: gone with it, and so is the variable.
    assert not seen["directory"].exists()
    assert MULTIPROCESS not in os.environ


def test_an_operators_multiprocess_directory_is_emptied_and_kept(
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "notes.txt").write_text("not ours")
    monkeypatch.setenv(MULTIPROCESS, str(directory))
    monkeypatch.setenv("PYOCCI_METRICS_ENABLED", "true")
    monkeypatch.setenv("PYOCCI_METRICS_TOKEN", "0123456789abcdef0123")
    status, out, err = run(capsys)
    assert status == 0, err
    assert "metrics at http://127.0.0.1:8787/metrics (with the token)" in out
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]
    assert os.environ[MULTIPROCESS] == str(directory)


def test_a_busy_metrics_port_is_one_line(
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    no_multiprocess_dir: None,
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = fails(capsys, "--metrics-port", str(port))
    assert message.startswith(f"cannot serve metrics on 127.0.0.1 port {port}: ")
    assert "--metrics-port" in message
    assert uvicorn_calls == []
    assert MULTIPROCESS not in os.environ


def test_metrics_without_port_or_token_are_refused(
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYOCCI_METRICS_ENABLED", "true")
    assert "needs metrics.token" in fails(capsys)
    assert uvicorn_calls == []


def test_json_logs_are_handed_to_uvicorn(
    capsys: pytest.CaptureFixture[str], uvicorn_calls: list[dict[str, Any]]
) -> None:
    status, _, err = run(capsys, "--log-format", "json")
    assert status == 0, err
    handlers = uvicorn_calls[0]["log_config"]["handlers"]
    assert {handler["formatter"] for handler in handlers.values()} == {"pyocci"}
    assert uvicorn_calls[0]["log_config"]["formatters"]["pyocci"] == {
        "()": "pyocci.server.logs.JsonFormatter"
    }


def test_a_bad_log_format_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert fails(capsys, "--log-format", "xml").startswith(
        "log_format: expected one of 'text', 'json', got 'xml' (from command-line option "
        "--log-format)"
    )


def test_granian_gets_pyocci_logging(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, handover: None
) -> None:
    granian = pytest.importorskip("granian")
    FakeGranian.instances = []
    monkeypatch.setattr(granian, "Granian", FakeGranian)
    status, _, err = run(capsys, "--server", "granian", "--log-format", "json")
    assert status == 0, err
    kwargs = FakeGranian.instances[0].kwargs
    assert kwargs["log_access"] is False
    assert kwargs["log_dictconfig"]["loggers"]["pyocci"]["handlers"] == ["pyocci"]
    assert "_granian" in kwargs["log_dictconfig"]["loggers"]


# --- a busy port ---------------------------------------------------------------------------


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another program listens on for the test's length."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_a_busy_port_is_one_line_naming_the_port_options(
    tmp_path: Path, busy_port: int, server: str
) -> None:
    """The real process, on a port another program holds: one line that says so and how
    to choose another port, no traceback, and it does not claim to be serving."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    environ.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        PYOCCI_DATABASE_URL=f"sqlite:///{tmp_path / 'occi.db'}",
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyocci.server.cli",
            "--host",
            "127.0.0.1",
            "--port",
            str(busy_port),
            "--server",
            server,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        check=False,
    )
    assert completed.returncode == 2, (completed.stdout, completed.stderr)
    assert completed.stderr == (
        f"occi-server: error: 127.0.0.1:{busy_port} is already in use by another program; "
        f"choose another port with --port N or PYOCCI_PORT=N (or port = N in the "
        f"configuration file), or stop the program that holds it\n"
    )
    assert "serving" not in completed.stdout


def test_an_address_of_no_interface_here_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine.
    message = fails(capsys, "--host", "192.0.2.1", "--port", "8787")
    assert message.startswith("cannot listen on 192.0.2.1:8787: ")
    assert "--host" in message and "PYOCCI_HOST" in message
