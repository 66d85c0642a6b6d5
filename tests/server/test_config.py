"""The server configuration: defaults, TOML files, environment overrides, errors, JSON."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyocci.model.errors import OcciError
from pyocci.server.config import (
    CONFIG_JSON_ENV,
    AccountingConfig,
    AuthConfig,
    ConfigError,
    ExportConfig,
    Limits,
    MetricsConfig,
    ServerConfig,
    TlsConfig,
    config_from_environment,
    default_users_file,
    find_config_file,
    load_config,
    redact_url,
    toml_key,
    toml_value,
)

pytestmark = pytest.mark.usefixtures("isolated_env")

DOCS = Path(__file__).resolve().parents[2] / "docs"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path | None = None, environ: dict[str, str] | None = None, **kw) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {}, **kw)
    return caught.value.message


# --- defaults ---------------------------------------------------------------------------------


def test_defaults_serve_the_simulated_cloud_on_loopback() -> None:
    config = load_config(environ={})
    assert config.host == "127.0.0.1"
    assert config.port == 8787
    assert config.workers == 1
    assert config.server == "uvicorn"
    assert config.base_url is None
    assert config.database_url is None
    assert config.backend == "sim"
    assert config.log_level == "info"
    assert dict(config.backend_settings) == {}
    assert config.auth == AuthConfig()
    assert config.auth.method == "none"
    assert config.auth.tenant == "default"
    assert config.config_file is None
    assert config == ServerConfig()


def test_default_limits() -> None:
    limits = load_config(environ={}).limits
    assert limits.max_body_bytes == 1024 * 1024
    assert limits.max_header_count == 100
    assert limits.max_header_bytes == 64 * 1024
    assert limits.max_page_size == 1000
    assert limits.h11_max_incomplete_event_size is None


def test_server_header_limit_is_derived_from_max_header_bytes_unless_set() -> None:
    assert Limits().server_header_limit == 64 * 1024 + 8 * 1024
    assert Limits(max_header_bytes=1000).server_header_limit == 1000 + 8 * 1024
    assert Limits(h11_max_incomplete_event_size=5000).server_header_limit == 5000


def test_configuration_is_frozen() -> None:
    config = load_config(environ={"PYOCCI_BACKEND_SETTINGS_REGION": "eu"})
    with pytest.raises(AttributeError):
        config.port = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.backend_settings["region"] = "us"  # type: ignore[index]


def test_config_error_is_an_occi_error() -> None:
    assert issubclass(ConfigError, OcciError)


# --- the file ------------------------------------------------------------------------------------

FULL = """
host = "0.0.0.0"
port = 9000
workers = 4
server = "granian"
base_url = "https://occi.example.org/"
database_url = "postgresql+psycopg://pyocci:secret@db/pyocci"
backend = "sim"
log_level = "debug"

[limits]
max_body_bytes = 2048
max_header_count = 50
max_header_bytes = 4096
max_page_size = 200
h11_max_incomplete_event_size = 16384

[auth]
method = "basic"
tenant = "lab"
users_file = "users.toml"
realm = "OCCI lab"
cache_seconds = 5
cache_size = 10

[backend_settings]
transition_seconds = 0.5
images = ["ubuntu", "debian"]

