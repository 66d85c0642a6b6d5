"""Clients that go away mid-request are their own business: no traceback, no change.

A client that closes the connection before its body ends once cost an ERROR
log entry with a traceback each (1,497 in a fuzz run). Now the request does
nothing and the log has no error for it; nor for a client that leaves in the
middle of a listing. Both servers, a real process each.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.server import OCCI_12_USER_AGENT, RunningServer, occi_server

COMPUTE_TEXT = (
    b'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
)


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp(f"disconnects-{request.param}")
    with occi_server(workdir, config=f'server = "{request.param}"\n') as running:
        yield running


def raw_request(url: str, data: bytes, read: int = 0) -> None:
    """Send `data` on a new connection, read up to `read` bytes, and close."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(data)
        if read:
            connection.recv(read)


def count_computes(url: str) -> int:
    answer = httpx.get(
        url + "/compute/", headers={"Accept": "text/uri-list", "User-Agent": OCCI_12_USER_AGENT}
    )
    assert answer.status_code == 200
    return len(answer.text.split())


def log_errors(log: Path) -> list[str]:
    text = log.read_text(errors="replace")
    return [line for line in text.splitlines() if "Traceback" in line or "ERROR" in line]


def test_a_body_cut_short_is_not_an_error(server: RunningServer) -> None:
    before = count_computes(server.url)
    head = (
        b"POST /compute/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 10000\r\n\r\n"
    )
    for _ in range(20):
        raw_request(server.url, head + COMPUTE_TEXT)
    time.sleep(0.5)  # let the server notice the closed connections
    assert count_computes(server.url) == before
    assert log_errors(server.log) == []


def test_leaving_in_the_middle_of_a_listing_is_not_an_error(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url, headers={"User-Agent": OCCI_12_USER_AGENT}) as http:
        for _ in range(300):
            created = http.post(
                "/compute/", headers={"Content-Type": "text/plain"}, content=COMPUTE_TEXT
            )
            assert created.status_code == 201
    listing = (
        b"GET /compute/ HTTP/1.1\r\nHost: x\r\nAccept: application/occi+json\r\n"
        b"User-Agent: x OCCI/1.2\r\n\r\n"
    )
    for _ in range(20):
        raw_request(server.url, listing, read=100)
    time.sleep(0.5)
    assert count_computes(server.url) >= 300
    assert log_errors(server.log) == []
