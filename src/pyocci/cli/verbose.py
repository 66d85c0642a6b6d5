"""``--verbose``: the raw HTTP exchange on stderr, through httpx event hooks.

Secrets are masked: the credentials of an ``Authorization`` or
``X-Auth-Token`` header never reach a terminal or a log.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

import httpx

_SECRET_HEADERS = frozenset({"authorization", "x-auth-token", "proxy-authorization"})
#: Bodies longer than this are cut (a listing of thousands of entities, say).
MAX_BODY = 4000


def _masked(name: str, value: str) -> str:
    if name.lower() not in _SECRET_HEADERS:
        return value
    scheme, _, secret = value.partition(" ")
    return f"{scheme} ****" if secret else "****"


def _body(content: bytes) -> str:
    text = content.decode("utf-8", "replace")
    if len(text) > MAX_BODY:
        return text[:MAX_BODY] + f"\n... ({len(text) - MAX_BODY} more characters)"
    return text


def exchange_hooks(stream: TextIO | None = None) -> dict[str, list[Callable[..., Any]]]:
    """httpx event hooks printing each request and response to `stream` (stderr)."""

    def out() -> TextIO:
        return stream or sys.stderr

    def request(request: httpx.Request) -> None:
        lines = [f"> {request.method} {request.url}"]
        lines += [
            f"> {name}: {_masked(name, value)}" for name, value in request.headers.multi_items()
        ]
        body = request.content if not isinstance(request.stream, httpx.AsyncByteStream) else b""
        if body:
            lines += [">", *(f"> {line}" for line in _body(body).splitlines())]
        out().write("\n".join(lines) + "\n")

    def response(response: httpx.Response) -> None:
        response.read()
        lines = [f"< {response.http_version} {response.status_code} {response.reason_phrase}"]
        lines += [f"< {name}: {value}" for name, value in response.headers.multi_items()]
        if response.content:
            lines += ["<", *(f"< {line}" for line in _body(response.content).splitlines())]
        out().write("\n".join(lines) + "\n\n")

    return {"request": [request], "response": [response]}