[backend_settings.quota]
cores = 8
"""


def test_a_file_sets_every_key(tmp_path: Path) -> None:
    path = write(tmp_path / "etc" / "server.toml", FULL)
    config = load_config(path, environ={})
    assert (config.host, config.port, config.workers, config.server) == (
        "0.0.0.0",
        9000,
        4,
        "granian",
    )
    assert config.base_url == "https://occi.example.org"  # one spelling: no trailing slash
    assert config.database_url == "postgresql+psycopg://pyocci:secret@db/pyocci"
    assert config.log_level == "debug"
    assert config.limits == Limits(2048, 50, 4096, 200, 16384)
    assert config.auth.method == "basic"
    assert config.auth.tenant == "lab"
    assert config.auth.users_file == tmp_path / "etc" / "users.toml"  # relative to the file
    assert config.auth.realm == "OCCI lab"
    assert config.auth.cache_seconds == 5.0
    assert isinstance(config.auth.cache_seconds, float)
    assert config.auth.cache_size == 10
    assert config.backend_settings["transition_seconds"] == 0.5
    assert config.backend_settings["images"] == ("ubuntu", "debian")
    assert config.backend_settings["quota"]["cores"] == 8
    assert config.config_file == path


def test_the_file_is_named_by_pyocci_config(tmp_path: Path) -> None:
    path = write(tmp_path / "mine.toml", "port = 9100\n")
    config = load_config(environ={"PYOCCI_CONFIG": str(path)})
    assert config.port == 9100
    assert config.config_file == path


def test_the_config_option_wins_over_pyocci_config(tmp_path: Path) -> None:
    option = write(tmp_path / "option.toml", "port = 9101\n")
    named = write(tmp_path / "named.toml", "port = 9102\n")
    assert load_config(option, environ={"PYOCCI_CONFIG": str(named)}).port == 9101


def test_the_default_file_is_read_when_it_exists(isolated_env: Path) -> None:
    assert find_config_file(None, {})[0] is None
    path = write(isolated_env / "server.toml", "port = 9103\n")
    assert find_config_file(None, {})[0] == path
    config = load_config(environ={})
    assert config.port == 9103
    assert config.config_file == path


def test_an_explicit_file_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    message = config_error(missing)
    assert str(missing) in message
    assert "does not exist" in message
    assert "--config" in message
    message = config_error(environ={"PYOCCI_CONFIG": str(missing)})
    assert "PYOCCI_CONFIG" in message


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    assert "is a directory" in config_error(tmp_path)


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", "port = 8000\nhost = \n")
    message = config_error(path)
    assert str(path) in message
    assert "not valid TOML" in message
    assert "line 2" in message


def test_a_file_must_be_utf8(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_bytes(b'host = "\xff"\n')
    assert "not UTF-8" in config_error(path)


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", "prot = 8000\n")
    message = config_error(path)
    assert message == f"unknown setting 'prot' (in {path}); did you mean 'port'?"


def test_unknown_key_without_a_close_match_lists_the_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", "[limits]\nfrobnicate = 1\n")
    message = config_error(path)
    assert "unknown setting 'limits.frobnicate'" in message
    assert str(path) in message
    assert "max_body_bytes" in message and "max_page_size" in message


def test_a_section_must_be_a_table(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", "limits = 5\n")
    assert config_error(path) == (
        f"limits: expected a table ([limits]), got the number 5 (in {path})"
    )
    path = write(tmp_path / "server.toml", 'backend_settings = "x"\n')
    assert "backend_settings: expected a table" in config_error(path)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('port = "8000"', "port: expected an integer, got the string '8000'"),
        ("port = true", "port: expected an integer, got the boolean true"),
        ("port = 80.5", "port: expected an integer, got the number 80.5"),
        ("host = 1", "host: expected a string, got the number 1"),
        ("workers = [1]", "workers: expected an integer, got an array"),
        ("base_url = 5", "base_url: expected a string (or empty, for the default)"),
        ("[auth]\ncache_seconds = false", "auth.cache_seconds: expected a number"),
        ("[auth]\nusers_file = 3", "auth.users_file: expected a file path (a string)"),
        ("[limits]\nmax_body_bytes = {}", "limits.max_body_bytes: expected an integer, got a"),
    ],
)
def test_wrong_types_are_named(tmp_path: Path, line: str, expected: str) -> None:
    path = write(tmp_path / "server.toml", line + "\n")
    message = config_error(path)
    assert message.startswith(expected)
    assert message.endswith(f"(in {path})")


@pytest.mark.parametrize("port", [0, -1, 65536, 70000])
def test_port_out_of_range(tmp_path: Path, port: int) -> None:
    path = write(tmp_path / "server.toml", f"port = {port}\n")
    assert config_error(path) == (
        f"port: expected an integer from 1 to 65535, got {port} (in {path})"
    )


@pytest.mark.parametrize("port", [1, 80, 65535])
def test_port_in_range(tmp_path: Path, port: int) -> None:
    path = write(tmp_path / "server.toml", f"port = {port}\n")
    assert load_config(path, environ={}).port == port


def test_unknown_auth_method(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", '[auth]\nmethod = "ldap"\n')
    assert config_error(path) == (
        "auth.method: expected one of 'none', 'basic', 'token', 'x509', 'keystone', 'oidc', "
        f"'cloud', 'voms', got 'ldap' (in {path})"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("workers = 0", "workers: expected a number of at least 1, got 0"),
        ('server = "hypercorn"', "server: expected one of 'uvicorn', 'granian'"),
        ('log_level = "loud"', "log_level: expected one of 'critical', 'error'"),
        ('backend = "Sim!"', "backend: expected a backend name such as 'sim'"),
        ('host = ""', "host: expected a non-empty string"),
        ('base_url = "ftp://x.org"', "base_url: expected an absolute http(s) URL"),
        ('base_url = "https://x.org/?a=1"', "base_url: expected an absolute http(s) URL"),
        ('base_url = "occi.example.org"', "base_url: expected an absolute http(s) URL"),
        ('database_url = "my database"', "database_url: expected a SQLAlchemy database URL"),
        ("[limits]\nmax_page_size = 0", "limits.max_page_size: expected a number of at least 1"),
        ("[limits]\nmax_body_bytes = -5", "limits.max_body_bytes: expected a number of at least"),
        ('[auth]\ntenant = ""', "auth.tenant: expected a non-empty string"),
        ("[auth]\ncache_seconds = -1", "auth.cache_seconds: expected a number of at least 0"),
        ("[auth]\ncache_seconds = inf", "auth.cache_seconds: expected a number"),
        (
            "[limits]\nh11_max_incomplete_event_size = 10",
            "limits.h11_max_incomplete_event_size: expected a number of at least 1024",
        ),
    ],
)
def test_bad_values_are_named(tmp_path: Path, line: str, expected: str) -> None:
    path = write(tmp_path / "server.toml", line + "\n")
    message = config_error(path)
    assert message.startswith(expected)
    assert message.endswith(f"(in {path})")


def test_empty_string_leaves_an_optional_key_at_its_default(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", 'base_url = ""\ndatabase_url = ""\n')
    config = load_config(path, environ={})
    assert config.base_url is None
    assert config.database_url is None


def test_home_is_expanded_in_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = write(tmp_path / "server.toml", '[auth]\nusers_file = "~/users.toml"\n')
    assert load_config(path, environ={}).auth.users_file == tmp_path / "home" / "users.toml"


def test_dates_are_refused_in_backend_settings(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", "[backend_settings]\nsince = 2024-01-01\n")
    message = config_error(path)
    assert message.startswith("backend_settings.since: dates and times are not supported")
    assert str(path) in message


# --- the environment ---------------------------------------------------------------------------


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", FULL)
    environ = {
        "PYOCCI_PORT": "9200",
        "PYOCCI_DATABASE_URL": "sqlite:///x.db",
        "PYOCCI_BACKEND": "other",
        "PYOCCI_AUTH_METHOD": "none",
        "PYOCCI_LIMITS_MAX_BODY_BYTES": "123",
        "PYOCCI_BASE_URL": "",
    }
    config = load_config(path, environ)
    assert config.port == 9200
    assert config.database_url == "sqlite:///x.db"
    assert config.backend == "other"
    assert config.auth.method == "none"
    assert config.limits.max_body_bytes == 123
    assert config.base_url is None  # empty resets an optional key
    assert config.limits.max_header_count == 50  # untouched keys keep the file's value
    assert config.workers == 4


def test_every_key_has_an_environment_variable() -> None:
    environ = {
        "PYOCCI_HOST": "::1",
        "PYOCCI_PORT": "1",
        "PYOCCI_WORKERS": "3",
        "PYOCCI_SERVER": "granian",
        "PYOCCI_BASE_URL": "http://[::1]:1",
        "PYOCCI_DATABASE_URL": "sqlite:///:memory:",
        "PYOCCI_BACKEND": "sim",
        "PYOCCI_LOG_LEVEL": "trace",
        "PYOCCI_LIMITS_MAX_BODY_BYTES": "1",
        "PYOCCI_LIMITS_MAX_HEADER_COUNT": "2",
        "PYOCCI_LIMITS_MAX_HEADER_BYTES": "3",
        "PYOCCI_LIMITS_MAX_PAGE_SIZE": "4",
        "PYOCCI_LIMITS_H11_MAX_INCOMPLETE_EVENT_SIZE": "2048",
        "PYOCCI_AUTH_METHOD": "basic",
        "PYOCCI_AUTH_TENANT": "t",
        "PYOCCI_AUTH_USERS_FILE": "/srv/users.toml",
        "PYOCCI_AUTH_REALM": "r",
        "PYOCCI_AUTH_CACHE_SECONDS": "1.5",
        "PYOCCI_AUTH_CACHE_SIZE": "7",
    }
    config = load_config(environ=environ)
    assert config == ServerConfig(
        host="::1",
        port=1,
        workers=3,
        server="granian",
        base_url="http://[::1]:1",
        database_url="sqlite:///:memory:",
        backend="sim",
        log_level="trace",
        limits=Limits(1, 2, 3, 4, 2048),
        auth=AuthConfig("basic", "t", Path("/srv/users.toml"), "r", 1.5, 7),
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PYOCCI_WORKERS", "two", "workers: expected an integer, got 'two'"),
        ("PYOCCI_PORT", "70000", "port: expected an integer from 1 to 65535, got 70000"),
        ("PYOCCI_PORT", "8.5", "port: expected an integer, got '8.5'"),
        ("PYOCCI_PORT", "", "port: expected an integer, got ''"),
        (
            "PYOCCI_AUTH_METHOD",
            "ldap",
            "auth.method: expected one of 'none', 'basic', 'token', 'x509', 'keystone', 'oidc', "
            "'cloud', 'voms', got 'ldap'",
        ),
        ("PYOCCI_AUTH_CACHE_SECONDS", "soon", "auth.cache_seconds: expected a number"),
        ("PYOCCI_AUTH_CACHE_SECONDS", "nan", "auth.cache_seconds: expected a number"),
        ("PYOCCI_LIMITS_MAX_BODY_BYTES", "1MiB", "limits.max_body_bytes: expected an integer"),
    ],
)
def test_bad_environment_values_name_the_variable(name: str, value: str, expected: str) -> None:
    message = config_error(environ={name: value})
    assert message.startswith(expected)
    assert message.endswith(f"(from environment variable {name})")


def test_unknown_section_variable_is_an_error() -> None:
    message = config_error(environ={"PYOCCI_LIMITS_MAX_BODY_BYTE": "5"})
    assert message == (
        "unknown setting 'limits.max_body_byte' (from environment variable "
        "PYOCCI_LIMITS_MAX_BODY_BYTE); did you mean 'max_body_bytes'?"
    )
    assert "PYOCCI_AUTH_MEHTOD" in config_error(environ={"PYOCCI_AUTH_MEHTOD": "basic"})


def test_other_pyocci_variables_are_left_alone() -> None:
    environ = {
        "PYOCCI_ENDPOINT": "https://elsewhere",  # the client's, say
        CONFIG_JSON_ENV: "{not even json",  # the worker hand-over; load_config ignores it
        "OTHER_PORT": "1",
    }
    assert load_config(environ=environ) == ServerConfig()


def test_backend_settings_from_the_environment_are_toml_values_or_text(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", '[backend_settings]\nregion = "us"\nkept = 1\n')
    environ = {
        "PYOCCI_BACKEND_SETTINGS_REGION": "eu-west-1",
        "PYOCCI_BACKEND_SETTINGS_TRANSITION_SECONDS": "0.5",
        "PYOCCI_BACKEND_SETTINGS_ENABLED": "true",
        "PYOCCI_BACKEND_SETTINGS_PASSWORD": '"12345"',
        "PYOCCI_BACKEND_SETTINGS_IMAGES": '["a", "b"]',
        "PYOCCI_BACKEND_SETTINGS_SINCE": "2024-01-01",
    }
    settings = load_config(path, environ).backend_settings
    assert dict(settings) == {
        "region": "eu-west-1",
        "kept": 1,
        "transition_seconds": 0.5,
        "enabled": True,
        "password": "12345",
        "images": ("a", "b"),
        "since": "2024-01-01",  # a date would not survive JSON: kept as text
    }


def test_relative_paths_from_the_environment_are_relative_to_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={"PYOCCI_AUTH_USERS_FILE": "u.toml"})
    assert config.auth.users_file == tmp_path / "u.toml"
    assert config.auth.effective_users_file == tmp_path / "u.toml"


def test_the_default_users_file_is_in_the_user_config_dir(isolated_env: Path) -> None:
    assert default_users_file() == isolated_env / "users.toml"
    assert AuthConfig().effective_users_file == isolated_env / "users.toml"


# --- command-line overrides ----------------------------------------------------------------------


def test_overrides_beat_the_environment_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", "port = 9000\nworkers = 2\n")
    config = load_config(
        path,
        {"PYOCCI_PORT": "9001", "PYOCCI_HOST": "::"},
        overrides={"port": "9002", "limits.max_page_size": "10"},
    )
    assert config.port == 9002
    assert config.host == "::"
    assert config.workers == 2
    assert config.limits.max_page_size == 10


def test_bad_overrides_name_the_option() -> None:
    assert config_error(overrides={"port": "x"}) == (
        "port: expected an integer, got 'x' (from command-line option --port)"
    )
    assert config_error(overrides={"database_url": "nope"}).endswith(
        "(from command-line option --database-url)"
    )
    assert "unknown setting 'prot'" in config_error(overrides={"prot": "1"})
    assert "unknown setting 'nosection.key'" in config_error(overrides={"nosection.key": "1"})


# --- JSON: the hand-over to workers ---------------------------------------------------------


def test_json_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", FULL)
    config = load_config(path, {"PYOCCI_BACKEND_SETTINGS_X": "[1, [2, 3], {a = 1}]"})
    text = config.to_json()
    assert json.loads(text)["auth"]["users_file"] == str(tmp_path / "users.toml")
    again = ServerConfig.from_json(text)
    assert again == config
    assert again.config_file == path
    assert again.backend_settings["x"] == (1, (2, 3), {"a": 1})
    assert ServerConfig.from_json(ServerConfig().to_json()) == ServerConfig()


def test_json_keeps_secrets_for_the_workers() -> None:
    config = ServerConfig(database_url="postgresql://u:pw@h/db", backend_settings={"token": "t"})
    data = json.loads(config.to_json())
    assert data["database_url"] == "postgresql://u:pw@h/db"
    assert data["backend_settings"] == {"token": "t"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{nope", "PYOCCI_CONFIG_JSON is not valid JSON"),
        ("[1]", "PYOCCI_CONFIG_JSON: expected a JSON object"),
        ('{"port": "8000"}', "port: expected an integer, got the string '8000' (in PYOCCI_"),
        ('{"port": null}', "port: expected an integer, got null"),
        ('{"colour": 1}', "unknown setting 'colour' (in PYOCCI_CONFIG_JSON)"),
        ('{"config_file": 5}', "config_file: expected a string or null"),
        ('{"limits": {"max_page_size": 0}}', "limits.max_page_size: expected a number of at"),
    ],
)
def test_bad_json_is_a_config_error(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ServerConfig.from_json(text)
    assert caught.value.message.startswith(expected)


def test_config_from_environment_prefers_the_hand_over(tmp_path: Path) -> None:
    handed = ServerConfig(port=1234, workers=2).to_json()
    assert config_from_environment({CONFIG_JSON_ENV: handed, "PYOCCI_PORT": "9"}).port == 1234
    assert config_from_environment({"PYOCCI_PORT": "9"}).port == 9


# --- TOML: config show ---------------------------------------------------------------------


def test_to_toml_masks_passwords() -> None:
    config = ServerConfig(
        database_url="postgresql+psycopg://pyocci:s3cret@db:5432/pyocci",
        backend_settings={
            "password": "hunter2",
            "api_token": "abc",
            "endpoint": "https://admin:pw@cloud.example.org/",
            "nested": {"client_secret": "x", "list": [{"password": "y"}]},
            "region": "eu",
        },
    )
    text = config.to_toml()
    for secret in ("s3cret", "hunter2", "abc", ":pw@", '"x"', '"y"'):
        assert secret not in text
    document = tomllib.loads(text)
    assert document["database_url"] == "postgresql+psycopg://pyocci:***@db:5432/pyocci"
    assert document["backend_settings"]["password"] == "***"
    assert document["backend_settings"]["endpoint"] == "https://admin:***@cloud.example.org/"
    assert document["backend_settings"]["nested"]["client_secret"] == "***"
    assert document["backend_settings"]["nested"]["list"] == [{"password": "***"}]
    assert document["backend_settings"]["region"] == "eu"
    assert "s3cret" in config.to_toml(redact=False)


def test_to_toml_is_a_configuration_file_that_gives_the_same_configuration(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "server.toml", FULL)
    config = load_config(path, {"PYOCCI_BACKEND_SETTINGS_ODD KEY": "1"})
    shown = write(tmp_path / "shown.toml", config.to_toml(redact=False))
    assert load_config(shown, {}) == ServerConfig.from_json(
        json.dumps({**json.loads(config.to_json()), "config_file": str(shown)})
    )
    default = write(tmp_path / "default.toml", ServerConfig().to_toml())
    assert "# base_url is not set" in default.read_text()
    assert load_config(default, {}) == ServerConfig(config_file=default)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:p%40ss@h:5/db?x=1", "postgresql://u:***@h:5/db?x=1"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:////var/lib/pyocci.db", "sqlite:////var/lib/pyocci.db"),
        ("http://[::1", "http://[::1"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@given(st.text())
def test_toml_strings_round_trip(text: str) -> None:
    assert tomllib.loads(f"{toml_key(text)} = {toml_value(text)}") == {text: text}


def test_toml_values() -> None:
    document = "x = " + toml_value({"a": [1, 2.5, True, "s", {"b": None or 0}], "c d": {}})
    assert tomllib.loads(document) == {"x": {"a": [1, 2.5, True, "s", {"b": 0}], "c d": {}}}
    assert toml_value(float("inf")) == "inf"
    with pytest.raises(TypeError):
        toml_value(object())


# --- the documentation ---------------------------------------------------------------------


def test_the_example_file_loads_and_holds_the_defaults() -> None:
    path = DOCS / "server.example.toml"
    assert load_config(path, {}) == ServerConfig(config_file=path)


def test_the_example_mentions_every_key() -> None:
    text = (DOCS / "server.example.toml").read_text()
    mentioned = set(re.findall(r"^#? ?([a-z_0-9]+) = ", text, re.MULTILINE))
    sections = ("limits", "auth", "tls", "metrics", "accounting", "export", "backend_settings")
    for section in sections:
        assert f"[{section}]" in text
    expected = {"host", "port", "workers", "server", "base_url", "database_url", "backend"}
    expected |= {"log_level", "log_format", "access_log"}
    expected |= {*Limits.__dataclass_fields__, *AuthConfig.__dataclass_fields__}
    expected |= {*TlsConfig.__dataclass_fields__, *MetricsConfig.__dataclass_fields__}
    expected |= {*AccountingConfig.__dataclass_fields__, *ExportConfig.__dataclass_fields__}
    assert expected <= mentioned


def test_the_documentation_embeds_the_example() -> None:
    example = (DOCS / "server.example.toml").read_text()
    assert f"```toml\n{example}```" in (DOCS / "server-config.md").read_text()


def test_the_commented_sim_settings_of_the_example_are_valid() -> None:
    """The example's commented [backend_settings] lines work with the sim backend as written."""
    sim = pytest.importorskip("pyocci.backends.sim.settings")
    text = (DOCS / "server.example.toml").read_text().split("[backend_settings]\n", 1)[1]
    lines = [line[2:] for line in text.splitlines() if re.match(r"# [a-z_]+ = ", line)]
    assert lines, "the example shows no backend settings"
    config = ServerConfig.from_json(
        json.dumps({"backend_settings": tomllib.loads("\n".join(lines))})
    )
    settings = sim.SimSettings.from_dict(config.backend_settings)
    assert settings.transition_seconds == 2


