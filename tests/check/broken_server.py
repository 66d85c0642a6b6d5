"""An occi-server that answers wrongly in a few ways, for `occi check` to catch.

Run as a process (``python broken_server.py --port P --database-url URL``):
the real server (sim backend) wrapped in an ASGI layer that breaks these
answers, each against a named point of the specifications, and leaves the
rest alone:

* ``version``: a client claiming OCCI/9.9 is served as if it claimed 1.2
  (GFD.223 Versioning wants 501).
* ``garbage``: a text/plain POST with no Category line is answered
  ``200 OK`` without reaching the server (GFD.223 wants 400).
* ``location``: a storage create answers 201 without ``Location`` or
  ``X-OCCI-Location`` (GFD.223: 201 MUST carry the location).
* ``scheme``: the JSON query interface's first kind has no ``scheme``
  (GFD.226: term and scheme are required).
* ``truncated``: the JSON listing of ``/compute/`` is cut short (not JSON).
* ``action-status``: action triggers answer 202 (GFD.223 wants 200).

And one way of not offering something, which is no fault:

* ``no-storagelink``: the query interface leaves the storagelink kind out
  (in every rendering) and a POST to ``/storagelink/`` is 501, as a server
  without storage links answers: the checker reports "not supported".
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from pyocci.server.app import create_app
from pyocci.server.config import load_config

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

FAULTS = ("version", "garbage", "location", "scheme", "truncated", "action-status")
#: How the storagelink kind starts in a text rendering.
STORAGELINK_KIND = (
    b'storagelink; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"'
)
STORAGELINK_ID = "http://schemas.ogf.org/occi/infrastructure#storagelink"
QUERY_INTERFACE = ("/-/", "/.well-known/org/ogf/occi/-/")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


class Broken:
    """The ASGI layer: each fault rewrites a request or the answer to it."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode()
        if "OCCI/9.9" in _header(scope, b"user-agent"):  # fault: version
            scope = dict(scope)
            scope["headers"] = [
                (k, v.replace(b"OCCI/9.9", b"OCCI/1.2")) for k, v in scope["headers"]
            ]
        body, receive = await _read_body(receive)
        content_type = _header(scope, b"content-type")
        if (
            method == "POST"
            and content_type.startswith("text/plain")
            and body
            and b"category" not in body.lower()
            and b"x-occi-location" not in body.lower()
        ):  # fault: garbage
            await _answer(send, 200, b"OK\n", "text/plain")
            return
        if method == "POST" and path == "/storagelink/":  # no-storagelink
            await _answer(send, 501, b"this server offers no storage links\n", "text/plain")
            return
        answer = _Recorder()
        await self.app(scope, receive, answer.send)
        status, headers, content = answer.status, answer.headers, answer.body
        json_answer = any(k.lower() == b"content-type" and b"json" in v for k, v in headers)
        if method == "POST" and path == "/storage/" and status == 201:  # fault: location
            headers = [
                (k, v) for k, v in headers if k.lower() not in (b"location", b"x-occi-location")
            ]
            content = b""
        if method == "GET" and path in QUERY_INTERFACE and json_answer and status == 200:
            document = json.loads(content)
            document["kinds"] = [  # no-storagelink
                k for k in document["kinds"] if k.get("scheme", "") + k["term"] != STORAGELINK_ID
            ]
            document["kinds"][0].pop("scheme", None)  # fault: scheme
            content = json.dumps(document).encode()
        elif method == "GET" and path in QUERY_INTERFACE and status == 200:  # no-storagelink
            content = b"".join(
                line for line in content.splitlines(keepends=True) if STORAGELINK_KIND not in line
            )
            headers = [(k, v) for k, v in headers if not v.startswith(STORAGELINK_KIND)]
        if method == "GET" and path == "/compute/" and json_answer and status == 200:
            content = content[: max(1, len(content) // 2)]  # fault: truncated
        if method == "POST" and "action=" in query and status == 200:
            status = 202  # fault: action-status
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


class _Recorder:
    """Keeps a whole answer, to change it before it leaves."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The request body, and a receive that hands it to the app again."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, again


async def _answer(send: Send, status: int, body: bytes, media_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"server", b"broken OCCI/1.2"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    arguments = parser.parse_args()
    config = load_config(overrides={"database_url": arguments.database_url})
    uvicorn.run(
        Broken(create_app(config)), host="127.0.0.1", port=arguments.port, log_level="warning"
    )


if __name__ == "__main__":
    main()
