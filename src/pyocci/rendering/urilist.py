"""The text/uri-list rendering (RFC 2483): listings and location lists, nothing else.

One absolute URI per line, CRLF-terminated when rendering; lines starting
with ``#`` are comments. OCCI uses it for collection listings and location
lists only (GFD.229 §1); asked for any other document it raises
`UnsupportedDocumentError`, which a server answers with 400.

Entity locations are usually paths (``/compute/1``) while RFC 2483 carries
absolute URIs only: give the codec the server's base URL
(``UriListCodec(base="https://cloud.example.org/")``) and it resolves them.
Without a base, locations are written as given -- a listing must not fail
half-way through its stream because a server does not know its public URL --
but parsing is strict: a relative reference is a ParseError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pyocci.model.category import Category
from pyocci.model.entity import ActionInvocation, Entity
from pyocci.model.registry import Model
from pyocci.rendering.base import Codec, CollectionWriter, Headers, LocationWriter, Rendering
from pyocci.rendering.errors import ParseError, UnsupportedDocumentError
from pyocci.rendering.textgrammar import location_lines
from pyocci.rendering.urls import BaseUrl

MEDIA_TYPE = "text/uri-list"

# An absolute URI (RFC 3986 §4.3): a scheme, a colon, and something after it,
# with none of the characters a URI never contains unescaped (white space,
# controls, and the "unwise" set of RFC 2396).
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]+")
_SCHEME_ONLY = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# What no plain path (`PLAIN_PATH`) of ASCII holds besides line feeds: a query, a
# fragment, white space or another control character.
_NOT_IN_PLAIN_PATH = "?#\x7f" + "".join(chr(code) for code in range(0x21) if code != 0x0A)


def _all_plain_paths(locations: Sequence[str]) -> bool:
    """Whether every location is a plain path, checked over them all at once (joined
    by line feeds, a separator none of them may hold); a dot segment anywhere, even a
    harmless ``/.name``, sends the batch the slow way."""
    count = len(locations)
    joined = "\n".join(locations)
    return (
        count > 0
        and joined.startswith("/")
        and not joined.startswith("//")
        and joined.count("\n") == count - 1
        and joined.count("\n/") == count - 1
        and "\n//" not in joined
        and "/." not in joined
        and joined.isascii()  # so that all its white space is below 0x21
        # One substring search per character: many times faster than a regular
        # expression scanning a long text for a class of characters.
        and not any(char in joined for char in _NOT_IN_PLAIN_PATH)
    )


_BREAKS_LINE = re.compile(r"[\s\x00-\x1f\x7f]")


def is_absolute_uri(text: str) -> bool:
    """Whether `text` is an absolute URI such as ``https://host/compute/1`` or a URN."""
    return _ABSOLUTE_URI.fullmatch(text) is not None


class _UriListWriter(LocationWriter):
    def __init__(self, codec: UriListCodec) -> None:
        self.media_type = codec.media_type
        self._line = codec._text_line
        self._origin = codec._base.origin if codec._base is not None else None
        self._line_end = codec._line_end_text

    def write_locations(self, locations: Sequence[str]) -> bytes:
        origin = self._origin
        if origin is not None and _all_plain_paths(locations):
            return location_lines(origin, locations, self._line_end)
        line = self._line
        return "".join([line(location) for location in locations]).encode("utf-8")

    def close(self) -> bytes:
        return b""