# --- authentication and TLS -------------------------------------------------------------------

KEYSTONE = """
[auth]
method = "keystone"
keystone_url = "https://keystone.example.org:5000/v3"
keystone_service_user = "occi"
keystone_service_password = "s3cret"
keystone_service_project = "service"
keystone_ca = "certs/ca.pem"
keystone_timeout = 2
"""


def test_keystone_settings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "server.toml", KEYSTONE), environ={})
    assert config.auth.method == "keystone"
    assert config.auth.keystone_url == "https://keystone.example.org:5000/v3"
    assert config.auth.keystone_service_domain == "Default"
    assert config.auth.keystone_ca == tmp_path / "certs" / "ca.pem"
    assert config.auth.keystone_timeout == 2.0
    assert ServerConfig.from_json(config.to_json()) == config


def test_the_keystone_service_password_is_masked(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "server.toml", KEYSTONE), environ={})
    shown = config.to_toml()
    assert "s3cret" not in shown
    assert 'keystone_service_password = "***"' in shown
    assert "s3cret" in config.to_toml(redact=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[auth]\nmethod = "keystone"\nkeystone_url = "https://k.example.org/v3"',
            "auth.method 'keystone' needs auth.keystone_service_user, "
            "auth.keystone_service_password, auth.keystone_service_project",
        ),
        ('[auth]\nkeystone_url = "keystone:5000"', "auth.keystone_url: expected an absolute"),
        ("[auth]\nkeystone_timeout = 0", "auth.keystone_timeout: expected a number of at least"),
        ('[auth]\nmethod = "x509"', "auth.method 'x509' needs [tls] certificate, client_ca and"),
        ('[tls]\nkey = "k.pem"', "tls.key and tls.client_ca need tls.certificate"),
        (
            '[tls]\ncertificate = "c.pem"\nrequire_client_certificate = true',
            "tls.require_client_certificate needs tls.client_ca",
        ),
        ('[tls]\nrequire_client_certificate = "yes"', "tls.require_client_certificate: expected"),
        (
            "[auth]\nkeystone_handshake = true",
            "auth.keystone_handshake needs a method that checks credentials (basic, token, "
            "x509, oidc or voms): method 'none' checks no credential to exchange for a token",
        ),
        (
            '[auth]\nmethod = "keystone"\nkeystone_handshake = true\n'
            'keystone_url = "https://k.example.org/v3"\nkeystone_service_user = "u"\n'
            'keystone_service_password = "p"\nkeystone_service_project = "s"',
            "auth.keystone_handshake needs a method that checks credentials (basic, token, "
            "x509, oidc or voms): method 'keystone' sends clients to the real Keystone",
        ),
        (
            '[auth]\nmethod = "cloud"\nkeystone_handshake = true',
            "auth.keystone_handshake needs a method that checks credentials (basic, token, "
            "x509, oidc or voms): method 'cloud' passes callers' own credentials on to the cloud",
        ),
        ("[auth]\nhandshake_lifetime_seconds = 0.5", "auth.handshake_lifetime_seconds: expected"),
        (
            '[auth]\nmethod = "basic"\nhandshake_certificate_tenant = "grid"',
            "auth.handshake_certificate_tenant is for auth.keystone_handshake with a method",
        ),
        (
            '[auth]\nmethod = "basic"\nkeystone_handshake = true\n'
            'handshake_certificate_tenant = "grid"',
            "auth.handshake_certificate_tenant needs [tls] certificate and client_ca",
        ),
        (
            'server = "granian"\n[auth]\nmethod = "basic"\nkeystone_handshake = true\n'
            'handshake_certificate_tenant = "grid"\n[tls]\ncertificate = "c.pem"\n'
            'client_ca = "ca.pem"',
            "auth.handshake_certificate_tenant needs server = 'uvicorn'",
        ),
        (
            '[auth]\nhandshake_certificate_tenant = "a\\u0001b"',
            "auth.handshake_certificate_tenant: expected a non-empty string",
        ),
    ],
)
def test_auth_and_tls_mistakes(tmp_path: Path, text: str, expected: str) -> None:
    assert config_error(write(tmp_path / "server.toml", text + "\n")).startswith(expected)


