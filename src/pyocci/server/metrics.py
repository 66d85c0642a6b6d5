"""The server's Prometheus metrics: what is measured, and the page that shows it.

`ServerMetrics` holds the instruments (see ``docs/operations.md`` for every
name and label): requests by method, target and status, with their
latency; backend calls by operation, with their latency and errors; failed
authentications; cache lookups; entities by kind and state. Every label
takes few values (a target is the kind of thing a path names, never the
path), so a client cannot grow the page by inventing paths or ids.

Several worker processes: when ``PROMETHEUS_MULTIPROC_DIR`` names a
directory (``occi-server`` sets it to a fresh one whenever metrics are on),
prometheus-client keeps each process's values in files there, and a scrape,
answered by any worker or by ``occi-server``'s own listener, adds up every
process's. That environment variable must be set before prometheus-client
is imported, which is why nothing imports this module before the server
starts. Without it (an app built in-process, one process) the values live
in memory.

One `ServerMetrics` per process (`server_metrics`): in multiprocess mode two
sets of instruments of the same names would overwrite each other's files.
"""

from __future__ import annotations

import functools
import hmac
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

from pyocci import __version__
from pyocci.backends.api import Census
from pyocci.backends.lookups import CACHES, lookups
from pyocci.backends.measured import error_kind
from pyocci.model.category import Kind
from pyocci.model.registry import Model
from pyocci.server.config import MULTIPROCESS_ENV

__all__ = [
    "METRICS_PATH",
    "MULTIPROCESS_ENV",
    "ServerMetrics",
    "check_scraper",
    "known_states",
    "metrics_page",
    "server_metrics",
]

#: Where the page is served.
METRICS_PATH = "/metrics"

#: Request latency buckets, in seconds: from a kept entity read to a slow cloud.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
#: Backend call latency buckets, in seconds: from a local store read to a cloud deadline.
BACKEND_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
)
#: HTTP methods counted under their own name; any other is ``other``.
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"))


def multiprocess() -> bool:
    """Whether values are kept in per-process files (``PROMETHEUS_MULTIPROC_DIR`` is set)."""
    return bool(os.environ.get(MULTIPROCESS_ENV))


