"""The HTTP layer: endpoints, locations, and failures before any OCCI is read."""

from __future__ import annotations

import http.server
import re
import socket
import threading
from collections.abc import Iterator
from functools import partial

import httpx
import pytest

from pyocci.client import (
    Credentials,
    InvalidInputError,
    OcciClient,
    ProtocolError,
    RequestTimeoutError,
)
from pyocci.client.discovery import QUERY_INTERFACE
from pyocci.client.transport import Transport, error_message, normalize_endpoint


@pytest.fixture
def transport() -> Iterator[Transport]:
    t = Transport("http://127.0.0.1:8787/", Credentials(), timeout=5)
    yield t
    t.close()


def test_endpoints_must_be_http_urls():
    assert (
        normalize_endpoint(" https://occi.example.org:11443/ ") == "https://occi.example.org:11443"
    )
    with pytest.raises(ValueError, match=re.escape("give one like http://127.0.0.1:8787")):
        normalize_endpoint("occi.example.org")


def test_locations_and_urls(transport: Transport):
    assert transport.url("/compute/1") == "http://127.0.0.1:8787/compute/1"
    assert transport.path("http://127.0.0.1:8787/compute/1") == "/compute/1"
    assert transport.path("/compute/1") == "/compute/1"
    # A URL of another server stays whole: a link may point anywhere.
    assert (
        transport.path("http://elsewhere.example/network/9") == "http://elsewhere.example/network/9"
    )


def test_an_endpoint_with_a_path_keeps_it_for_the_query_interface():
    prefixed = Transport("https://cloud.example.org/occi1.2/", Credentials(), timeout=5)
    try:
        assert prefixed.url(QUERY_INTERFACE) == "https://cloud.example.org/occi1.2/-/"
        # Locations the server gives are absolute paths that already hold the prefix.
        assert prefixed.url("/occi1.2/compute/1") == "https://cloud.example.org/occi1.2/compute/1"
    finally:
        prefixed.close()


def test_other_hosts_are_never_sent_a_request():
    """Credentials are for the endpoint: a URL of another host is refused, not fetched."""
    sent: list[httpx.Request] = []
    hooks = {"request": [sent.append]}
    basic = Credentials(method="basic", username="u", password="p")
    transport = Transport("http://127.0.0.1:8787", basic, timeout=5, event_hooks=hooks)
    try:
        with pytest.raises(InvalidInputError) as raised:
            transport.request("GET", "https://elsewhere.example/compute/1")
    finally:
        transport.close()
    assert "is not on the endpoint http://127.0.0.1:8787" in raised.value.message
    assert sent == []


def answer(status: int, **kwargs) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "http://h/x"), **kwargs)


def test_error_messages_come_from_the_header_then_the_body():
    assert error_message(answer(409, headers={"x-occi-error": " busy "}, text="other")) == "busy"
    assert error_message(answer(400, json={"status": 400, "error": "bad kind"})) == "bad kind"
    assert error_message(answer(400, text="plain words\n")) == "plain words"
    assert error_message(answer(502)) == "Bad Gateway"
    assert error_message(answer(500, text="x" * 600)).endswith("...")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A socket that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_server_that_does_not_answer_times_out(silent_server: str):
    with (
        OcciClient(silent_server, timeout=0.5) as occi,
        pytest.raises(RequestTimeoutError) as raised,
    ):
        occi.discover()
    assert "did not answer within 0.5 s" in raised.value.message


@pytest.fixture
def web_server(tmp_path) -> Iterator[str]:
    """A plain web server (not OCCI) whose /-/ is an HTML directory listing."""
    (tmp_path / "-").mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_web_server_that_is_not_occi_is_a_protocol_error(web_server: str):
    with OcciClient(web_server) as occi, pytest.raises(ProtocolError) as raised:
        occi.discover()
    assert "is this an OCCI endpoint?" in raised.value.message


def test_a_url_below_the_endpoint_root_says_there_is_no_query_interface(web_server: str):
    with OcciClient(web_server + "/compute") as occi, pytest.raises(ProtocolError) as raised:
        occi.discover()
    assert f"{web_server}/compute/-/ is not found: no OCCI query interface" in raised.value.message