def test_tls_settings_from_the_environment(tmp_path: Path) -> None:
    config = load_config(
        environ={
            "PYOCCI_TLS_CERTIFICATE": str(tmp_path / "server.pem"),
            "PYOCCI_TLS_CLIENT_CA": str(tmp_path / "ca.pem"),
            "PYOCCI_TLS_REQUIRE_CLIENT_CERTIFICATE": "true",
            "PYOCCI_AUTH_METHOD": "x509",
        }
    )
    assert config.tls == TlsConfig(
        certificate=tmp_path / "server.pem",
        client_ca=tmp_path / "ca.pem",
        require_client_certificate=True,
    )
    assert config.tls.enabled and not TlsConfig().enabled


# --- metrics and logs -------------------------------------------------------------------------

TOKEN = "0123456789abcdef0123"


def test_metrics_and_logs_defaults() -> None:
    config = ServerConfig()
    assert config.metrics == MetricsConfig(
        enabled=False, port=None, address="127.0.0.1", token=None, census_seconds=60.0
    )
    assert (config.log_format, config.access_log) == ("text", True)


def test_metrics_from_a_file_and_the_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.toml",
        f'log_format = "json"\naccess_log = false\n[metrics]\nenabled = true\ntoken = "{TOKEN}"\n',
    )
    config = load_config(path, {"PYOCCI_METRICS_CENSUS_SECONDS": "5"})
    assert config.metrics.enabled and config.metrics.token == TOKEN
    assert config.metrics.census_seconds == 5
    assert (config.log_format, config.access_log) == ("json", False)
    on_port = load_config(
        environ={"PYOCCI_METRICS_ENABLED": "yes", "PYOCCI_METRICS_PORT": "9100"}
    ).metrics
    assert (on_port.port, on_port.address, on_port.token) == (9100, "127.0.0.1", None)


