"""Locations resolved against a base URL: what ``urljoin`` makes of them, quickly.

Entity locations are absolute paths (``/compute/<id>``); answers name them by
absolute URL (``Location`` headers, uri-list bodies, OCCI 1.1 text). Joining
one with ``urljoin`` parses both strings each time. A plain path (no dot
segments, query or fragment; see `PLAIN_PATH`) resolves to the base's origin
followed by the path unchanged (RFC 3986 §5.2.2), which is a concatenation.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, uses_relative

__all__ = ["PLAIN_PATH", "BaseUrl"]

#: An absolute path with no dot segments, query, fragment, white space or control
#: character: resolved against a base, it is the base's origin and the path unchanged.
PLAIN_PATH = re.compile(r"(?!//)(?!.*/\.\.?(?:/|$))/[^?#\s\x00-\x1f\x7f]*")


class BaseUrl:
    """An absolute base URL and its origin (scheme and authority)."""

    __slots__ = ("origin", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        #: ``scheme://host:port``; None when the URL has no authority (a URN, say) or a
        #: scheme ``urljoin`` does not resolve against (it returns the location as is).
        self.origin: str | None = (
            f"{parts.scheme}://{parts.netloc}"
            if parts.netloc and parts.scheme in uses_relative
            else None
        )

    def resolve(self, location: str) -> str:
        """`location` (a path, or a URL already) as ``urljoin(url, location)`` resolves it."""
        plain = self.resolve_plain(location)
        return plain if plain is not None else urljoin(self.url, location)

    def resolve_plain(self, location: str) -> str | None:
        """`location` resolved when it is a plain path (`PLAIN_PATH`: nothing in the
        result then breaks a line); None for any other location."""
        if self.origin is not None and PLAIN_PATH.fullmatch(location) is not None:
            return self.origin + location
        return None
