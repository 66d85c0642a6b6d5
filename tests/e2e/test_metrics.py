"""Metrics end to end: real ``occi-server`` processes scraped over HTTP, the page read by
prometheus-client's own parser.

Two workers on PostgreSQL with ``/metrics`` on a listener of its own (run
by occi-server's main process): what a scrape shows is every worker's
requests added up, the census of entities, the backend's errors; and one
granian worker with ``/metrics`` on the OCCI port behind its token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from e2e.occiclient import COMPUTE, DEBIAN, OCCI_JSON, TEXT_PLAIN, EntityDoc, Occi
from e2e.server import RunningServer, StartServer, free_port

pytestmark = pytest.mark.e2e

TOKEN = "e2e-metrics-token-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def access_lines(log: Path) -> list[dict]:
    lines = []
    for text in log.read_text().splitlines():
        if text.startswith("{"):
            line = json.loads(text)
            if line["logger"] == "pyocci.access":
                lines.append(line)
    return lines


# --- two workers, metrics on a port of their own --------------------------------------------


class Workers:
    """The two-worker server and the URL of its metrics listener."""

    def __init__(self, server: RunningServer, metrics_url: str) -> None:
        self.server = server
        self.metrics_url = metrics_url

    def scrape(self) -> Samples:
        response = httpx.get(self.metrics_url, timeout=10)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain; version=")
        return parse(response.text)


@pytest.fixture(scope="module")
def workers(request: pytest.FixtureRequest, start_server: StartServer) -> Iterator[Workers]:
    database_url = request.getfixturevalue("postgres_server").create_database()
    port = free_port()
    config = (
        'workers = 2\nlog_format = "json"\n'
        f"[metrics]\nenabled = true\nport = {port}\ncensus_seconds = 1\n"
    )
    with start_server(config=config, database_url=database_url) as server:
        yield Workers(server, f"http://127.0.0.1:{port}/metrics")


def test_a_scrape_adds_up_every_workers_requests(workers: Workers) -> None:
    before = workers.scrape()
    url = workers.server.url + "/-/"
    asked = 0
    pids: set[int] = set()
    # Each request on a connection of its own, several at once: the workers share the
    # listening socket, and both take some (tried in bounded rounds until both did).
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(10):
            statuses = list(pool.map(lambda _: httpx.get(url, timeout=30).status_code, range(40)))
            assert statuses == [200] * 40
            asked += 40
            time.sleep(0.2)  # the access lines are written once the responses are sent
            lines = [line for line in access_lines(workers.server.log) if line["path"] == "/-/"]
            pids = {line["process"] for line in lines}
            if len(pids) >= 2:
                break
    assert len(pids) == 2, "every request went to one worker; the sum proves nothing"
    after = workers.scrape()
    labels = {"method": "GET", "target": "query_interface", "status": "200"}
    assert (
        value(after, "pyocci_http_requests_total", **labels)
        - value(before, "pyocci_http_requests_total", **labels)
        == asked
    )
    timed = {"method": "GET", "target": "query_interface"}
    name = "pyocci_http_request_duration_seconds_count"
    assert value(after, name, **timed) - value(before, name, **timed) == asked


def test_entities_are_counted_by_kind_and_state(workers: Workers) -> None:
    with workers.server.client() as http:
        occi = Occi(http, TEXT_PLAIN)
        for _ in range(2):
            occi.create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN]))
    deadline = time.monotonic() + 30
    while True:
        samples = workers.scrape()
        active = value(samples, "pyocci_entities", kind="compute", state="active")
        if active == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert active == 2
    assert value(samples, "pyocci_entities", kind="compute", state="inactive") == 0
    assert value(samples, "pyocci_entities", kind="storage", state="online") == 0
    assert value(samples, "pyocci_entities_counted_timestamp_seconds") > time.time() - 60


def test_backend_calls_and_errors_are_counted_by_operation(workers: Workers) -> None:
    before = workers.scrape()
    with workers.server.client() as http:
        assert http.get("/compute/no-such-vm", headers={"Accept": OCCI_JSON}).status_code == 404
        assert http.get("/compute/", headers={"Accept": OCCI_JSON}).status_code == 200
    after = workers.scrape()
    errors = {"operation": "get_entity", "error": "not_found"}
    grew = value(after, "pyocci_backend_errors_total", **errors) - value(
        before, "pyocci_backend_errors_total", **errors
    )
    assert grew == 1
    listing = {"operation": "list_entities"}
    name = "pyocci_backend_call_duration_seconds_count"
    assert value(after, name, **listing) - value(before, name, **listing) == 1
    # No label holds a path or an id.
    assert not any("no-such-vm" in str(labels) for _, labels in after)
    assert value(after, "pyocci_server_info", version=_version(), backend="sim", auth_method="none")


def test_the_listener_serves_only_the_metrics(workers: Workers) -> None:
    base = workers.metrics_url.removesuffix("/metrics")
    assert httpx.get(base + "/-/").status_code == 404
    # The OCCI port has no page then: /metrics is an OCCI path where nothing lives.
    assert httpx.get(workers.server.url + "/metrics").status_code == 404


def _version() -> str:
    from pyocci import __version__

    return __version__


# --- granian, metrics on the OCCI port -------------------------------------------------------


@pytest.fixture(scope="module")
def granian_server(start_server: StartServer) -> Iterator[RunningServer]:
    config = (
        f'server = "granian"\n[metrics]\nenabled = true\ntoken = "{TOKEN}"\ncensus_seconds = 0\n'
    )
    with start_server(config=config) as server:
        yield server


def test_on_the_occi_port_the_token_is_needed(granian_server: RunningServer) -> None:
    url = granian_server.url + "/metrics"
    refused = httpx.get(url)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert httpx.get(url, headers={"Authorization": "Bearer " + "x" * 30}).status_code == 401
    httpx.get(granian_server.url + "/-/")
    page = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200
    samples = parse(page.text)
    labels = {"method": "GET", "target": "metrics", "status": "401"}
    assert value(samples, "pyocci_http_requests_total", **labels) == 2
    assert (
        value(
            samples,
            "pyocci_http_requests_total",
            method="GET",
            target="query_interface",
            status="200",
        )
        >= 1
    )
