"""`RequestGuard`: the URL limit and the body deadline granian leaves to the application.

Driven through the ASGI interface directly; the reliability suite runs it under
a real granian (tests/reliability/test_connections.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyocci.server.config import Limits
from pyocci.server.granian_app import RequestGuard

pytestmark = pytest.mark.anyio

LIMITS = Limits(max_url_bytes=300, body_timeout=0.2)


class App:
    """Reads the whole body, then answers 200 with its size; keeps what it received."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.called = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.called = True
        size = 0
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] == "http.disconnect":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})


def scope(path: str = "/compute/", query: bytes = b"", method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [],
    }


async def run(guard: RequestGuard, scope: dict[str, Any], messages: list[dict[str, Any]]):
    """Call `guard` with `messages` as the client's, then silence; what it sent."""
    queue = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await asyncio.Event().wait()  # a client that sends nothing more
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(guard(scope, receive, send), 5)
    return sent


async def test_a_body_in_time_reaches_the_app() -> None:
    app = App()
    sent = await run(
        RequestGuard(app, LIMITS),
        scope(),
        [
            {"type": "http.request", "body": b"abc", "more_body": True},
            {"type": "http.request", "body": b"de", "more_body": False},
        ],
    )
    assert [m.get("status") for m in sent] == [200, None]
    assert sent[1]["body"] == b"5"


async def test_a_body_that_stops_is_answered_408_and_the_app_hears_a_disconnect() -> None:
    app = App()
    first_part = {"type": "http.request", "body": b"ab", "more_body": True}
    sent = await run(RequestGuard(app, LIMITS), scope(), [first_part])
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert sent[1]["body"] == b"the request body did not arrive within 0.2 s\n"
    assert len(sent) == 2  # the app's own answer was dropped
    assert app.received[-1] == {"type": "http.disconnect"}


async def test_a_long_url_is_414_before_the_app() -> None:
    app = App()
    sent = await run(RequestGuard(app, LIMITS), scope("/" + "u" * 300), [])
    assert sent[0]["status"] == 414
    assert not app.called
    # The query counts too, with its "?": 3 + 1 + 297 bytes.
    sent = await run(RequestGuard(app, LIMITS), scope("/c/", b"q" * 297), [])
    assert sent[0]["status"] == 414
    sent = await run(
        RequestGuard(app, LIMITS), scope("/c/", b"q" * 296), [{"type": "http.request"}]
    )
    assert sent[0]["status"] == 200


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    await RequestGuard(app, LIMITS)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]


async def test_a_request_whose_body_the_app_does_not_read_is_not_watched() -> None:
    seen: list[tuple[Any, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append((receive, send))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = RequestGuard(app, LIMITS, body_methods={"POST"})

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body of a GET is not read")

    async def send(message: dict[str, Any]) -> None:
        pass

    await guard(scope(method="GET"), receive, send)
    assert seen == [(receive, send)]  # granian's own, no deadline in between
    sent = await run(guard, scope("/" + "u" * 400, method="GET"), [])
    assert sent[0]["status"] == 414  # the URL limit still holds
    await guard(scope(method="POST"), receive, send)
    assert seen[-1] != (receive, send)