class ServerMetrics:
    """The instruments of one server process, in `registry` (a private one by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        if multiprocess() and not getattr(values.ValueClass, "_multiprocess", False):
            # Values would stay in this process and every scrape would miss them.
            raise RuntimeError(
                f"prometheus_client was imported before {MULTIPROCESS_ENV} was set; "
                "set it before the server starts"
            )
        self.registry = registry if registry is not None else CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "pyocci_http_requests",
            "HTTP requests answered, by method, target (what the path names) and status",
            ("method", "target", "status"),
            registry=registry,
        )
        self.request_seconds = Histogram(
            "pyocci_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by method and target",
            ("method", "target"),
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.backend_seconds = Histogram(
            "pyocci_backend_call_duration_seconds",
            "Backend calls and the time the backend took, by operation (its count is the "
            "number of calls)",
            ("operation",),
            buckets=BACKEND_BUCKETS,
            registry=registry,
        )
        self.backend_errors = Counter(
            "pyocci_backend_errors",
            "Backend calls that failed, by operation and error",
            ("operation", "error"),
            registry=registry,
        )
        self.auth_failures = Counter(
            "pyocci_auth_failures",
            "Requests refused by authentication, by auth method and reason (refused: 401, "
            "throttled: 429, unavailable: the identity service could not be reached)",
            ("method", "reason"),
            registry=registry,
        )
        self.cache_lookups = Counter(
            "pyocci_cache_lookups",
            "Cache lookups by cache and result (hit or miss)",
            ("cache", "result"),
            registry=registry,
        )
        self.entities = Gauge(
            "pyocci_entities",
            "Entities by kind (term) and state, every tenant's, as last counted",
            ("kind", "state"),
            multiprocess_mode="mostrecent",
            registry=registry,
        )
        self.census_time = Gauge(
            "pyocci_entities_counted_timestamp_seconds",
            "When the entities were last counted (Unix time)",
            multiprocess_mode="mostrecent",
            registry=registry,
        )
        self.info = Gauge(
            "pyocci_server_info",
            "The server: pyocci version, backend, auth method (always 1)",
            ("version", "backend", "auth_method"),
            multiprocess_mode="max",
            registry=registry,
        )
        # labels() takes a lock and checks its arguments each time: the children of the
        # hot instruments are kept here, by their label values.
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._request_seconds: dict[tuple[str, str], Any] = {}
        self._backend_seconds: dict[str, Any] = {}

    # --- what the server tells ------------------------------------------------------------

    def request(self, method: str, target: str, status: int, seconds: float) -> None:
        """A request answered: its method, target label, status and duration."""
        if method not in METHODS:
            method = "other"
        key = (method, target, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = self.requests.labels(method, target, str(status))
        counter.inc()
        timed = (method, target)
        histogram = self._request_seconds.get(timed)
        if histogram is None:
            histogram = self._request_seconds[timed] = self.request_seconds.labels(*timed)
        histogram.observe(seconds)

    def backend_call(self, operation: str, seconds: float, error: Exception | None) -> None:
        """A backend call ended (a `pyocci.backends.measured.CallObserver`)."""
        histogram = self._backend_seconds.get(operation)
        if histogram is None:
            histogram = self._backend_seconds[operation] = self.backend_seconds.labels(operation)
        histogram.observe(seconds)
        if error is not None:
            self.backend_errors.labels(operation, error_kind(error)).inc()

    def auth_failure(self, method: str, reason: str) -> None:
        """A request authentication refused (`reason`: refused, throttled, unavailable)."""
        self.auth_failures.labels(method, reason).inc()

    def count_cache_lookups(self) -> None:
        """Count the lookups of every cache of `pyocci.backends.lookups` from now on."""
        for cache in CACHES:
            hits = self.cache_lookups.labels(cache, "hit")
            misses = self.cache_lookups.labels(cache, "miss")
            lookups(cache).count_with(hits.inc, misses.inc)

    def census(self, counted: Census, states: Mapping[str, tuple[str, ...]]) -> None:
        """Entities as counted, by kind id and state; every state of `states` (by kind
        id) not counted is set to 0, so a state that emptied shows 0 in every process's
        latest values."""
        shown: dict[tuple[str, str], int] = {
            (kind, state): 0 for kind, kind_states in states.items() for state in kind_states
        }
        shown.update(counted)
        for (kind, state), number in shown.items():
            self.entities.labels(kind.rsplit("#", 1)[-1], state).set(number)
        self.census_time.set(time.time())

    def describe_server(self, backend: str, auth_method: str) -> None:
        """Set `pyocci_server_info`."""
        self.info.labels(__version__, backend, auth_method).set(1)

    # --- the page ---------------------------------------------------------------------------

    def page(self) -> bytes:
        """The metrics in Prometheus' text format: every process's in multiprocess mode."""
        return metrics_page(self.registry)


def metrics_page(registry: CollectorRegistry | None = None) -> bytes:
    """Every process's metrics (multiprocess mode) or those of `registry`, as text."""
    if multiprocess():
        combined = CollectorRegistry()
        MultiProcessCollector(combined)
        return generate_latest(combined)
    if registry is None:
        raise ValueError("outside multiprocess mode a registry must be given")
    return generate_latest(registry)


#: The media type of the page.
CONTENT_TYPE = CONTENT_TYPE_LATEST


def check_scraper(authorization: str | None, token: str | None) -> str | None:
    """Why a scrape with this Authorization header is refused (None: it is not): with a
    `token`, it must be ``Bearer <token>``."""
    if token is None:
        return None
    if authorization is None:
        return "the metrics need 'Authorization: Bearer <token>' ([metrics] token)"
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode("utf-8", "replace"), token.encode("utf-8")
    ):
        return "wrong metrics token"
    return None


def known_states(model: Model, kind_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Every state each kind's entities can be in: the values of the attribute its state
    machine follows (``""`` alone for a kind without one). What a census reports,
    zeros included."""
    states: dict[str, tuple[str, ...]] = {}
    for kind_id in kind_ids:
        if not isinstance(model.get(kind_id), Kind):
            continue
        machine = model.state_machine(kind_id)
        definition = (
            model.attribute_definitions(kind_id).get(machine.attribute) if machine else None
        )
        states[kind_id] = definition.enum if definition is not None and definition.enum else ("",)
    return states


@functools.cache
def server_metrics() -> ServerMetrics:
    """This process's metrics, made on first use (see the module's note)."""
    metrics = ServerMetrics()
    metrics.count_cache_lookups()
    return metrics
