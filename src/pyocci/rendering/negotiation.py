"""Content negotiation: which rendering to answer in, and which one a body is in.

`negotiate` implements HTTP Accept (RFC 9110 §12.5.1) with q-values and
wildcards, and the OCCI 1.1 rule that a client sending no Accept, or only
``*/*``, gets text/plain. `occi_version` reads the ``OCCI/x.y`` token that
clients put in User-Agent. `prefers_html` tells a browser, which wants the
HTML view, from an API client, which must get an OCCI rendering.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

TEXT_PLAIN = "text/plain"
TEXT_OCCI_PLAIN = "text/occi+plain"
TEXT_OCCI = "text/occi"
URI_LIST = "text/uri-list"
OCCI_JSON = "application/occi+json"
JSON = "application/json"
HTML = "text/html"

#: The default for clients that express no preference (OCCI 1.1 behaviour).
DEFAULT_MEDIA_TYPE = TEXT_PLAIN

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# Entries arrive already split on commas outside quotes, so parameters run to the end.
_MEDIA_RANGE = re.compile(rf"\s*({_TOKEN})/({_TOKEN})\s*((?:;.*)?)", re.DOTALL)
_PARAMETER = re.compile(rf";\s*({_TOKEN})\s*=\s*(\"(?:[^\"\\]|\\.)*\"|{_TOKEN})")
# At most nine digits a number: a longer one is no version (and would be costly, or
# refused, for int() to read).
_OCCI_VERSION = re.compile(r"\bOCCI/(\d{1,9})\.(\d{1,9})(?!\d)")


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One entry of an Accept header: ``type/subtype`` (either may be ``*``) and its q."""

    type: str
    subtype: str
    quality: float

    def matches(self, media_type: str) -> int:
        """How specifically this range matches a media type: 2 exact, 1 ``type/*``,
        0 ``*/*``, -1 no match."""
        main, _, sub = media_type.partition("/")
        if self.type == "*":
            return 0
        if self.type != main:
            return -1
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == sub else -1


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an Accept header; malformed entries are skipped, not fatal."""
    if not header:
        return []
    ranges: list[MediaRange] = []
    for entry in _split_outside_quotes(header):
        match = _MEDIA_RANGE.fullmatch(entry)
        if match is None:
            continue
        quality = 1.0
        for name, value in _PARAMETER.findall(match.group(3)):
            if name.lower() == "q":
                try:
                    quality = min(max(float(value.strip('"')), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append(MediaRange(match.group(1).lower(), match.group(2).lower(), quality))
    return ranges


def negotiate(
    accept: str | None,
    offered: Sequence[str],
    *,
    default: str = DEFAULT_MEDIA_TYPE,
) -> str | None:
    """Pick the media type to answer in, or None if nothing offered is acceptable (406).

    The highest q wins; among equal q a more specific match wins (an exact
    type beats ``text/*`` beats ``*/*``); among those, `default` if it is one
    of them, else the earliest in `offered`. No Accept header, or an empty
    one, means `default`.
    """
    ranges = parse_accept(accept)
    if not ranges:
        return default if default in offered or not offered else offered[0]
    best: tuple[float, int, bool, int] | None = None
    chosen: str | None = None
    for position, media_type in enumerate(offered):
        quality, specificity = _quality_of(media_type, ranges)
        if quality <= 0.0:
            continue
        rank = (quality, specificity, media_type == default, -position)
        if best is None or rank > best:
            best, chosen = rank, media_type
    return chosen


def prefers_html(
    accept: str | None, offered: Sequence[str], *, default: str = DEFAULT_MEDIA_TYPE
) -> bool:
    """Whether a client prefers text/html to every OCCI rendering in `offered`.

    Browsers list ``text/html`` first and everything else (``*/*``) at a
    lower q; API clients send no Accept, ``*/*``, ``text/*`` or an OCCI type,
    and keep what `negotiate` gives them: every tie goes to `offered`, so
    text/html wins only where it is named and ranked above them all.
    """
    return negotiate(accept, [*offered, HTML], default=default) == HTML


def _quality_of(media_type: str, ranges: Sequence[MediaRange]) -> tuple[float, int]:
    """The q of the most specific range matching `media_type`, and that specificity."""
    best_specificity = -1
    quality = 0.0
    for media_range in ranges:
        specificity = media_range.matches(media_type)
        if specificity > best_specificity:
            best_specificity, quality = specificity, media_range.quality
    return quality, best_specificity


def media_type_of(content_type: str | None) -> str | None:
    """The bare, lower-cased ``type/subtype`` of a Content-Type value (no parameters)."""
    if not content_type:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type or None


def occi_version(user_agent: str | None) -> tuple[int, int] | None:
    """The highest ``OCCI/x.y`` version a User-Agent (or Server) header claims, if any."""
    if not user_agent:
        return None
    versions = [(int(major), int(minor)) for major, minor in _OCCI_VERSION.findall(user_agent)]
    return max(versions) if versions else None


def _split_outside_quotes(header: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in header:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]
