"""The ASGI app's two ways of answering a read: straight from the scope (`answer_read`)
and through the full handler. A plain GET of the query interface or of an entity
takes the first; the same GET with any query string takes the second. Both must
answer the same bytes, errors included."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pyocci.server import app as app_module
from pyocci.server.app import create_app
from pyocci.server.auth.hashing import hash_password
from pyocci.server.auth.users import User, write_users_file
from pyocci.server.config import load_config

OCCI_JSON = "application/occi+json"
TEXT_PLAIN = "text/plain"
TEXT_OCCI = "text/occi"
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


def both_ways(client: TestClient, path: str, headers: dict[str, str]) -> tuple:
    """The answers of the direct way and of the full handler to the same read."""
    direct = client.get(path, headers=headers)
    handled = client.get(path + "?via=handler", headers=headers)
    return direct, handled


def assert_same(direct, handled) -> None:
    """Same status, body, media type, error and OCCI headers."""
    assert direct.status_code == handled.status_code
    assert direct.content == handled.content
    for name in ("content-type", "x-occi-error", "www-authenticate", "retry-after"):
        assert direct.headers.get(name) == handled.headers.get(name), name
    assert [h for h in direct.headers.raw if h[0].lower().startswith(b"x-occi")] == [
        h for h in handled.headers.raw if h[0].lower().startswith(b"x-occi")
    ]


@pytest.mark.parametrize("accept", [OCCI_JSON, TEXT_PLAIN, TEXT_OCCI, "*/*", None])
def test_discovery_is_the_same_either_way(client: TestClient, accept: str | None) -> None:
    headers = {"accept": accept} if accept else {}
    direct, handled = both_ways(client, "/-/", headers)
    assert direct.status_code == 200
    assert_same(direct, handled)
    # Sent twice from the kept messages, the answer does not change.
    assert client.get("/-/", headers=headers).content == direct.content


@pytest.mark.parametrize("accept", [OCCI_JSON, TEXT_PLAIN, TEXT_OCCI])
def test_an_entity_is_the_same_either_way(client: TestClient, accept: str) -> None:
    created = client.post(
        "/compute/",
        headers={"content-type": TEXT_PLAIN, "accept": TEXT_PLAIN},
        content=f'Category: compute; scheme="{COMPUTE[: COMPUTE.index("#") + 1]}"; '
        'class="kind"\n'
        'Category: debian-12; scheme="http://schemas.pyocci.org/sim/os_tpl#"; class="mixin"\n'
        'X-OCCI-Attribute: occi.core.title="web"\n',
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"].split("://", 1)[-1].split("/", 1)[-1]
    direct, handled = both_ways(client, "/" + location, {"accept": accept})
    assert direct.status_code == 200
    assert b"web" in direct.content or "web" in direct.headers.get("x-occi-attribute", "")
    assert_same(direct, handled)


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/compute/no-such-id", {"accept": OCCI_JSON}, 404),
        ("/-/", {"accept": "image/png"}, 406),
        ("/-/", {"accept": OCCI_JSON, "user-agent": "rOCCI-cli OCCI/9.9"}, 501),
        ("/-/", {"accept": TEXT_PLAIN, "category": 'compute; scheme="x"'}, 400),
        ("/nowhere/at/all", {"accept": TEXT_PLAIN}, 404),
    ],
)
def test_refusals_are_the_same_either_way(
    client: TestClient, path: str, headers: dict[str, str], status: int
) -> None:
    direct, handled = both_ways(client, path, headers)
    assert direct.status_code == status, direct.text
    assert_same(direct, handled)


def test_too_many_headers_are_refused_either_way(tmp_path: Path) -> None:
    with client_for(tmp_path, "[limits]\nmax_header_count = 8\n") as client:
        headers = {f"x-extra-{n}": "1" for n in range(10)}
        direct, handled = both_ways(client, "/-/", headers)
        assert direct.status_code == 431
        assert_same(direct, handled)


def test_authentication_is_asked_for_either_way(tmp_path: Path) -> None:
    users = tmp_path / "users"
    config = f'[auth]\nmethod = "basic"\nusers_file = "{users}"\n'
    write_users_file(
        users, {"alice": User("alice", "alice", password_hash=hash_password("alice-secret"))}
    )
    with client_for(tmp_path, config) as client:
        direct, handled = both_ways(client, "/-/", {"accept": OCCI_JSON})
        assert direct.status_code == 401
        assert_same(direct, handled)
        wrong = "Basic " + base64.b64encode(b"alice:not-her-secret").decode()
        direct, handled = both_ways(client, "/-/", {"accept": OCCI_JSON, "authorization": wrong})
        assert direct.status_code == 401
        assert_same(direct, handled)
        good = "Basic " + base64.b64encode(b"alice:alice-secret").decode()
        direct, handled = both_ways(client, "/-/", {"accept": OCCI_JSON, "authorization": good})
        assert direct.status_code == 200
        assert_same(direct, handled)


@pytest.mark.parametrize("accept", [OCCI_JSON, TEXT_PLAIN, "text/uri-list"])
def test_a_small_listing_is_sent_whole_a_big_one_streamed(
    client: TestClient, accept: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for title in ("a", "b", "c"):
        created = client.post(
            "/compute/",
            json={"kind": COMPUTE, "attributes": {"occi.core.title": title}},
            headers={"content-type": OCCI_JSON, "accept": OCCI_JSON},
        )
        assert created.status_code == 201, created.text
    whole = client.get("/compute/", headers={"accept": accept})
    assert whole.status_code == 200
    assert whole.headers["content-length"] == str(len(whole.content))
    assert whole.content.count(b"/compute/") >= 3
    # The same listing past the size sent whole: streamed, the same bytes.
    monkeypatch.setattr(app_module, "WHOLE_LISTING_BYTES", 10)
    streamed = client.get("/compute/", headers={"accept": accept})
    assert streamed.status_code == 200
    assert "content-length" not in streamed.headers
    assert streamed.content == whole.content
    assert streamed.headers["content-type"] == whole.headers["content-type"]
