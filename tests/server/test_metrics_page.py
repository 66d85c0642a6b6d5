"""``/metrics`` on the OCCI port: only for a scraper with the token, outside the OCCI
namespace, and showing what the requests and the backend did (in-process app on the sim)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from pyocci.server.app import create_app
from pyocci.server.auth.hashing import hash_password
from pyocci.server.auth.users import User, write_users_file
from pyocci.server.config import load_config

TOKEN = "0123456789abcdef0123"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}
CONFIG = f'[metrics]\nenabled = true\ntoken = "{TOKEN}"\ncensus_seconds = 0\n'
OCCI_JSON = "application/occi+json"
COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"


def client_for(tmp_path: Path, config: str) -> TestClient:
    config_file = tmp_path / "server.toml"
    config_file.write_text(config)
    environ = {"PYOCCI_DATABASE_URL": f"sqlite:///{tmp_path / 'occi.db'}"}
    return TestClient(create_app(load_config(config_file, environ=environ)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path, CONFIG) as client:
        yield client


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def count(page: dict, name: str, **labels: str) -> float:
    return page.get((name, frozenset(labels.items())), 0.0)


def test_a_scraper_without_the_token_is_refused(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert "Authorization: Bearer" in response.text
    wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 20})
    assert wrong.status_code == 401
    assert "pyocci_" not in wrong.text


def test_the_page_is_read_with_get(client: TestClient) -> None:
    response = client.post("/metrics", headers=SCRAPER)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_requests_and_backend_calls_show_on_the_page(client: TestClient) -> None:
    before = scrape(client)
    created = client.post(
        "/compute/",
        json={"kind": COMPUTE, "attributes": {"occi.core.title": "counted"}},
        headers={"content-type": OCCI_JSON, "accept": OCCI_JSON},
    )
    assert created.status_code == 201
    path = "/" + created.headers["location"].split("://", 1)[1].split("/", 1)[1]
    for _ in range(3):
        assert client.get(path, headers={"accept": OCCI_JSON}).status_code == 200
    assert client.get("/compute/nothing-here").status_code == 404
    assert client.get("/nowhere/at/all").status_code == 404
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return count(after, name, **labels) - count(before, name, **labels)

    requests = "pyocci_http_requests_total"
    assert grew(requests, method="POST", target="kind_collection", status="201") == 1
    assert grew(requests, method="GET", target="entity", status="200") == 3
    assert grew(requests, method="GET", target="entity", status="404") == 1
    assert grew(requests, method="GET", target="unresolved", status="404") == 1
    # Only kinds of target are labels, never a path or an id.
    assert not any(path in str(labels) for _, labels in after)
    backend = "pyocci_backend_call_duration_seconds_count"
    assert grew(backend, operation="create_entity") == 1
    assert grew("pyocci_backend_errors_total", operation="get_entity", error="not_found") == 1
    # The second and third reads of the entity came from the kept rendering.
    looked = "pyocci_cache_lookups_total"
    assert grew(looked, cache="entity", result="hit") == 2
    assert grew(looked, cache="model", result="hit") + grew(looked, cache="model", result="miss")
    # The scrape before this one was counted too, as what it is.
    assert grew(requests, method="GET", target="metrics", status="200") == 1


def test_auth_failures_are_counted_by_reason(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    write_users_file(users, {"alice": User("alice", "physics", hash_password("right"))})
    config = (
        CONFIG + f'[auth]\nmethod = "basic"\nusers_file = "{users}"\nmax_failures_per_user = 2\n'
    )
    with client_for(tmp_path, config) as client:
        before = scrape(client)
        # Each a new guess: a remembered refusal is not counted against the user again.
        statuses = [
            client.get("/-/", headers={"Authorization": basic(f"alice:wrong{n}")}).status_code
            for n in range(3)
        ]
        assert client.get("/-/").status_code == 401
        assert client.get("/-/", headers={"Authorization": basic("bob:x")}).status_code == 401
        after = scrape(client)
    assert statuses == [401, 401, 429]

    def grew(reason: str) -> float:
        name = "pyocci_auth_failures_total"
        labels = {"method": "basic", "reason": reason}
        return count(after, name, **labels) - count(before, name, **labels)

    assert grew("refused") == 4
    assert grew("throttled") == 1


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def test_metrics_off_serve_no_page(tmp_path: Path) -> None:
    with client_for(tmp_path, "") as client:
        response = client.get("/metrics", headers=SCRAPER)
    # /metrics is then an OCCI path like any other: nothing lives there.
    assert response.status_code == 404
    assert "x-occi-error" in response.headers


def test_with_a_port_of_its_own_the_occi_port_has_no_page(tmp_path: Path) -> None:
    config = "[metrics]\nenabled = true\nport = 1\ncensus_seconds = 0\n"
    with client_for(tmp_path, config) as client:
        assert client.get("/metrics", headers=SCRAPER).status_code == 404


def test_an_unreachable_identity_service_is_counted_as_unavailable(tmp_path: Path) -> None:
    from e2e.server import free_port

    closed = f"http://127.0.0.1:{free_port()}/v3"
    config = CONFIG + (
        f'[auth]\nmethod = "keystone"\nkeystone_url = "{closed}"\n'
        'keystone_service_user = "occi"\nkeystone_service_password = "pw"\n'
        'keystone_service_project = "service"\nkeystone_timeout = 2\n'
    )
    with client_for(tmp_path, config) as client:
        before = scrape(client)
        assert client.get("/-/", headers={"X-Auth-Token": "gAAAA-some-token"}).status_code == 503
        after = scrape(client)
    name = "pyocci_auth_failures_total"
    labels = {"method": "keystone", "reason": "unavailable"}
    assert count(after, name, **labels) - count(before, name, **labels) == 1


def test_the_credential_cache_counts_its_lookups(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    write_users_file(users, {"alice": User("alice", "physics", hash_password("right"))})
    config = CONFIG + f'[auth]\nmethod = "basic"\nusers_file = "{users}"\n'
    alice = {"Authorization": basic("alice:right")}
    with client_for(tmp_path, config) as client:
        before = scrape(client)
        for _ in range(3):
            assert client.get("/-/", headers=alice).status_code == 200
        after = scrape(client)

    def grew(result: str) -> float:
        labels = {"cache": "auth", "result": result}
        name = "pyocci_cache_lookups_total"
        return count(after, name, **labels) - count(before, name, **labels)

    # The password is checked once (scrypt); then the kept outcome answers.
    assert (grew("miss"), grew("hit")) == (1, 2)
