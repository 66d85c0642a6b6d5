"""HTTP for the client: one httpx.Client per endpoint, and failures turned into ClientErrors.

The transport knows nothing of OCCI documents; it sends bytes and headers,
and turns every way a request can fail (no connection, no answer in time,
an error status) into the matching exception of `pyocci.client.errors`,
with the server's own message (``X-OCCI-Error``, or the body).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from pyocci import __version__
from pyocci.client.auth import Credentials, check_certificate_scheme, connection_options
from pyocci.client.errors import (
    InvalidInputError,
    RequestTimeoutError,
    ServerUnreachableError,
    server_error,
)

#: Event hooks as httpx takes them: ``{"request": [...], "response": [...]}``.
EventHooks = Mapping[str, Sequence[Callable[..., Any]]]

HeaderList = list[tuple[str, str]]

#: The longest error body quoted in a message when the server sent no X-OCCI-Error.
_MAX_QUOTED_BODY = 500


def normalize_endpoint(endpoint: str) -> str:
    """The endpoint URL without a trailing slash; ValueError when it is not an http(s) URL."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"{endpoint!r} is not an endpoint URL; give one like http://127.0.0.1:8787"
        )
    return endpoint.strip().rstrip("/")


class Transport:
    """Requests to one OCCI endpoint over a kept-alive httpx client."""

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials,
        *,
        timeout: float | None,
        event_hooks: EventHooks | None = None,
    ) -> None:
        self.endpoint = normalize_endpoint(endpoint)
        self.timeout = timeout
        check_certificate_scheme(self.endpoint, credentials)
        options = connection_options(credentials)
        self.user_agent = f"pyocci/{__version__}"
        parts = urlsplit(self.endpoint)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._http = httpx.Client(
            base_url=self.endpoint + "/",
            timeout=timeout,
            event_hooks={k: list(v) for k, v in (event_hooks or {}).items()},
            headers={"user-agent": self.user_agent},
            **options.httpx_options(),
        )

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def set_occi_version(self, version: tuple[int, int]) -> None:
        """Claim an OCCI version in User-Agent, once the server's is known."""
        self._http.headers["user-agent"] = f"{self.user_agent} OCCI/{version[0]}.{version[1]}"

    def url(self, location: str) -> str:
        """The absolute URL of a location (a path, or a URL already).

        A relative location (``-/``) is taken below the endpoint, whose path may
        have a prefix (``https://cloud.example.org/occi1.2``); an absolute path
        is the server's own naming, prefix included.
        """
        if location.startswith("/") and not location.startswith("//"):
            # The common case (every entity of a listing): no need for urljoin's parse.
            return self._origin + location
        return urljoin(self.endpoint + "/", location)

    def on_endpoint(self, url: str) -> bool:
        """Whether a location or URL names something on this endpoint's host."""
        parts = urlsplit(url)
        mine = urlsplit(self.endpoint)
        return not parts.scheme or (parts.scheme, parts.netloc) == (mine.scheme, mine.netloc)

    def path(self, url: str) -> str:
        """A location as the server names it: the path of a URL on this endpoint.

        URLs of other hosts stay as they are (a link may point anywhere).
        """
        if not self.on_endpoint(url):
            return url
        parts = urlsplit(url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def request(
        self,
        method: str,
        location: str,
        *,
        headers: HeaderList | None = None,
        body: bytes | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        """Send one request; raise a ClientError unless the answer is 2xx.

        Only locations on this endpoint are requested: credentials are for it
        alone, never for a host a URL happens to name.
        """
        if not self.on_endpoint(location):
            raise InvalidInputError(
                f"{location} is not on the endpoint {self.endpoint}; "
                "use that server's own endpoint to reach it"
            )
        url = self.url(location)
        try:
            response = self._http.request(
                method, url, headers=headers or [], content=body, params=params
            )
        except httpx.TimeoutException:
            raise RequestTimeoutError(self.endpoint, self.timeout) from None
        except httpx.TransportError as error:
            raise ServerUnreachableError(self.endpoint, _reason(error)) from None
        if response.is_success:
            return response
        raise server_error(
            response.status_code,
            error_message(response),
            method=method,
            url=str(response.request.url),
            challenge=response.headers.get("www-authenticate"),
            retry_after=response.headers.get("retry-after"),
        )


def error_message(response: httpx.Response) -> str:
    """The server's explanation of an error: X-OCCI-Error, a JSON `error`, or the body."""
    header = response.headers.get("x-occi-error")
    if header:
        return header.strip()
    text = response.text.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("error"), str):
            return document["error"]
    if text and text != "OK":
        return text if len(text) <= _MAX_QUOTED_BODY else text[:_MAX_QUOTED_BODY] + "..."
    return response.reason_phrase or f"HTTP {response.status_code}"


def _reason(error: httpx.TransportError) -> str:
    """Why a connection failed, in a few words (httpx nests the OS error's text)."""
    text = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError) and "refused" in text.lower():
        return "connection refused"
    # "[Errno -2] Name or service not known": the number tells a person nothing.
    return re.sub(r"^\[Errno -?\d+\] ", "", text)