def test_metrics_on_the_occi_port_need_a_token() -> None:
    message = config_error(environ={"PYOCCI_METRICS_ENABLED": "true"})
    assert message == (
        "metrics.enabled serves /metrics on the OCCI port, which needs metrics.token (the "
        "bearer token scrapers send); or set metrics.port for a listener of its own"
    )
    # Switched off, nothing is needed.
    assert not load_config(environ={"PYOCCI_METRICS_PORT": "9100"}).metrics.enabled


@pytest.mark.parametrize("token", ["short", "x" * 15, "has a space in it!!", "caf\u00e9" * 5])
def test_a_metrics_token_must_be_long_and_plain(token: str) -> None:
    message = config_error(environ={"PYOCCI_METRICS_TOKEN": token})
    assert message.startswith(
        "metrics.token: expected at least 16 printable ASCII characters without spaces"
    )


@pytest.mark.parametrize("address", ["127.0.0.1", "0.0.0.0"])
def test_the_metrics_port_cannot_be_the_occi_port(address: str) -> None:
    environ = {
        "PYOCCI_PORT": "9000",
        "PYOCCI_METRICS_ENABLED": "true",
        "PYOCCI_METRICS_PORT": "9000",
        "PYOCCI_METRICS_ADDRESS": address,
    }
    assert config_error(environ=environ).startswith("metrics.port 9000 is the OCCI port")
    # Another address of the host may take the same port number.
    environ["PYOCCI_HOST"], environ["PYOCCI_METRICS_ADDRESS"] = "127.0.0.1", "127.0.0.2"
    assert load_config(environ=environ).metrics.port == 9000


