"""Logs end to end: real ``occi-server`` processes, their captured output read back.

One access line per request, with the request id the client sent (or one
made for it and returned), the tenant, target, status, duration and backend
calls; JSON lines that parse; and none of the credentials the clients sent
(basic passwords, bearer tokens, Keystone tokens in X-Auth-Token, a token in
the query string) nor the service password of the configuration, whatever
authentication said of them.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.occiclient import COMPUTE, DEBIAN, OCCI_JSON, TEXT_PLAIN, EntityDoc, Occi
from e2e.server import RunningServer, StartServer
from keystone import SERVICE_USER, SKIP_VARIABLE, USERS, Keystone, shared_keystone
from pyocci.server.auth.hashing import generate_token, hash_password, hash_token
from pyocci.server.auth.users import User, write_users_file

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery-staple"
WRONG_PASSWORD = "wrong-horse-guess-9f2"
STRAY_TOKEN = "stray-x-auth-token-77ab"
QUERY_TOKEN = "token-in-the-query-5d1c"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Sent:
    """The requests a test sent: their ids, and every credential that went with them."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.secrets: set[str] = set()

    def request(
        self,
        server: RunningServer,
        path: str,
        *,
        credentials: dict[str, str] | None = None,
        method: str = "GET",
        **kwargs,
    ) -> httpx.Response:
        request_id = "e2e-" + uuid.uuid4().hex[:12]
        headers = {"X-Request-Id": request_id, "Accept": TEXT_PLAIN, **(credentials or {})}
        for name, value in (credentials or {}).items():
            self.secrets.add(value.split(" ", 1)[-1])
            if name.lower() == "authorization" and value.startswith("Basic "):
                _, _, password = base64.b64decode(value.split()[1]).decode().partition(":")
                self.secrets.add(password)
        response = httpx.request(
            method, server.url + path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs
        )
        assert response.headers["x-request-id"] == request_id
        self.ids.append(request_id)
        return response


def log_of(server: RunningServer) -> str:
    """The server's whole output, once it stopped (so every line is written)."""
    assert server.stop(), "the server did not stop on SIGTERM"
    return server.log.read_text()


def assert_no_secret(log: str, secrets: set[str]) -> None:
    for secret in secrets:
        assert secret not in log, f"a credential is in the log: {secret[:6]}..."


# --- basic, JSON lines ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def basic_server(
    start_server: StartServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("logs-basic")
    write_users_file(
        workdir / "users.toml", {"alice": User("alice", "physics", hash_password(PASSWORD))}
    )
    config = 'log_format = "json"\n[auth]\nmethod = "basic"\nusers_file = "users.toml"\n'
    with start_server(workdir=workdir, config=config) as server:
        yield server


def test_basic_json_lines_one_per_request_without_credentials(basic_server) -> None:
    sent = Sent()
    good = {"Authorization": basic("alice", PASSWORD)}
    assert sent.request(basic_server, "/-/", credentials=good).status_code == 200
    body = EntityDoc(kind=COMPUTE, mixins=[DEBIAN])
    with basic_server.client(headers=good) as http:
        made = Occi(http, TEXT_PLAIN).create("/compute/", body)
    created = sent.request(basic_server, made, credentials=good, headers={"Accept": OCCI_JSON})
    assert created.status_code == 200
    wrong = {"Authorization": basic("alice", WRONG_PASSWORD)}
    assert sent.request(basic_server, "/compute/", credentials=wrong).status_code == 401
    stray = {**good, "X-Auth-Token": STRAY_TOKEN}
    assert sent.request(basic_server, "/compute/", credentials=stray).status_code == 200
    bearer = {"Authorization": "Bearer " + STRAY_TOKEN + "-b"}
    assert sent.request(basic_server, "/-/", credentials=bearer).status_code == 401
    in_query = f"/compute/?access_token={QUERY_TOKEN}&page=1&number=2"
    assert sent.request(basic_server, in_query, credentials=good).status_code == 200
    sent.secrets.add(QUERY_TOKEN)
    made_id = httpx.get(basic_server.url + "/-/", headers={"Authorization": good["Authorization"]})
    assert len(made_id.headers["x-request-id"]) == 32

    log = log_of(basic_server)
    assert_no_secret(log, sent.secrets | {basic("alice", PASSWORD).split()[1]})
    lines = [json.loads(text) for text in log.splitlines() if text.startswith("{")]
    access = [line for line in lines if line["logger"] == "pyocci.access"]
    by_id = {line["request_id"]: line for line in access}
    # One line per request, each request's own.
    assert [line["request_id"] for line in access].count(sent.ids[0]) == 1
    assert all(request_id in by_id for request_id in sent.ids)
    assert made_id.headers["x-request-id"] in by_id
    first, read, refused, strayed, knocked, queried = (by_id[i] for i in sent.ids)
    assert (first["tenant"], first["target"], first["status"]) == (
        "physics",
        "query_interface",
        200,
    )
    assert (read["target"], read["status"], read["backend_calls"]) == ("entity", 200, 1)
    assert read["duration_ms"] > 0 and read["backend_ms"] >= 0
    assert (refused["tenant"], refused["status"], refused["backend_calls"]) == (None, 401, 0)
    assert (strayed["status"], knocked["status"]) == (200, 401)
    assert queried["query"] == "***&page=1&number=2"
    assert {line["level"] for line in access} == {"info"}
    assert all(isinstance(line["process"], int) for line in lines)


