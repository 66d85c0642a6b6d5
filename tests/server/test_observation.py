"""Every request watched: an id taken from a sane ``X-Request-Id`` or made, returned in the
response; one access line with its tenant, target, status, duration and backend calls;
no credential in that line; target labels as the application routes."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pyocci.model.category import Kind, Mixin
from pyocci.model.standard import standard_model
from pyocci.server.app import create_app
from pyocci.server.auth.hashing import hash_password
from pyocci.server.auth.users import User, write_users_file
from pyocci.server.config import load_config
from pyocci.server.observation import (
    ACCESS_LOGGER,
    MAX_REQUEST_ID,
    TARGETS,
    current_request,
    request_id_of,
    target_label,
)
from pyocci.service.occi import OcciService
from pyocci.service.paths import Collection, EntityPath, QueryInterface

OCCI_JSON = "application/occi+json"
COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"


def client_for(tmp_path: Path, config: str = "") -> TestClient:
    config_file = tmp_path / "server.toml"
    config_file.write_text(config)
    environ = {"PYOCCI_DATABASE_URL": f"sqlite:///{tmp_path / 'occi.db'}"}
    return TestClient(create_app(load_config(config_file, environ=environ)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path) as client:
        yield client


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    return caplog


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [record.access for record in caplog.records if record.name == ACCESS_LOGGER]


# --- request ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    ["abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "req:1/2+x=@~.", "a" * MAX_REQUEST_ID],
)
def test_a_sane_request_id_is_kept(given: str) -> None:
    assert request_id_of([(b"x-request-id", given.encode())]) == given


@pytest.mark.parametrize(
    "given",
    [b"", b"has space", b"new\nline", b"a" * (MAX_REQUEST_ID + 1), b"caf\xc3\xa9", b"<script>"],
)
def test_an_insane_request_id_is_replaced(given: bytes) -> None:
    made = request_id_of([(b"x-request-id", given)])
    assert made.encode() != given
    assert len(made) == 32 and int(made, 16) >= 0


def test_without_a_request_id_each_request_gets_a_new_one() -> None:
    made = {request_id_of([(b"accept", b"text/plain")]) for _ in range(100)}
    assert len(made) == 100


def test_the_request_id_comes_back_in_the_response(client: TestClient) -> None:
    given = client.get("/-/", headers={"X-Request-Id": "trace-me-42"})
    assert given.headers["x-request-id"] == "trace-me-42"
    made = client.get("/-/")
    assert len(made.headers["x-request-id"]) == 32
    # Kept responses (discovery is rendered once) do not keep an earlier request's id.
    again = client.get("/-/")
    assert again.headers["x-request-id"] != made.headers["x-request-id"]
    refused = client.get("/nowhere", headers={"X-Request-Id": "bad one"})
    assert refused.status_code == 404
    assert refused.headers["x-request-id"] != "bad one"


# --- the access log -------------------------------------------------------------------------


def test_one_access_line_per_request_with_what_it_did(
    client: TestClient, access: pytest.LogCaptureFixture
) -> None:
    created = client.post(
        "/compute/",
        json={"kind": COMPUTE},
        headers={"content-type": OCCI_JSON, "accept": OCCI_JSON, "X-Request-Id": "make-1"},
    )
    assert created.status_code == 201
    listed = client.get("/compute/?page=1&number=5", headers={"user-agent": "probe/1.0"})
    assert listed.status_code == 200
    lines = access_lines(access)
    assert len(lines) == 2
    made, read = lines
    assert made["request_id"] == "make-1"
    assert (made["method"], made["path"], made["target"]) == (
        "POST",
        "/compute/",
        "kind_collection",
    )
    assert (made["status"], made["tenant"]) == (201, "default")
    assert made["backend_calls"] >= 1 and made["duration_ms"] > 0
    assert made["bytes"] == len(created.content)
    assert read["query"] == "page=1&number=5"
    assert read["user_agent"] == "probe/1.0"
    assert read["request_id"] == listed.headers["x-request-id"]
    messages = [r.getMessage() for r in access.records if r.name == ACCESS_LOGGER]
    assert messages[1].startswith('testclient "GET /compute/?page=1&number=5" 200 kind_collection')


def test_the_access_line_shows_no_credential(tmp_path: Path, access) -> None:
    users = tmp_path / "users.toml"
    write_users_file(users, {"alice": User("alice", "physics", hash_password("s3cret-pw"))})
    config = f'[auth]\nmethod = "basic"\nusers_file = "{users}"\n'
    basic = "Basic " + base64.b64encode(b"alice:s3cret-pw").decode()
    with client_for(tmp_path, config) as client:
        client.get("/-/", headers={"Authorization": basic, "X-Auth-Token": "tok-in-header"})
        client.get("/-/?access_token=tok-in-query&page=1", headers={"Authorization": basic})
        client.get("/-/", headers={"Authorization": "Bearer tok-as-bearer"})
        client.get("/-/?tok-as-name", headers={"Authorization": basic})
    text = "\n".join(f"{r.getMessage()} {r.access}" for r in access.records)
    for secret in ("s3cret-pw", basic.split()[1], "tok-in-header", "tok-in-query", "tok-as"):
        assert secret not in text
    queries = [line["query"] for line in access_lines(access)]
    assert queries == ["", "***&page=1", "", "***"]
    assert [line["tenant"] for line in access_lines(access)] == [
        "physics",
        "physics",
        None,
        "physics",
    ]


def test_no_access_line_when_turned_off(tmp_path: Path, access) -> None:
    with client_for(tmp_path, "access_log = false\n") as client:
        response = client.get("/-/")
    assert response.status_code == 200
    assert access_lines(access) == []
    # Nothing watches the requests then: no id is made.
    assert "x-request-id" not in response.headers


def test_control_characters_of_a_path_do_not_break_the_line(
    client: TestClient, access: pytest.LogCaptureFixture
) -> None:
    client.get("/compute/a%0Ab%1b")
    (line,) = access_lines(access)
    assert line["path"] == "/compute/a?b?"


def test_a_failure_is_watched_as_well(
    client: TestClient, access: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: OcciService, tenant: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(OcciService, "model_for", broken)
    response = client.get("/-/", headers={"X-Request-Id": "bug-7"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "bug-7"
    (line,) = access_lines(access)
    assert (line["status"], line["request_id"], line["target"]) == (500, "bug-7", "unresolved")
    assert current_request.get() is None


# --- targets ---------------------------------------------------------------------------------


def test_target_labels_follow_the_routing() -> None:
    model = standard_model()
    compute = model.get(COMPUTE)
    assert isinstance(compute, Kind)
    mixin = next(m for m in model.mixins if isinstance(m, Mixin))
    entity = EntityPath(compute, "x", "/compute/x")
    labels = {
        target_label(QueryInterface(), "GET", {}),
        target_label(Collection(compute), "GET", {}),
        target_label(Collection(compute), "POST", {"action": "start"}),
        target_label(Collection(mixin), "PUT", {}),
        target_label(entity, "GET", {"action": "start"}),
        target_label(entity, "POST", {"action": "start"}),
    }
    assert labels == {
        "query_interface",
        "kind_collection",
        "collection_action",
        "mixin_collection",
        "entity",
        "entity_action",
    }
    assert labels <= set(TARGETS)
