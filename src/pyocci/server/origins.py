"""The server's URL as each client names it: what locations are made absolute against.

Locations are paths in the OCCI model; the ``Location`` header, uri-list
bodies, paging links and OCCI 1.1 text carry them as absolute URLs. The
configured ``base_url`` wins (a proxy in front knows the public name);
otherwise the request's scheme and ``Host`` say it.
"""

from __future__ import annotations

from starlette.datastructures import URL
from starlette.types import Scope

from pyocci.rendering.urls import BaseUrl

#: Host headers whose origin `Origins` keeps.
KEPT_ORIGINS = 256


class Origins:
    """The base URL of each request, the origins of the Host headers seen kept."""

    def __init__(self, base_url: str | None = None) -> None:
        self._configured = BaseUrl(base_url.rstrip("/") + "/") if base_url else None
        self._kept: dict[tuple[object, bytes], BaseUrl] = {}

    def base_url(self, scope: Scope) -> str:
        """The server's URL for this request (scheme, host, port), ending in a slash."""
        return self._base(scope).url

    def absolute(self, scope: Scope, location: str) -> str:
        """`location` as an absolute URL: the same rule as ``UriListCodec(base=...)``,
        so headers and listings agree."""
        return self._base(scope).resolve(location)

    def _base(self, scope: Scope) -> BaseUrl:
        if self._configured is not None:
            return self._configured
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        if not host:
            return BaseUrl(origin(scope))
        # Clients send the same Host again and again: its origin is worked out once.
        key = (scope.get("scheme"), host)
        base = self._kept.get(key)
        if base is None:
            if len(self._kept) >= KEPT_ORIGINS:
                self._kept.clear()
            base = self._kept[key] = BaseUrl(origin(scope))
        return base


def origin(scope: Scope) -> str:
    """The server's URL as the client named it (scheme, host, port), ending in a slash."""
    url = URL(scope=scope)
    return f"{url.scheme}://{url.netloc}/"