class UriListCodec(Codec):
    """text/uri-list: render and parse location lists and collection listings.

    `base`, when given, resolves relative locations (``/compute/1``) into the
    absolute URIs RFC 2483 requires; without it they are written as given.
    `line_end` is CRLF (RFC 2483) unless a client needs LF alone (OCCI 1.1
    clients: see `pyocci.rendering.occi11`).
    """

    media_type = MEDIA_TYPE

    def __init__(self, base: str | None = None, line_end: bytes = b"\r\n") -> None:
        if base is not None and not is_absolute_uri(base):
            raise ValueError(f"base must be an absolute URL, not {base!r}")
        if line_end not in (b"\r\n", b"\n"):
            raise ValueError(f"line_end must be CRLF or LF, not {line_end!r}")
        self.base = base
        self.line_end = line_end
        self._line_end_text = line_end.decode("ascii")
        self._base = BaseUrl(base) if base is not None else None

    # --- what this media type carries ---------------------------------------------

    def open_collection(self) -> CollectionWriter:
        """List the entities' locations, one line each."""
        return _UriListWriter(self)

    def render_locations(self, locations: Iterable[str]) -> Rendering:
        """Render one URI per line, each ending in `line_end`; no locations give an empty
        body."""
        return Rendering(self.media_type, b"".join(self._line(loc) for loc in locations))

    def parse_locations(self, body: bytes, headers: Headers = ()) -> list[str]:
        """Parse URIs, one per line; comment (``#``) and blank lines are skipped.

        Every other line must be an absolute URI (RFC 2483); a relative
        reference or anything else raises ParseError pointing at its line.
        """
        if isinstance(body, str):
            text = body
        else:
            raw = body if isinstance(body, bytes) else bytes(body)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                raise self._error(
                    f"the body is not UTF-8 (byte 0x{raw[exc.start]:02x}); URIs are ASCII text",
                    line,
                ) from None
        if text.startswith("\ufeff"):
            text = text[1:]
        locations: list[str] = []
        for number, line in enumerate(_LINE_BREAK.split(text), start=1):
            candidate = line.strip(" \t")
            if not candidate or candidate.startswith("#"):
                continue
            if not is_absolute_uri(candidate):
                raise self._error(self._why_not_uri(candidate), number)
            locations.append(candidate)
        return locations

    # --- what it does not --------------------------------------------------------

    def render_categories(self, categories: Iterable[Category]) -> Rendering:
        """Unsupported: categories have no uri-list form."""
        raise UnsupportedDocumentError(self.media_type, "categories")

    def parse_categories(self, body: bytes, headers: Headers = ()) -> list[Category]:
        """Unsupported: categories have no uri-list form."""
        raise UnsupportedDocumentError(self.media_type, "categories")

    def render_entity(self, entity: Entity) -> Rendering:
        """Unsupported: a uri-list lists locations, it does not render an entity."""
        raise UnsupportedDocumentError(self.media_type, "an entity")

    def parse_entity(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> Entity:
        """Unsupported: a uri-list lists locations, it does not render an entity."""
        raise UnsupportedDocumentError(self.media_type, "an entity")

    def parse_entities(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> list[Entity]:
        """Unsupported: a uri-list names entities but does not describe them."""
        raise UnsupportedDocumentError(self.media_type, "entities")

    def render_action(self, invocation: ActionInvocation) -> Rendering:
        """Unsupported: action invocations have no uri-list form."""
        raise UnsupportedDocumentError(self.media_type, "an action invocation")

    def parse_action(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> ActionInvocation:
        """Unsupported: action invocations have no uri-list form."""
        raise UnsupportedDocumentError(self.media_type, "an action invocation")

    # --- helpers -----------------------------------------------------------------

    def _line(self, location: str) -> bytes:
        return self._text_line(location).encode("utf-8")

    def _text_line(self, location: str) -> str:
        if self._base is None:
            uri = location
        else:
            plain = self._base.resolve_plain(location)
            if plain is not None:
                return plain + self._line_end_text  # nothing in it breaks a line
            uri = self._base.resolve(location)
        if not uri or _BREAKS_LINE.search(uri) is not None:
            # A line break would smuggle extra lines into the list.
            raise UnsupportedDocumentError(
                self.media_type, f"{location!r}, which cannot be written as one line"
            )
        return uri + self._line_end_text

    def _error(self, message: str, line: int) -> ParseError:
        return ParseError(message, media_type=self.media_type, where=f"line {line}")

    @staticmethod
    def _why_not_uri(line: str) -> str:
        shown = line if len(line) <= 80 else line[:77] + "..."
        scheme = _SCHEME_ONLY.match(line)
        if scheme is None:
            what = "a relative reference" if line.startswith(("/", ".")) else "not an absolute URI"
            return (
                f"{shown!r} is {what}; text/uri-list carries absolute URIs "
                "(RFC 2483) such as https://cloud.example.org/compute/1"
            )
        if scheme.end() == len(line):
            return f"{shown!r} has a scheme but nothing after it; it is not an absolute URI"
        return f"{shown!r} is not a URI: it contains white space or characters URIs cannot hold"
