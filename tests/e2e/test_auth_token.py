"""Bearer tokens end to end: ``occi-server user add --token``, then ``auth.method = "token"``.

The operator's way: a token is generated and printed once by the command,
only its hash is stored, and the running server picks up new, changed and
removed tokens from the users file without a restart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.occiclient import COMPUTE, DEBIAN, OCCI_JSON, TEXT_PLAIN, URI_LIST, EntityDoc, Occi
from e2e.server import RunningServer, StartServer
from pyocci.server.auth import read_users_file

pytestmark = pytest.mark.e2e

CHALLENGE = 'Bearer realm="tokens"'
INVALID = 'Bearer realm="tokens", error="invalid_token"'
CONFIG = '[auth]\nmethod = "token"\nusers_file = "users.toml"\nrealm = "tokens"\n'


def user_command(workdir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    command = [sys.executable, "-m", "pyocci.server.cli", "user", *arguments]
    command += ["--users-file", str(workdir / "users.toml")]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def add_token_user(workdir: Path, name: str, tenant: str, *extra: str) -> str:
    """``occi-server user add NAME --tenant T --token``; the token it printed."""
    result = user_command(workdir, "add", name, "--tenant", tenant, "--token", *extra)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("token: pyocci_")
    return lines[-1].removeprefix("token: ")


class Tokens:
    """The server's working directory and the tokens issued so far."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.issued = {
            "alice": add_token_user(workdir, "alice", "physics"),
            "bob": add_token_user(workdir, "bob", "chemistry"),
        }


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Tokens:
    return Tokens(tmp_path_factory.mktemp("tokens"))


@pytest.fixture(scope="module")
def server(start_server: StartServer, tokens: Tokens) -> Iterator[RunningServer]:
    with start_server(workdir=tokens.workdir, config=CONFIG) as running:
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": TEXT_PLAIN}


def client_of(server: RunningServer, token: str) -> httpx.Client:
    return server.client(headers={"Authorization": f"Bearer {token}"})


def test_only_the_hash_is_stored(tokens: Tokens) -> None:
    text = (tokens.workdir / "users.toml").read_text()
    assert tokens.issued["alice"] not in text
    stored = read_users_file(tokens.workdir / "users.toml")["alice"]
    assert stored.token_hash is not None and stored.token_hash.startswith("sha256$")
    assert stored.password_hash is None


def test_the_command_says_when_the_server_asks_for_something_else(tmp_path: Path) -> None:
    result = user_command(tmp_path, "add", "erin", "--tenant", "t", "--token")
    assert result.returncode == 0
    assert 'set [auth] method = "token"' in result.stderr


def test_no_token_is_401_with_a_bearer_challenge(http: httpx.Client) -> None:
    response = http.get("/-/", headers={"Accept": OCCI_JSON})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    assert response.json()["status"] == 401
    assert "Authorization: Bearer <token>" in response.json()["error"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer pyocci_unknown", "Bearer", "Bearer a b", "Basic YTpi", "Bearer t\u00f6ken"],
)
def test_bad_tokens_are_401_invalid_token(http: httpx.Client, authorization: str) -> None:
    response = http.get("/-/", headers={"Authorization": authorization.encode()})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID


def test_a_token_is_served(server: RunningServer, tokens: Tokens) -> None:
    with client_of(server, tokens.issued["alice"]) as alice:
        assert alice.get("/-/").status_code == 200


def test_another_tenants_entities_are_404(server: RunningServer, tokens: Tokens) -> None:
    with (
        client_of(server, tokens.issued["alice"]) as alice,
        client_of(server, tokens.issued["bob"]) as bob,
    ):
        path = Occi(alice, TEXT_PLAIN).create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
        assert bob.get(path).status_code == 404
        assert bob.delete(path).status_code == 404
        assert path not in Occi(bob, URI_LIST).list("/compute/")
        assert alice.get(path).status_code == 200


def test_tokens_change_without_a_restart(server: RunningServer, tokens: Tokens) -> None:
    carol = add_token_user(tokens.workdir, "carol", "physics")
    assert httpx.get(server.url + "/-/", headers=bearer(carol)).status_code == 200
    renewed = add_token_user(tokens.workdir, "carol", "physics", "--replace")
    assert httpx.get(server.url + "/-/", headers=bearer(carol)).status_code == 401
    assert httpx.get(server.url + "/-/", headers=bearer(renewed)).status_code == 200
    assert user_command(tokens.workdir, "remove", "carol").returncode == 0
    assert httpx.get(server.url + "/-/", headers=bearer(renewed)).status_code == 401


def test_a_token_and_a_password_live_side_by_side(tokens: Tokens) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env["XDG_CONFIG_HOME"] = str(tokens.workdir / "config")
    command = [sys.executable, "-m", "pyocci.server.cli", "user", "add", "bob"]
    command += ["--tenant", "chemistry", "--replace", "--password-stdin"]
    command += ["--users-file", str(tokens.workdir / "users.toml")]
    result = subprocess.run(
        command, input="bob pass\n", capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    stored = read_users_file(tokens.workdir / "users.toml")["bob"]
    assert stored.password_hash is not None and stored.token_hash is not None


def test_token_and_password_stdin_exclude_each_other(tmp_path: Path) -> None:
    result = user_command(tmp_path, "add", "x", "--tenant", "t", "--token", "--password-stdin")
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr
