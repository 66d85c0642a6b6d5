"""``/metrics`` on a listener of its own: the page for a scraper with the token (when one
is set), 404 elsewhere, over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from pyocci.server.metrics import ServerMetrics
from pyocci.server.metrics_listener import MetricsListener

TOKEN = "0123456789abcdef0123"


@pytest.fixture
def metrics() -> ServerMetrics:
    metrics = ServerMetrics(CollectorRegistry())
    metrics.request("GET", "entity", 200, 0.01)
    return metrics


def listening(metrics: ServerMetrics, token: str | None) -> Iterator[str]:
    listener = MetricsListener("127.0.0.1", 0, token, page=metrics.page)
    listener.start()
    try:
        yield f"http://127.0.0.1:{listener.port}"
    finally:
        listener.stop()


@pytest.fixture
def open_url(metrics: ServerMetrics) -> Iterator[str]:
    yield from listening(metrics, None)


@pytest.fixture
def guarded_url(metrics: ServerMetrics) -> Iterator[str]:
    yield from listening(metrics, TOKEN)


def test_the_page_is_served_and_parses(open_url: str) -> None:
    response = httpx.get(open_url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    (sample,) = families["pyocci_http_requests"].samples
    assert sample.labels == {"method": "GET", "target": "entity", "status": "200"}
    assert sample.value == 1


def test_only_the_metrics_path_is_served(open_url: str) -> None:
    assert httpx.get(open_url + "/").status_code == 404
    assert httpx.get(open_url + "/metrics/x").status_code == 404
    refused = httpx.post(open_url + "/metrics")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"


def test_with_a_token_the_scraper_must_send_it(guarded_url: str) -> None:
    refused = httpx.get(guarded_url + "/metrics")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert "pyocci_" not in refused.text
    wrong = httpx.get(guarded_url + "/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    let_in = httpx.get(guarded_url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert let_in.status_code == 200 and "pyocci_http_requests_total" in let_in.text


def test_a_busy_port_is_an_os_error(open_url: str) -> None:
    port = int(open_url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        MetricsListener("127.0.0.1", port, None)
