"""The app granian workers serve: pyocci's, behind what granian leaves to the application.

granian (hyper underneath) bounds a request head itself: its HTTP/1 buffer
(``server_header_limit``: 431), 100 header fields (431), a 64 KiB URL (414),
and the time to read a head once its first byte came (``header_timeout``).
It has no URL limit of its own choosing and no deadline at all for a body:
an upload that stops half-way holds its connection, and what came of it,
forever. `RequestGuard` adds both, in front of the app:

* a request target over ``max_url_bytes`` is answered 414;
* a body not in within ``body_timeout`` of the app being called (the end of
  the head) is answered 408 with ``connection: close``; the app's receive()
  says ``http.disconnect`` from then on and its own answer is dropped. Only
  requests whose body the app reads are watched (``body_methods``): a GET
  goes to the app with granian's own receive() and send(), at no cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pyocci.server.config import Limits, config_from_environment

__all__ = ["RequestGuard", "create_guarded_app_from_environment"]


async def _answer(send: Send, status: int, message: str) -> None:
    body = (message + "\n").encode("ascii", "replace")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _BodyDeadline:
    """receive() and send() for one request, with a deadline for the request body."""

    def __init__(self, receive: Receive, send: Send, timeout: float) -> None:
        self._receive = receive
        self._send = send
        self._timeout = timeout
        self._deadline = asyncio.get_running_loop().time() + timeout
        self._body_done = False
        self._expired = False
        self._response_started = False

    async def receive(self) -> Message:
        if self._expired:
            return {"type": "http.disconnect"}
        if self._body_done:
            # Past the body, receive() only waits for the client to go: no deadline.
            return await self._receive()
        remaining = self._deadline - asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(remaining):
                message = await self._receive()
        except TimeoutError:
            self._expired = True
            if not self._response_started:
                self._response_started = True
                await _answer(
                    self._send, 408, f"the request body did not arrive within {self._timeout:g} s"
                )
            return {"type": "http.disconnect"}
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._body_done = True
        return message

    async def send(self, message: Message) -> None:
        if self._expired:
            return  # the client was answered 408
        if message["type"] == "http.response.start":
            self._response_started = True
        await self._send(message)


class RequestGuard:
    """ASGI middleware: 414 for a URL over the limit, 408 for a body that does not come.

    `body_methods` are the methods whose body the app reads (None: every method);
    the body of any other is not the app's business, nor waited for.
    """

    def __init__(
        self, app: ASGIApp, limits: Limits, body_methods: Collection[str] | None = None
    ) -> None:
        self.app = app
        self.max_url_bytes = limits.max_url_bytes
        self.body_timeout = limits.body_timeout
        self.body_methods = body_methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _target_length(scope) > self.max_url_bytes:
            await _answer(send, 414, f"the request target is over {self.max_url_bytes} bytes")
            return
        if self.body_methods is not None and scope["method"] not in self.body_methods:
            await self.app(scope, receive, send)
            return
        deadline = _BodyDeadline(receive, send, self.body_timeout)
        await self.app(scope, deadline.receive, deadline.send)


def _target_length(scope: dict[str, Any]) -> int:
    path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    query = scope.get("query_string") or b""
    return len(path) + (1 + len(query) if query else 0)


def create_guarded_app_from_environment() -> ASGIApp:
    """The app for granian workers: `pyocci.server.app`'s (behind granian's handling of
    X-Forwarded-* from a proxy on this host) behind a `RequestGuard`."""
    from pyocci.server.app import BODY_METHODS, create_proxied_app_from_environment

    limits = config_from_environment().limits
    return RequestGuard(create_proxied_app_from_environment(), limits, BODY_METHODS)
