"""The ASGI app answers every request one way: checks, authentication, the path
resolved, then the handler of the target. These tests read through it as a client
does: discovery and entity reads, with and without a query string, refusals,
limits and authentication, listings whole and streamed, attribute filters."""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pki import Pki
from pyocci.server.app import create_app, create_app_from_environment
from pyocci.server.auth.hashing import hash_password
from pyocci.server.auth.users import User, write_users_file
from pyocci.server.config import CONFIG_JSON_ENV, load_config
from pyocci.server.handlers import listings

OCCI_JSON = "application/occi+json"
TEXT_PLAIN = "text/plain"
TEXT_OCCI = "text/occi"
URI_LIST = "text/uri-list"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE = INFRA + "compute"


def client_for(tmp_path: Path, config: str = "") -> TestClient:
    config_file = tmp_path / "server.toml"
    config_file.write_text(config)
    environ = {"PYOCCI_DATABASE_URL": f"sqlite:///{tmp_path / 'occi.db'}"}
    return TestClient(create_app(load_config(config_file, environ=environ)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path) as client:
        yield client


def create_compute(client: TestClient, **attributes: object) -> str:
    """The path of a new compute with these attributes."""
    created = client.post(
        "/compute/",
        json={"kind": COMPUTE, "attributes": attributes},
        headers={"content-type": OCCI_JSON, "accept": OCCI_JSON},
    )
    assert created.status_code == 201, created.text
    return "/" + created.headers["location"].split("://", 1)[-1].split("/", 1)[-1]


def occi_headers(response) -> list[tuple[bytes, bytes]]:
    return [h for h in response.headers.raw if h[0].lower().startswith(b"x-occi")]


def assert_same(first, second) -> None:
    """Same status, body, media type, error and OCCI headers."""
    assert first.status_code == second.status_code
    assert first.content == second.content
    for name in ("content-type", "x-occi-error", "www-authenticate", "retry-after"):
        assert first.headers.get(name) == second.headers.get(name), name
    assert occi_headers(first) == occi_headers(second)


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (OCCI_JSON, OCCI_JSON),
        (TEXT_PLAIN, TEXT_PLAIN),
        (TEXT_OCCI, TEXT_OCCI),
        ("*/*", TEXT_PLAIN),
        (None, TEXT_PLAIN),
    ],
)
def test_discovery_lists_the_categories_in_the_asked_rendering(
    client: TestClient, accept: str | None, media_type: str
) -> None:
    headers = {"accept": accept} if accept else {}
    answer = client.get("/-/", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(media_type)
    # text/occi shows the categories in Category header fields, the others in the body.
    shown = answer.content + b"".join(value for _, value in answer.headers.raw)
    assert f'compute; scheme="{INFRA}"'.encode() in shown or COMPUTE.encode() in shown
    # Sent again from the kept rendering, and a query naming no filter changes nothing.
    assert_same(client.get("/-/", headers=headers), answer)
    assert_same(client.get("/-/?unrelated=1", headers=headers), answer)


def test_discovery_filtered_by_category_names_only_those(client: TestClient) -> None:
    everything = client.get("/-/", headers={"accept": OCCI_JSON}).json()
    by_query = client.get("/-/", params={"category": COMPUTE}, headers={"accept": OCCI_JSON}).json()
    by_header = client.get(
        "/-/",
        headers={"accept": OCCI_JSON, "category": f'compute; scheme="{INFRA}"; class="kind"'},
    ).json()
    assert [kind["term"] for kind in by_query["kinds"]] == ["compute"]
    assert by_header == by_query
    assert len(everything["kinds"]) > 1
    # The compute's actions come with it; other kinds' do not.
    assert {action["term"] for action in by_query["actions"]} >= {"start", "stop"}
    assert len(by_query["actions"]) < len(everything["actions"])


def test_head_answers_as_get_does(client: TestClient) -> None:
    path = create_compute(client, **{"occi.core.title": "web"})
    for target in ("/-/", path, "/compute/"):
        got = client.get(target, headers={"accept": OCCI_JSON})
        head = client.head(target, headers={"accept": OCCI_JSON})
        assert head.status_code == got.status_code == 200
        assert head.headers["content-type"] == got.headers["content-type"]


@pytest.mark.parametrize("accept", [OCCI_JSON, TEXT_PLAIN, TEXT_OCCI])
def test_an_entity_read_shows_it_and_follows_its_changes(client: TestClient, accept: str) -> None:
    path = create_compute(client, **{"occi.core.title": "first-title"})
    first = client.get(path, headers={"accept": accept})
    assert first.status_code == 200
    assert "first-title" in first.text + first.headers.get("x-occi-attribute", "")
    # Read again with nothing changed: the same answer, with or without a query string.
    assert_same(client.get(path, headers={"accept": accept}), first)
    assert_same(client.get(path + "?unrelated=1", headers={"accept": accept}), first)
    renamed = client.post(
        path,
        content='X-OCCI-Attribute: occi.core.title="second-title"\n',
        headers={"content-type": TEXT_PLAIN, "accept": TEXT_PLAIN},
    )
    assert renamed.status_code == 200, renamed.text
    after = client.get(path, headers={"accept": accept})
    assert after.status_code == 200
    shown = after.text + after.headers.get("x-occi-attribute", "")
    # The title changed (the hostname, made from the first title, did not).
    assert 'occi.core.title="second-title"' in shown or '"title":"second-title"' in shown
    assert 'occi.core.title="first-title"' not in shown
    assert '"title":"first-title"' not in shown


@pytest.mark.parametrize(
    ("path", "headers", "status", "words"),
    [
        ("/compute/no-such-id", {"accept": OCCI_JSON}, 404, "no-such-id"),
        ("/-/", {"accept": "image/png"}, 406, "image/png"),
        ("/-/", {"accept": OCCI_JSON, "user-agent": "rOCCI-cli OCCI/9.9"}, 501, "OCCI/9.9"),
        ("/-/", {"accept": TEXT_PLAIN, "category": 'compute; scheme="x"'}, 400, "category"),
        ("/-/?category=no-scheme", {"accept": TEXT_PLAIN}, 400, "scheme#term"),
        ("/nowhere/at/all", {"accept": TEXT_PLAIN}, 404, "/nowhere/at/all"),
        ("/compute/?page=0&number=5", {"accept": TEXT_PLAIN}, 400, "page="),
        ("/-/", {"accept": URI_LIST}, 400, "cannot carry categories"),
    ],
)
def test_a_refused_read_says_why(
    client: TestClient, path: str, headers: dict[str, str], status: int, words: str
) -> None:
    refused = client.get(path, headers=headers)
    assert refused.status_code == status, refused.text
    assert words.lower() in refused.headers["x-occi-error"].lower()
    if refused.headers["content-type"].startswith(OCCI_JSON):
        assert json.loads(refused.content) == {
            "status": status,
            "error": refused.headers["x-occi-error"],
        }


def test_a_method_the_target_does_not_define_is_refused_with_allow(client: TestClient) -> None:
    refused = client.request("PATCH", "/-/", headers={"accept": TEXT_PLAIN})
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD, POST, DELETE"
    refused = client.request("PATCH", "/compute/", headers={"accept": TEXT_PLAIN})
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD, POST, DELETE"


def test_too_many_headers_are_refused_in_the_asked_rendering(tmp_path: Path) -> None:
    with client_for(tmp_path, "[limits]\nmax_header_count = 8\n") as client:
        headers = {f"x-extra-{n}": "1" for n in range(10)}
        refused = client.get("/-/", headers={**headers, "accept": OCCI_JSON})
        assert refused.status_code == 431
        assert refused.headers["content-type"].startswith(OCCI_JSON)
        assert "request headers" in refused.headers["x-occi-error"]
        assert client.get("/-/", headers={"accept": OCCI_JSON}).status_code == 200


def test_authentication_is_asked_for_and_checked_once(tmp_path: Path, verifications) -> None:
    users = tmp_path / "users"
    config = f'[auth]\nmethod = "basic"\nusers_file = "{users}"\n'
    write_users_file(
        users, {"alice": User("alice", "alice", password_hash=hash_password("alice-secret"))}
    )
    with client_for(tmp_path, config) as client:
        path = create_compute_as(client, "alice:alice-secret")
        for target in ("/-/", path, "/compute/"):
            anonymous = client.get(target, headers={"accept": OCCI_JSON})
            assert anonymous.status_code == 401
            assert anonymous.headers["www-authenticate"].startswith("Basic")
            wrong = basic("alice:not-her-secret")
            refused = client.get(target, headers={"accept": OCCI_JSON, "authorization": wrong})
            assert refused.status_code == 401
            before = verifications.calls
            good = basic("alice:alice-secret")
            answer = client.get(target, headers={"accept": OCCI_JSON, "authorization": good})
            assert answer.status_code == 200
            # The credentials are verified once a request, whatever the target.
            assert verifications.calls <= before + 1


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def create_compute_as(client: TestClient, credentials: str) -> str:
    created = client.post(
        "/compute/",
        json={"kind": COMPUTE, "attributes": {"occi.core.title": "web"}},
        headers={
            "content-type": OCCI_JSON,
            "accept": OCCI_JSON,
            "authorization": basic(credentials),
        },
    )
    assert created.status_code == 201, created.text
    return "/" + created.headers["location"].split("://", 1)[-1].split("/", 1)[-1]


@pytest.mark.parametrize("accept", [OCCI_JSON, TEXT_PLAIN, URI_LIST])
def test_a_small_listing_is_sent_whole_a_big_one_streamed(
    client: TestClient, accept: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for title in ("a", "b", "c"):
        create_compute(client, **{"occi.core.title": title})
    whole = client.get("/compute/", headers={"accept": accept})
    assert whole.status_code == 200
    assert whole.headers["content-length"] == str(len(whole.content))
    assert whole.content.count(b"/compute/") >= 3
    # The same listing past the size sent whole: streamed, the same bytes.
    monkeypatch.setattr(listings, "WHOLE_LISTING_BYTES", 10)
    streamed = client.get("/compute/", headers={"accept": accept})
    assert streamed.status_code == 200
    assert "content-length" not in streamed.headers
    assert streamed.content == whole.content
    assert streamed.headers["content-type"] == whole.headers["content-type"]


def test_attribute_filters_sent_as_text_match_typed_values(client: TestClient) -> None:
    two = create_compute(client, **{"occi.core.title": "two", "occi.compute.cores": 2})
    create_compute(client, **{"occi.core.title": "one", "occi.compute.cores": 1})
    # Text carries no types: "2" (quoted, a string) is read as the integer it stands for.
    for value in ('"2"', "2"):
        listed = client.get(
            "/compute/",
            headers={"accept": URI_LIST, "x-occi-attribute": f"occi.compute.cores={value}"},
        )
        assert listed.status_code == 200
        assert [line.split("://", 1)[-1].partition("/")[2] for line in listed.text.split()] == [
            two[1:]
        ]


def test_a_paged_listing_links_its_neighbours(client: TestClient) -> None:
    for title in ("a", "b", "c"):
        create_compute(client, **{"occi.core.title": title})
    page = client.get("/compute/?page=2&number=1", headers={"accept": URI_LIST})
    assert page.status_code == 200
    assert len(page.text.split()) == 1
    links = page.headers["link"]
    for index, rel in ((1, "first"), (1, "prev"), (3, "next"), (3, "last")):
        assert f'/compute/?page={index}&number=1>; rel="{rel}"' in links


def test_the_handshakes_401_always_names_a_challenge(tmp_path: Path) -> None:
    # Method x509 has no challenge of its own: a refused issued token, even beside an
    # Authorization header, is answered with the Keystone one rather than none.
    config = (
        f'[auth]\nmethod = "x509"\nkeystone_handshake = true\n'
        f'handshake_key_file = "{tmp_path / "handshake.key"}"\n'
        f'[tls]\ncertificate = "{tmp_path / "c.pem"}"\nclient_ca = "{tmp_path / "ca.pem"}"\n'
        "require_client_certificate = true\n"
    )
    with client_for(tmp_path, config) as client:
        response = client.get(
            "/-/", headers={"X-Auth-Token": "forged", "Authorization": "Basic eDp5"}
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Keystone uri='http://testserver/-/identity'"
    assert "malformed token" in response.headers["x-occi-error"]


def test_method_voms_under_another_asgi_server_is_warned_of_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, pki: Pki
) -> None:
    # Another ASGI server keeps no connection peer: method voms then takes no certificate
    # header, which the operator learns at start, not from refused users.
    (tmp_path / "vomsdir" / "vo.example.org").mkdir(parents=True)
    shutil.copy(pki.server_certificate, tmp_path / "vomsdir" / "vo.example.org" / "v.pem")
    (tmp_path / "voms.toml").write_text(
        f'ca_certificates = "{pki.ca}"\nvoms_certificates = "vomsdir"\n'
        '[[tenants]]\nclaim = "vo"\nmatch = "^(.*)$"\n'
    )
    (tmp_path / "server.toml").write_text(
        '[auth]\nmethod = "voms"\nfront_addresses = "127.0.0.1"\n'
        f'voms_file = "{tmp_path / "voms.toml"}"\n'
    )
    monkeypatch.setenv("PYOCCI_CONFIG", str(tmp_path / "server.toml"))
    monkeypatch.delenv(CONFIG_JSON_ENV, raising=False)
    with caplog.at_level(logging.WARNING, logger="pyocci.server.auth"):
        create_app_from_environment()
    assert "runs without occi-server's HTTP protocol" in caplog.text
    # Started by occi-server (the configuration handed over): its protocol keeps the peer.
    caplog.clear()
    monkeypatch.setenv(CONFIG_JSON_ENV, load_config(environ=os.environ).to_json())
    with caplog.at_level(logging.WARNING, logger="pyocci.server.auth"):
        create_app_from_environment()
    assert "runs without occi-server's HTTP protocol" not in caplog.text


def post_in_parts(client: TestClient, messages: list[dict]) -> list[dict]:
    """POST /compute/ whose body comes as these ASGI messages (the test client would join
    the parts into one); what the app sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/compute/",
        "raw_path": b"/compute/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"text/plain")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    queue = list(messages)
    sent: list[dict] = []

    async def receive() -> dict:
        return queue.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    client.portal.call(client.app, scope, receive, send)  # type: ignore[union-attr]
    return sent


def part(body: bytes, more: bool = True) -> dict:
    return {"type": "http.request", "body": body, "more_body": more}


def test_a_body_sent_in_parts_is_read_whole_and_bounded(tmp_path: Path) -> None:
    kind = f'Category: compute; scheme="{INFRA}"; class="kind"\n'.encode()
    title = b'X-OCCI-Attribute: occi.core.title="in-parts"\n'
    with client_for(tmp_path, "[limits]\nmax_body_bytes = 1024\n") as client:
        created = post_in_parts(client, [part(kind[:20]), part(kind[20:]), part(title, False)])
        assert created[0]["status"] == 201, created
        listed = client.get("/compute/", headers={"accept": OCCI_JSON}).text
        assert "in-parts" in listed
        # No length declared: the parts are counted as they come.
        too_big = post_in_parts(client, [part(kind), part(b"X" * 1024, False)])
    assert too_big[0]["status"] == 413
    assert b"over 1024 bytes" in too_big[1]["body"]


def test_a_client_gone_before_its_body_ended_is_a_400_and_nothing_is_done(
    client: TestClient,
) -> None:
    sent = post_in_parts(client, [part(b"Category: compute; scheme="), {"type": "http.disconnect"}])
    assert sent[0]["status"] == 400
    assert b"went away before the body ended" in sent[1]["body"]
    assert client.get("/compute/", headers={"accept": URI_LIST}).text.strip() == ""