def test_a_bad_log_format_is_named() -> None:
    assert config_error(environ={"PYOCCI_LOG_FORMAT": "xml"}).startswith(
        "log_format: expected one of 'text', 'json', got 'xml'"
    )


def test_the_metrics_token_is_masked_but_handed_to_the_workers() -> None:
    config = load_config(environ={"PYOCCI_METRICS_ENABLED": "true", "PYOCCI_METRICS_TOKEN": TOKEN})
    assert TOKEN not in config.to_toml()
    assert 'token = "***"' in config.to_toml()
    assert ServerConfig.from_json(config.to_json()).metrics.token == TOKEN


def test_voms_needs_its_fronts_and_file(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", '[auth]\nmethod = "voms"\nfront_addresses = "::1"\n')
    assert "auth.method 'voms' needs auth.front_addresses" in config_error(path)


def test_front_addresses_must_be_addresses(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", '[auth]\nfront_addresses = "127.0.0.1, apache"\n')
    assert "'apache' is neither" in config_error(path)


def test_front_addresses_take_networks(tmp_path: Path) -> None:
    path = write(tmp_path / "server.toml", '[auth]\nfront_addresses = "127.0.0.1, 10.1.0.0/24"\n')
    assert load_config(path, environ={}).auth.front_addresses == "127.0.0.1, 10.1.0.0/24"


def test_export_defaults_offer_https_alone() -> None:
    export = ServerConfig().export
    assert (export.enabled, export.max_per_tenant, export.chunk_bytes) == (True, 2, 8 << 20)
    assert export.schemes == ("https",)


def test_export_with_an_object_store_offers_s3_and_masks_its_secret(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.toml",
        '[export]\ns3_endpoint_url = "http://127.0.0.1:9000"\n'
        's3_access_key_id = "AKID"\ns3_secret_access_key = "very-secret-key"\n',
    )
    config = load_config(path, {"PYOCCI_EXPORT_MAX_PER_TENANT": "5"})
    assert config.export.schemes == ("s3", "https")
    assert config.export.max_per_tenant == 5
    assert "very-secret-key" not in config.to_toml()
    assert "very-secret-key" not in repr(config.export)
    assert ServerConfig.from_json(config.to_json()).export.s3_secret_access_key == (
        "very-secret-key"
    )


def test_export_conversion_settings_come_from_the_environment_and_are_checked() -> None:
    defaults = ServerConfig().export
    assert (defaults.qemu_img, defaults.spool_dir) == ("qemu-img", None)
    assert (defaults.max_spool_bytes, defaults.convert_timeout_seconds) == (64 << 30, 3600.0)
    environ = {
        "PYOCCI_EXPORT_QEMU_IMG": "/opt/qemu/bin/qemu-img",
        "PYOCCI_EXPORT_SPOOL_DIR": "/var/spool/pyocci",
        "PYOCCI_EXPORT_MAX_SPOOL_BYTES": "1048576",
    }
    export = load_config(None, environ).export
    assert (export.qemu_img, export.spool_dir) == (
        "/opt/qemu/bin/qemu-img",
        Path("/var/spool/pyocci"),
    )
    assert export.max_spool_bytes == 1048576
    message = config_error(environ={"PYOCCI_EXPORT_MAX_SPOOL_BYTES": "0"})
    assert message.startswith("export.max_spool_bytes: expected a number of at least 1, got 0")


def test_an_export_chunk_under_an_s3_part_is_refused() -> None:
    message = config_error(environ={"PYOCCI_EXPORT_CHUNK_BYTES": "1048576"})
    assert message.startswith(
        "export.chunk_bytes: expected a number of at least 5242880, got 1048576"
    )
