"""A minimal raw ASGI app that replays bytes captured from the OCCI server.

`bench/server.py` captures, for every request it measures, the status, header
fields and body ``occi-server`` answered, writes them to a JSON file and
names that file in ``PYOCCI_BENCH_RESPONSES``. This app answers the same
request (method, path with query, ``Accept``) with the same bytes and does
nothing else, so that the ratio of the two rates is pyocci's own cost. Of
the header fields, the one the HTTP server writes itself (``date``) and the
framing (``content-length``, which this app sets to its whole body,
``transfer-encoding`` and ``connection``) are not replayed; the request id
is replayed as captured, one value for every answer.

Run it as the OCCI server is run (same server, same options)::

    PYOCCI_BENCH_RESPONSES=responses.json python bench/raw_app.py --server granian --port 8000
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

RESPONSES_ENV = "PYOCCI_BENCH_RESPONSES"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def response_key(method: str, target: str, accept: str) -> str:
    """How a captured response is found again: method, path with query, Accept."""
    return f"{method} {target} {accept}"


#: Header fields the HTTP server writes itself, or that frame the body this app sends.
_NOT_REPLAYED = frozenset(("date", "content-length", "transfer-encoding", "connection"))


def _load(path: str | None) -> dict[str, tuple[int, list[tuple[bytes, bytes]], bytes]]:
    if not path:
        return {}
    with open(path, encoding="utf-8") as file:
        captured = json.load(file)
    table = {}
    for key, item in captured.items():
        body = base64.b64decode(item["body"])
        # Captures of an older bench/server.py kept the content type alone.
        fields = item.get("headers") or [["content-type", item["content_type"]]]
        headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in fields
            if name.lower() not in _NOT_REPLAYED
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        table[key] = (int(item["status"]), headers, body)
    return table


RESPONSES = _load(os.environ.get(RESPONSES_ENV))
_MISSING = (404, [(b"content-type", b"text/plain"), (b"content-length", b"9")], b"no such\r\n")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a captured request with its captured bytes (404 for anything else)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = scope["method"] in ("POST", "PUT", "DELETE")
    while more:  # read the request body, as the OCCI server must
        more = (await receive()).get("more_body", False)
    query = scope["query_string"].decode("latin-1")
    target = scope["path"] + ("?" + query if query else "")
    accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept"), "")
    status, headers, body = RESPONSES.get(response_key(scope["method"], target, accept), _MISSING)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    """Serve `app` the way ``occi-server`` serves pyocci (one worker, same options)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    # Workers import this file as the module ``raw_app``.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    if args.server == "uvicorn":
        import uvicorn

        uvicorn.run(
            "raw_app:app",
            host=args.host,
            port=args.port,
            workers=1,
            log_level=args.log_level,
            server_header=False,
            proxy_headers=True,
        )
        return
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    Granian(
        "raw_app:app",
        interface=Interfaces.ASGI,
        address=args.host,
        port=args.port,
        workers=1,
        log_level=LogLevels(args.log_level),
        http1_settings=HTTP1Settings(max_buffer_size=73728),
    ).serve()


if __name__ == "__main__":
    main()
