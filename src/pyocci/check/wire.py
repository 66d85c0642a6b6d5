"""The checker's HTTP: plain requests and answers, every status handed back as it came.

The checker does not go through `pyocci.client`'s request building nor
through `pyocci.rendering`: it writes its requests and reads the answers
itself (see `pyocci.check.text` and `pyocci.check.documents`), so that a
mistake in pyocci's renderings cannot make a pyocci server look right. It
shares only the client's authentication (`pyocci.client.auth`), which
decides how to reach a server, not what the server says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from pyocci import __version__
from pyocci.check.outcome import Exchange, Failed
from pyocci.check.spec import VERSION
from pyocci.client.auth import Credentials, connection_options

#: What the checker calls itself; the OCCI version follows.
AGENT = f"occi-check/{__version__}"

HookMap = Mapping[str, Iterable[Callable[..., Any]]]


class UnreachableError(Exception):
    """No answer: no connection, or none within the timeout."""


@dataclass
class Answer:
    """A response as the checks read it."""

    method: str
    url: str
    status: int
    headers: httpx.Headers
    content: bytes

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower case ('' when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def text(self) -> str:
        """The body as UTF-8 (undecodable bytes replaced)."""
        return self.content.decode("utf-8", "replace")

    def header_values(self, name: str) -> list[str]:
        """Every value of a header, one per header line (commas not split)."""
        return self.headers.get_list(name)

    def json(self) -> Any:
        """The body as JSON; Failed saying why when it is not JSON."""
        try:
            return json.loads(self.content)
        except ValueError as error:
            raise Failed(f"{self.method} {self.url}: the body is not JSON ({error})") from None

    def describe(self) -> str:
        """``POST /compute/ -> 400 (the server's message)``, for a failure's detail."""
        message = self.headers.get("x-occi-error") or self.text.strip()
        message = " ".join(message.split())
        if len(message) > 160:
            message = message[:157] + "..."
        return f"{self.method} {self.url} -> {self.status}" + (f" ({message})" if message else "")


class Wire:
    """Requests to one endpoint; each one recorded as an `Exchange`."""

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials | None = None,
        *,
        timeout: float = 30.0,
        event_hooks: HookMap | None = None,
    ) -> None:
        parts = urlsplit(endpoint.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{endpoint!r} is not an http(s) URL; give one like https://host:port")
        self.endpoint = endpoint.strip().rstrip("/")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        options = connection_options(credentials or Credentials())
        self._http = httpx.Client(
            timeout=timeout,
            event_hooks={k: list(v) for k, v in (event_hooks or {}).items()},
            follow_redirects=False,
            **options.httpx_options(),
        )
        #: Where exchanges are recorded (the running check's list).
        self.record: list[Exchange] = []

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def url(self, location: str) -> str:
        """The absolute URL of a location: below the endpoint when relative (``-/``), on
        the endpoint's host when an absolute path, itself when a URL."""
        if location.startswith("/") and not location.startswith("//"):
            return self.origin + location
        return urljoin(self.endpoint + "/", location)

    def path(self, location: str) -> str:
        """A location as a path on the endpoint (URLs of this host lose their origin)."""
        url = self.url(location)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            return url
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def on_endpoint(self, location: str) -> bool:
        """Whether a location names something on the endpoint's host."""
        parts = urlsplit(self.url(location))
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def request(
        self,
        method: str,
        location: str,
        *,
        accept: str | None = None,
        content_type: str | None = None,
        body: bytes | str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        params: Mapping[str, str | int] | None = None,
        version: str | None = VERSION,
    ) -> Answer:
        """Send one request; the answer whatever its status; UnreachableError without one.

        `version` is the OCCI version the User-Agent claims (None: none).
        """
        if not self.on_endpoint(location):
            # Credentials are for the endpoint alone: never sent to a host an answer names.
            raise Failed(f"{location} is not on the endpoint {self.endpoint}")
        url = self.url(location)
        sent: list[tuple[str, str]] = [("User-Agent", f"{AGENT} {version}" if version else AGENT)]
        if accept is not None:
            sent.append(("Accept", accept))
        if content_type is not None:
            sent.append(("Content-Type", content_type))
        sent.extend(headers)
        content = body.encode() if isinstance(body, str) else body
        shown = self.path(url) + (
            "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
        )
        try:
            response = self._http.request(method, url, headers=sent, content=content, params=params)
        except httpx.TimeoutException:
            self.record.append(Exchange(method, shown, None, "no answer in time"))
            raise UnreachableError(f"{method} {shown}: no answer within the timeout") from None
        except httpx.TransportError as error:
            reason = _reason(error)
            self.record.append(Exchange(method, shown, None, reason))
            raise UnreachableError(f"{method} {shown}: {reason}") from None
        self.record.append(Exchange(method, shown, response.status_code))
        return Answer(method, shown, response.status_code, response.headers, response.content)


def _reason(error: httpx.TransportError) -> str:
    """Why no answer came, in a few words (the OS error number tells a person nothing)."""
    return re.sub(r"^\[Errno -?\d+\] ", "", str(error)) or type(error).__name__