# --- tokens, text lines --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_server(
    start_server: StartServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, str]]:
    workdir = tmp_path_factory.mktemp("logs-token")
    token = generate_token()
    write_users_file(
        workdir / "users.toml", {"bob": User("bob", "chemistry", None, hash_token(token))}
    )
    config = '[auth]\nmethod = "token"\nusers_file = "users.toml"\n'
    with start_server(workdir=workdir, config=config) as server:
        yield server, token


def test_bearer_tokens_stay_out_of_text_lines(token_server) -> None:
    server, token = token_server
    sent = Sent()
    good = {"Authorization": f"Bearer {token}"}
    assert sent.request(server, "/compute/", credentials=good).status_code == 200
    forged = {"Authorization": f"Bearer {token[:-4]}abcd"}
    assert sent.request(server, "/compute/", credentials=forged).status_code == 401
    both = {**good, "X-Auth-Token": STRAY_TOKEN}
    assert sent.request(server, "/-/", credentials=both).status_code == 200
    log = log_of(server)
    assert_no_secret(log, sent.secrets)
    # (The harness's readiness probe came first, with an id of its own.)
    access = [text for text in log.splitlines() if " pyocci.access [e2e-" in text]
    assert len(access) == len(sent.ids)
    for request_id, text in zip(sent.ids, access, strict=True):
        assert f"[{request_id}]" in text
    assert '"GET /compute/" 200 kind_collection tenant=chemistry' in access[0]
    assert '"GET /compute/" 401 unresolved tenant=-' in access[1]


# --- Keystone, JSON lines ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keystone() -> Keystone:
    if os.environ.get(SKIP_VARIABLE):
        pytest.skip(f"{SKIP_VARIABLE} is set")
    return shared_keystone()


@pytest.fixture(scope="module")
def keystone_server(start_server: StartServer, keystone: Keystone) -> Iterator[RunningServer]:
    config = 'log_format = "json"\nlog_level = "debug"\n' + keystone.server_auth_config()
    with start_server(config=config) as server:
        yield server


def test_keystone_tokens_and_the_service_password_stay_out(
    keystone_server: RunningServer, keystone: Keystone
) -> None:
    sent = Sent()
    password, _ = USERS["alice"]
    token = keystone.token("alice", password, "alpha")
    good = {"X-Auth-Token": token}
    assert sent.request(keystone_server, "/compute/", credentials=good).status_code == 200
    assert sent.request(keystone_server, "/-/", credentials=good).status_code == 200
    revoked = keystone.token("alice", password, "alpha")
    keystone.revoke(revoked)
    refused = {"X-Auth-Token": revoked}
    assert sent.request(keystone_server, "/-/", credentials=refused).status_code == 401
    garbage = {"X-Auth-Token": "gAAAAA" + STRAY_TOKEN}
    assert sent.request(keystone_server, "/-/", credentials=garbage).status_code == 401
    log = log_of(keystone_server)
    assert_no_secret(log, sent.secrets | {SERVICE_USER[1], password})
    access = [
        json.loads(text)
        for text in log.splitlines()
        if text.startswith("{") and '"pyocci.access"' in text
    ]
    # (The harness's readiness probe came first, with an id of its own.)
    access = [line for line in access if line["request_id"].startswith("e2e-")]
    assert [line["request_id"] for line in access] == sent.ids
    assert [line["tenant"] is not None for line in access] == [True, True, False, False]
    assert [line["status"] for line in access] == [200, 200, 401, 401]


def test_the_secret_check_fails_on_a_secret(tmp_path: Path) -> None:
    # (A guard for the helpers above: an empty log would make every absence pass.)
    log = tmp_path / "x.log"
    log.write_text("secret\n")
    with pytest.raises(AssertionError):
        assert_no_secret(log.read_text(), {"secret"})
