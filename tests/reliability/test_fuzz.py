"""The HTTP fuzzer against a real occi-server, on SQLite and on PostgreSQL.

A bounded share of what ``bench/reliability.py`` runs: `REQUESTS` fuzzed
requests per database, then `AUTH_REQUESTS` more against a server with HTTP
basic authentication. No answer may be a 5xx (but 501), no complete request
may go unanswered, the server log may hold no unexpected error, and the
server must serve a normal client afterwards. The fuzzer itself is checked
first, against stand-in servers that fail on purpose, so that a silent
fuzzer cannot pass for a robust server.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from e2e.server import OCCI_12_USER_AGENT, occi_server
from reliability.fuzzcases import Corpus, generate, load_corpus
from reliability.fuzzer import (
    BASIC_AUTH_CONFIG,
    FUZZ_USER,
    KNOWN_ISSUES,
    SKIPPED_ON,
    FuzzReport,
    KnownIssue,
    add_fuzz_user,
    fuzz,
    replay,
    unexpected_errors,
)

#: Fuzzed requests per database in CI (the bench sends 100,000).
REQUESTS = 20_000
#: Requests with HTTP basic authentication on top (SQLite).
AUTH_REQUESTS = 2_000
SEED = 20_240_612


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    found = load_corpus()
    if found is None:
        pytest.skip("../shared/vectors is missing: the fuzzer mutates the documents it holds")
    return found


def assert_clean(report: FuzzReport, log: Path, skipped: tuple[str, ...]) -> None:
    """No failure in the report, no unexpected error in the server log (but those of the
    `skipped` known issues)."""
    assert not report.failures, "\n\n".join(f.describe() for f in report.failures[:5])
    errors = unexpected_errors(log, skipped)
    assert not errors, f"{len(errors)} unexpected errors in the server log; the first:\n{errors[0]}"


def assert_still_serves(url: str, auth: tuple[str, str] | None = None) -> None:
    """A normal client creates a compute and reads it back."""
    headers = {"User-Agent": OCCI_12_USER_AGENT, "Content-Type": "application/occi+json"}
    with httpx.Client(base_url=url, timeout=30, headers=headers, auth=auth) as client:
        assert client.get("/-/").status_code == 200
        created = client.post(
            "/compute/",
            json={"kind": "http://schemas.ogf.org/occi/infrastructure#compute"},
            headers={"Content-Type": "application/occi+json"},
        )
        assert created.status_code == 201, created.headers.get("x-occi-error")
        read = client.get(created.headers["location"], headers={"Accept": "application/occi+json"})
        assert read.status_code == 200
        assert read.json()["kind"] == "http://schemas.ogf.org/occi/infrastructure#compute"


# --- the fuzzer itself ---------------------------------------------------------------------------


def test_a_seed_gives_the_same_requests(corpus: Corpus) -> None:
    first = [generate(7, index, corpus) for index in range(300)]
    again = [generate(7, index, corpus) for index in range(299, -1, -1)][::-1]
    other = [generate(8, index, corpus) for index in range(300)]
    assert [c.data for c in first] == [c.data for c in again]
    assert [c.data for c in first] != [c.data for c in other]


def test_the_requests_cover_what_the_fuzzer_promises(corpus: Corpus) -> None:
    cases = [generate(SEED, index, corpus) for index in range(3000)]
    shapes = {part for case in cases for part in case.shape.split("+")}
    assert shapes == {"valid", "method", "path", "headers", "body", "json", "framing", "bytes"}
    data = [case.data for case in cases]

    def share(predicate: Callable[[bytes], bool]) -> int:
        return sum(1 for d in data if predicate(d))

    assert share(lambda d: b"Transfer-Encoding: chunked" in d) > 10
    assert share(lambda d: b"\xff" in d or b"%FF" in d or b"%C3%28" in d) > 10
    assert share(lambda d: b"/../" in d or b"%2e%2e" in d) > 10
    assert share(lambda d: b"[[[[[[[[[[" in d) > 5
    assert share(lambda d: b"OCCI/1.1" in d) > 100 and share(lambda d: b"OCCI/1.2" in d) > 100
    assert share(lambda d: d.startswith((b"get ", b"pOsT ", b"Delete "))) > 3
    assert sum(1 for c in cases if not c.complete) > 50


class _Answering(socketserver.BaseRequestHandler):
    """Reads one request head and answers as the test says, then closes."""

    answer: bytes | None = b""
    pause: float = 0.0

    def handle(self) -> None:
        self.request.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            data += chunk
        time.sleep(self.pause)
        if self.answer is not None:
            self.request.sendall(self.answer)


@contextmanager
def stand_in(answer: bytes | None, pause: float = 0.0) -> Iterator[str]:
    """A loopback HTTP server that answers every request with `answer` (None: closes
    without a word) after `pause` seconds."""
    handler = type("Handler", (_Answering,), {"answer": answer, "pause": pause})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def valid_cases(corpus: Corpus, count: int) -> list[int]:
    """Indexes of complete requests of `SEED` that are not HEAD (whose answer has no body)."""
    found = []
    index = 0
    while len(found) < count:
        case = generate(SEED, index, corpus)
        if case.shape == "valid" and case.method != b"HEAD":
            found.append(index)
        index += 1
    return found


@pytest.mark.parametrize(
    ("answer", "pause", "verdict"),
    [
        (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", 0.0, "5xx"),
        (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\nno", 0.0, "5xx"),
        (None, 0.0, "reset"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", 0.0, "reset"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 3.0, "hang"),
        (b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n", 0.0, "ok"),
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0.0, "ok"),
    ],
    ids=["500", "503", "closed", "cut-off", "hang", "501", "404"],
)
def test_the_fuzzer_tells_failures(
    corpus: Corpus, answer: bytes | None, pause: float, verdict: str
) -> None:
    with stand_in(answer, pause) as url:
        for index in valid_cases(corpus, 3):
            status, found = replay(url, generate(SEED, index, corpus), answer_timeout=1.0)
            assert found == verdict, (index, status)


def test_a_failure_names_seed_index_and_bytes(corpus: Corpus) -> None:
    with stand_in(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n") as url:
        report = fuzz(url, requests=20, seed=SEED, corpus=corpus, connections=2)
    assert report.server_errors > 0
    failure = next(f for f in report.failures if f.what == "5xx")
    text = failure.describe()
    assert f"seed {SEED}" in text and f"--replay {failure.case.index}" in text
    assert repr(failure.case.data[:40])[:-1] in text


def test_known_issues_are_left_unsent_and_counted(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An issue of requests that carry a NUL, as one was tracked while its fix was under way.
    issue = KnownIssue("nul", "a NUL byte", matches=lambda case: b"%00" in case.data)
    monkeypatch.setitem(KNOWN_ISSUES, issue.name, issue)
    with stand_in(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") as url:
        report = fuzz(url, requests=400, seed=SEED, corpus=corpus, skip=["nul"])
    assert report.skipped.get("nul", 0) > 0
    assert report.sent + sum(report.skipped.values()) == 400


def test_a_server_that_went_away_is_a_failure(corpus: Corpus) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = fuzz(f"http://127.0.0.1:{port}", requests=50, seed=SEED, corpus=corpus)
    assert report.failures and {f.what for f in report.failures} == {"connect"}


# --- occi-server under the fuzzer ---------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_no_request_gets_a_server_error(
    corpus: Corpus, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    kind = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    with occi_server(tmp_path, database_url=database_url) as server:
        report = fuzz(
            server.url, requests=REQUESTS, seed=SEED, corpus=corpus, skip=SKIPPED_ON[kind]
        )
        print(report.summary())
        assert_clean(report, server.log, SKIPPED_ON[kind])
        assert report.sent + sum(report.skipped.values()) == REQUESTS
        assert_still_serves(server.url)


def test_no_request_gets_a_server_error_with_basic_authentication(
    corpus: Corpus, tmp_path: Path
) -> None:
    add_fuzz_user(tmp_path)
    with occi_server(tmp_path, config=BASIC_AUTH_CONFIG) as server:
        report = fuzz(
            server.url,
            requests=AUTH_REQUESTS,
            seed=SEED + 1,
            corpus=corpus,
            credentials=FUZZ_USER,
            skip=SKIPPED_ON["sqlite"],
        )
        print(report.summary())
        assert_clean(report, server.log, SKIPPED_ON["sqlite"])
        assert report.statuses[401] > 0  # the wrong and missing credentials were refused
        assert_still_serves(server.url, auth=FUZZ_USER)
        assert httpx.get(server.url + "/-/", timeout=30).status_code == 401
