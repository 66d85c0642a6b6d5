"""uvicorn with `LimitedHttpToolsProtocol`, in this process, over real loopback sockets.

The reliability suite (tests/reliability/test_connections.py) floods a real
occi-server; these tests pin the protocol's finer points against a small
echo app: the connection cap, chunked trailers, pipelining, keep-alive off,
and what the app sees when a body does not come.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from pyocci.server.config import Limits
from pyocci.server.uvicorn_protocol import LimitedHttpToolsProtocol, refusal

LIMITS = Limits(
    max_header_count=10,
    max_header_bytes=2048,
    max_url_bytes=512,
    max_connections=4,
    header_timeout=1.0,
    body_timeout=0.5,
    send_timeout=1.0,
)


class EchoApp:
    """Answers ``<body bytes> <header fields>`` (``/big``: 256 KiB); ``/slow`` first waits
    half a second; ``/late`` sends its head, then its body once `late_body` is set.
    Keeps the ASGI events each request received."""

    def __init__(self) -> None:
        self.received: list[list[str]] = []
        self.late_body = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        if scope["path"] == "/slow":
            await asyncio.sleep(0.5)
        events: list[str] = []
        self.received.append(events)
        size = 0
        while True:
            message = await receive()
            events.append(message["type"])
            if message["type"] == "http.disconnect":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if scope["path"] == "/late":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            while not self.late_body.is_set():
                await asyncio.sleep(0.01)
            await send({"type": "http.response.body", "body": b"late"})
            return
        if scope["path"] == "/big":
            body = b"x" * 262144
        else:
            body = f"{size} {len(scope['headers'])}".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


@contextmanager
def serve(limits: Limits = LIMITS, keep_alive: float = 5.0) -> Iterator[tuple[int, EchoApp]]:
    """uvicorn on a free loopback port, in a thread, with the protocol under `limits`."""
    protocol = type("Protocol", (LimitedHttpToolsProtocol,), {"limits": limits})
    app = EchoApp()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http=protocol,
        lifespan="off",
        log_level="warning",
        timeout_keep_alive=keep_alive,  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port, app
    finally:
        server.should_exit = True
        thread.join(10)


def exchange(port: int, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send `data` on a new connection; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(data)
        return read_all(connection)


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def read_all(connection: socket.socket) -> bytes:
    answer = b""
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    return answer


def get(path: str = "/", *extra: bytes, close: bool = True) -> bytes:
    closing = b"Connection: close\r\n" if close else b""
    return (
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + b"".join(extra) + closing + b"\r\n"
    )


def test_a_normal_request_is_served() -> None:
    with serve() as (port, _):
        answer = exchange(port, get())
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"\r\n\r\n0 2")


def test_a_head_request_gets_the_head() -> None:
    with serve() as (port, _):
        answer = exchange(port, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 3\r\n" in answer
    assert answer.endswith(b"\r\n\r\n")  # the head, whole, and no body


def test_a_head_is_not_held_for_a_body_that_is_not_ready() -> None:
    with serve() as (port, app), connect(port) as connection:
        connection.sendall(get("/late"))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = connection.recv(65536)
            assert chunk, f"closed after {head!r}"
            head += chunk
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"late" not in head
        app.late_body.set()
        rest = read_all(connection)
    assert (head + rest).endswith(b"4\r\nlate\r\n0\r\n\r\n")


def test_an_interim_continue_comes_before_the_body_is_sent() -> None:
    # End to end through the protocol; that HeadWithBody never holds it back, even for a
    # turn, is tests/server/test_head_with_body.py's.
    head = b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"
    with serve() as (port, _), connect(port) as connection:
        connection.sendall(head + b"Connection: close\r\n\r\n")
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = connection.recv(65536)
            assert chunk, f"closed after {interim!r}"
            interim += chunk
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        connection.sendall(b"abc")
        answer = read_all(connection)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"\r\n\r\n3 4")


def test_past_max_connections_a_connection_is_answered_503_at_once() -> None:
    with serve() as (port, _):
        held = [
            socket.create_connection(("127.0.0.1", port)) for _ in range(LIMITS.max_connections)
        ]
        try:
            time.sleep(0.2)  # let the server take them
            refused = exchange(port, get())
            assert refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
            assert b"retry-after: 1\r\n" in refused
            # The connections already open are still served.
            held[0].sendall(get())
            assert read_all(held[0]).startswith(b"HTTP/1.1 200 OK")
        finally:
            for connection in held:
                connection.close()
        time.sleep(0.2)
        assert exchange(port, get()).startswith(b"HTTP/1.1 200 OK")


def test_header_fields_are_counted() -> None:
    cap = 2 * LIMITS.max_header_count  # the app's own, precise 431 comes first
    fields = [b"X-F%d: v\r\n" % i for i in range(cap - 2)]  # with Host and Connection
    with serve() as (port, _):
        assert exchange(port, get("/", *fields)).endswith(b"\r\n\r\n0 20")
        answer = exchange(port, get("/", *fields, b"X-One-Too-Many: v\r\n"))
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert answer.endswith(b"more than 20 header fields\n")


def test_the_url_and_the_head_are_bounded() -> None:
    with serve() as (port, _):
        assert exchange(port, get("/" + "u" * 600)).startswith(b"HTTP/1.1 414 ")
        big = b"X-Big: " + b"b" * 3000 + b"\r\n"
        answer = exchange(port, get("/", big))
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"over 2560 bytes" in answer  # max_header_bytes + max_url_bytes


def test_chunked_trailers_are_bounded() -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    with serve() as (port, _):
        fine = exchange(port, head + b"3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n")
        assert fine.startswith(b"HTTP/1.1 200") and b"\r\n\r\n3 " in fine
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(head + b"3\r\nabc\r\n0\r\nX-Endless: ")
            time.sleep(0.1)  # the trailer's first bytes and the rest in separate reads
            connection.sendall(b"e" * 4096)  # past max_header_bytes + max_url_bytes
            answer = read_all(connection)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert answer.endswith(b"the chunked trailers are over 2560 bytes\n")


def test_pipelined_requests_are_answered_in_order() -> None:
    with serve() as (port, _):
        answer = exchange(port, get("/slow", close=False) + get("/", b"X-A: 1\r\n"))
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.endswith(b"0 3")  # the second answer comes second


def test_a_refused_pipelined_head_never_lands_inside_another_answer() -> None:
    with serve() as (port, _):
        answer = exchange(port, get("/slow", close=False) + b"GET /" + b"u" * 600)
    # The first answer whole, then the close: no 414 written into it.
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert answer.endswith(b"\r\n\r\n0 1")
    assert b"414" not in answer


def test_a_body_that_does_not_come_is_408_and_the_app_hears_a_disconnect() -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"
    with serve() as (port, app):
        answer = exchange(port, head)
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert answer.endswith(b"did not arrive within 0.5 s\n")
        deadline = time.monotonic() + 5
        while not app.received or app.received[-1][-1:] != ["http.disconnect"]:
            assert time.monotonic() < deadline, app.received
            time.sleep(0.01)


def test_a_head_that_does_not_come_is_408_and_silence_is_closed() -> None:
    with serve() as (port, app):
        assert exchange(port, b"GET / HTTP/1.1\r\nHost").startswith(b"HTTP/1.1 408 ")
        assert exchange(port, b"") == b""
        assert exchange(port, b"\r\n") == b""  # stray line ends are not a request
    assert app.received == []


def test_without_keep_alive_every_answer_says_close() -> None:
    with serve(keep_alive=0) as (port, _):
        answer = exchange(port, get(close=False))
    assert b"connection: close\r\n" in answer.lower()


def test_a_connection_whose_client_does_not_read_is_dropped() -> None:
    with serve() as (port, _), socket.socket() as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        connection.settimeout(30)
        connection.connect(("127.0.0.1", port))
        count = 100  # 25 MiB of answers, far more than the kernel buffers
        connection.sendall(get("/big", close=False) * count)
        time.sleep(LIMITS.send_timeout + 1)
        answers = read_all(connection).count(b"HTTP/1.1 200")
    assert answers < count


def test_refusals_are_complete_responses() -> None:
    response = refusal(414, "too long")
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 ")
    assert b"connection: close" in head
    assert b"content-length: 9" in head
    assert body == b"too long\n"
