"""`ServerMetrics`: what the server tells becomes Prometheus text that Prometheus' own
parser reads back, with bounded labels; the scraper's token; the states a census reports."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from pyocci.backends.errors import EntityNotFoundError
from pyocci.backends.lookups import lookups
from pyocci.model.standard import standard_model
from pyocci.server.metrics import ServerMetrics, check_scraper, known_states

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
TOKEN = "0123456789abcdef0123"


@pytest.fixture
def metrics() -> ServerMetrics:
    return ServerMetrics(CollectorRegistry())


def samples(metrics: ServerMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the page, parsed by prometheus-client's parser."""
    text = metrics.page().decode("utf-8")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: ServerMetrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, frozenset(labels.items())))


def test_requests_are_counted_by_method_target_and_status(metrics: ServerMetrics) -> None:
    metrics.request("GET", "entity", 200, 0.002)
    metrics.request("GET", "entity", 200, 0.004)
    metrics.request("GET", "entity", 404, 0.001)
    metrics.request("BREW", "unresolved", 405, 0.001)
    counted = "pyocci_http_requests_total"
    assert value(metrics, counted, method="GET", target="entity", status="200") == 2
    assert value(metrics, counted, method="GET", target="entity", status="404") == 1
    # A method the client invents is not a label value of its own.
    assert value(metrics, counted, method="other", target="unresolved", status="405") == 1
    timed = "pyocci_http_request_duration_seconds"
    assert value(metrics, timed + "_count", method="GET", target="entity") == 3
    assert value(metrics, timed + "_sum", method="GET", target="entity") == pytest.approx(0.007)
    assert value(metrics, timed + "_bucket", method="GET", target="entity", le="0.0025") == 2
    assert value(metrics, timed + "_bucket", method="GET", target="entity", le="+Inf") == 3


def test_backend_calls_are_timed_and_their_errors_named(metrics: ServerMetrics) -> None:
    metrics.backend_call("get_entity", 0.01, None)
    metrics.backend_call("get_entity", 0.02, EntityNotFoundError("gone"))
    metrics.backend_call("get_entity", 0.02, RuntimeError("a bug"))
    timed = "pyocci_backend_call_duration_seconds"
    assert value(metrics, timed + "_count", operation="get_entity") == 3
    errors = "pyocci_backend_errors_total"
    assert value(metrics, errors, operation="get_entity", error="not_found") == 1
    assert value(metrics, errors, operation="get_entity", error="other") == 1


def test_auth_failures_are_counted_by_method_and_reason(metrics: ServerMetrics) -> None:
    metrics.auth_failure("basic", "refused")
    metrics.auth_failure("basic", "refused")
    metrics.auth_failure("basic", "throttled")
    failures = "pyocci_auth_failures_total"
    assert value(metrics, failures, method="basic", reason="refused") == 2
    assert value(metrics, failures, method="basic", reason="throttled") == 1


def test_cache_lookups_are_counted_once_asked(metrics: ServerMetrics) -> None:
    metrics.count_cache_lookups()
    try:
        lookups("entity").hit()
        lookups("entity").hit()
        lookups("entity").miss()
        looked = "pyocci_cache_lookups_total"
        assert value(metrics, looked, cache="entity", result="hit") == 2
        assert value(metrics, looked, cache="entity", result="miss") == 1
        assert value(metrics, looked, cache="auth", result="hit") == 0
    finally:
        for name in ("auth", "model", "entity", "templates"):
            lookups(name).stop_counting()


def test_a_census_shows_every_known_state_zeros_included(metrics: ServerMetrics) -> None:
    states = {INFRA + "compute": ("active", "inactive"), INFRA + "securitygroup": ("",)}
    metrics.census({(INFRA + "compute", "active"): 3}, states)
    assert value(metrics, "pyocci_entities", kind="compute", state="active") == 3
    assert value(metrics, "pyocci_entities", kind="compute", state="inactive") == 0
    assert value(metrics, "pyocci_entities", kind="securitygroup", state="") == 0
    # A state that empties shows 0 again.
    metrics.census({(INFRA + "compute", "inactive"): 1}, states)
    assert value(metrics, "pyocci_entities", kind="compute", state="active") == 0
    assert value(metrics, "pyocci_entities", kind="compute", state="inactive") == 1
    assert value(metrics, "pyocci_entities_counted_timestamp_seconds") > 0


def test_the_server_is_described(metrics: ServerMetrics) -> None:
    metrics.describe_server("sim", "basic")
    page = samples(metrics)
    (labels,) = [labels for name, labels in page if name == "pyocci_server_info"]
    assert dict(labels)["backend"] == "sim" and dict(labels)["auth_method"] == "basic"


def test_known_states_come_from_each_kinds_state_machine() -> None:
    model = standard_model()
    states = known_states(model, [INFRA + "compute", INFRA + "storage", INFRA + "ipreservation"])
    assert states[INFRA + "compute"] == ("active", "inactive", "suspended", "error", "waiting")
    assert "online" in states[INFRA + "storage"]
    # ipreservation inherits the network's machine.
    assert states[INFRA + "ipreservation"] == ("active", "inactive", "error")
    core = "http://schemas.ogf.org/occi/core#resource"
    assert known_states(model, [core]) == {core: ("",)}
    assert known_states(model, ["http://example.org/nothing#x"]) == {}


@pytest.mark.parametrize(
    ("authorization", "refused"),
    [
        (f"Bearer {TOKEN}", None),
        (f"bearer {TOKEN}", None),
        (None, "the metrics need 'Authorization: Bearer <token>' ([metrics] token)"),
        ("Bearer wrong", "wrong metrics token"),
        (f"Basic {TOKEN}", "wrong metrics token"),
        ("Bearer \u00e9\u00e9", "wrong metrics token"),
    ],
)
def test_a_scraper_must_send_the_token(authorization: str | None, refused: str | None) -> None:
    assert check_scraper(authorization, TOKEN) == refused


def test_without_a_token_every_scraper_is_let_in() -> None:
    assert check_scraper(None, None) is None
