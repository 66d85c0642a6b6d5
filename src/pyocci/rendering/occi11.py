"""The text renderings as OCCI 1.1 clients read them (rOCCI-cli 4, jOCCI, 1.1-era scripts).

GFD.185 clients parse a stricter and older text than GFD.229 describes, and
the ones in the field parse it with regular expressions and ``split``. What
they need, and what this module gives them, wrapping the ordinary text
codecs (`pyocci.rendering.text`):

* **Absolute URLs.** GFD.185's examples answer listings, creates and links
  with absolute URLs, and 1.1 clients build their next request from them:
  every entity location, link target and ``occi.core.source``/``target`` is
  resolved against the server's base URL.
* **One header per name in text/occi.** rOCCI and jOCCI read only the first
  line of a repeated header; GFD.229 recommends the comma-separated single
  header "for best interoperability", so the fields are folded into one.
* **No separators inside quoted values where they split.** The same clients
  split text/occi headers on every comma and Category values on every
  semicolon, quotes or not: a ``,`` or ``;`` inside a quoted text/occi value,
  and a ``;`` inside a category title in either rendering, is sent
  percent-encoded (``%2C``, ``%3B``).
* **No attribute that extends another.** rOCCI-core keeps attributes in a
  tree keyed by the dotted name, so it cannot hold ``occi.compute.state``
  and ``occi.compute.state.message`` at once (the state vanishes): the
  OCCI 1.2 attributes that extend a 1.1 one by a component
  (``*.state.message``, ``occi.core.source.kind``, ``occi.core.target.kind``)
  are left out, from entities and from the query interface alike.
* **LF-terminated text/uri-list** (`occi11_uri_list`): rOCCI-api splits the
  list on LF only, so a CR would stay in every URL.

Parsing is the wrapped codec's: what a 1.1 client sends is valid input
already (absolute URLs are resolved by the service).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pyocci.model.category import Category
from pyocci.model.entity import (
    CORE_SOURCE,
    CORE_TARGET,
    CORE_TARGET_KIND,
    ActionInvocation,
    Entity,
    Link,
    Resource,
)
from pyocci.model.registry import Model
from pyocci.rendering.base import Codec, CollectionWriter, Headers, LocationWriter, Rendering
from pyocci.rendering.negotiation import TEXT_OCCI
from pyocci.rendering.textgrammar import format_location, format_locations, location_lines
from pyocci.rendering.urilist import UriListCodec

__all__ = ["Occi11TextCodec", "fold_fields", "occi11_uri_list", "without_extensions"]

_TITLE_SEPARATORS = re.compile(r";")
_HEADER_SEPARATORS = re.compile(r"[;,]")
#: Entity attributes whose values are locations, resolved like the entity's own.
_LOCATION_ATTRIBUTES = (CORE_SOURCE, CORE_TARGET)


def _percent(match: re.Match[str]) -> str:
    return f"%{ord(match.group()):02X}"


def without_extensions(names: Iterable[str]) -> set[str]:
    """The names to leave out so that none extends another by a dotted component:
    of ``a.b`` and ``a.b.c``, ``a.b.c`` goes (rOCCI-core cannot hold both)."""
    present = set(names)
    dropped = set()
    for name in present:
        head, dot, _ = name.rpartition(".")
        while dot:
            if head in present:
                dropped.add(name)
                break
            head, dot, _ = head.rpartition(".")
    return dropped


def fold_fields(
    fields: Iterable[tuple[str, str]], *, kind_sorts_first: bool = False
) -> tuple[tuple[str, str], ...]:
    """One ``Name: v1,v2,...`` per field name, in the order names first appear.

    No white space follows the commas: readers that split on them and sort the
    pieces (rOCCI-core) would otherwise put every later piece first. With
    `kind_sorts_first`, an entity's Category pieces are ordered for such a
    reader, which starts a new entity at every kind: the kind goes second, after
    one space, so that it sorts before the mixins (``m1, kind,m2``); a reader
    that takes the first piece for the kind (jOCCI) must not get this order.
    """
    folded: dict[str, list[str]] = {}
    for name, value in fields:
        folded.setdefault(name, []).append(value)
    categories = folded.get("Category")
    if kind_sorts_first and categories and len(categories) > 1:
        kind, first_mixin, *others = categories
        folded["Category"] = [first_mixin, " " + kind, *others]
    return tuple((name, ",".join(values)) for name, values in folded.items())


def occi11_uri_list(base: str) -> UriListCodec:
    """text/uri-list with absolute URIs, each line ending in LF only."""
    return UriListCodec(base=base, line_end=b"\n")


class Occi11TextCodec(Codec):
    """text/plain or text/occi as OCCI 1.1 clients read it; `base` is the server's URL
    (``https://cloud.example.org/``), against which every location is resolved;
    `for_rocci` shapes text/occi for rOCCI-core's header reader: Category pieces
    ordered for its sort (`fold_fields`), and listings without the ``Location``
    header that jOCCI reads them from (rOCCI would take it for one more URL)."""

    def __init__(self, inner: Codec, base: str, *, for_rocci: bool = False) -> None:
        self._inner = inner
        self.base = base.rstrip("/")
        self._for_rocci = for_rocci
        self.media_type = inner.media_type
        self.collection_in_headers = inner.collection_in_headers
        self._in_headers = inner.media_type == TEXT_OCCI
        self._value_separators = _HEADER_SEPARATORS if self._in_headers else None

    @property
    def variant(self) -> str:
        """What distinguishes this codec's output from the plain codec's (a cache key)."""
        return f"{self.media_type} occi/1.1 {self.base} {'rOCCI' if self._for_rocci else ''}"

    # --- what changes ---------------------------------------------------------------

    def _absolute(self, location: str) -> str:
        return self.base + location if location.startswith("/") else location

    def _text(self, value: str, separators: re.Pattern[str] | None) -> str:
        return separators.sub(_percent, value) if separators is not None else value

    def _attributes(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        dropped = without_extensions(attributes)
        kept: dict[str, Any] = {}
        for name, value in attributes.items():
            if name in dropped:
                continue
            if isinstance(value, str):
                if name in _LOCATION_ATTRIBUTES:
                    value = self._absolute(value)
                value = self._text(value, self._value_separators)
            kept[name] = value
        return kept

    def _category(self, category: Category) -> Category:
        changes: dict[str, Any] = {}
        if category.title is not None:
            separators = _HEADER_SEPARATORS if self._in_headers else _TITLE_SEPARATORS
            title = self._text(category.title, separators)
            if title != category.title:
                changes["title"] = title
        dropped = without_extensions(category.attributes)
        if dropped:
            changes["attributes"] = {
                name: definition
                for name, definition in category.attributes.items()
                if name not in dropped
            }
        return dataclasses.replace(category, **changes) if changes else category

    def _link(self, link: Link) -> Link:
        attributes = self._attributes(link.attributes)
        if link.target_kind is not None:
            # The inline link's rel: written there, not as an attribute.
            attributes[CORE_TARGET_KIND] = link.target_kind
        return Link(
            kind=link.kind,
            mixins=list(link.mixins),
            attributes=attributes,
            actions=list(link.actions),
            location=self._absolute(link.location) if link.location else None,
        )

    def _entity(self, entity: Entity) -> Entity:
        location = self._absolute(entity.location) if entity.location else None
        attributes = self._attributes(entity.attributes)
        if isinstance(entity, Resource):
            return Resource(
                kind=entity.kind,
                mixins=list(entity.mixins),
                attributes=attributes,
                actions=list(entity.actions),
                location=location,
                links=[self._link(link) for link in entity.links],
            )
        return Link(
            kind=entity.kind,
            mixins=list(entity.mixins),
            attributes=attributes,
            actions=list(entity.actions),
            location=location,
        )

    def _finish(self, rendering: Rendering, *, entity: bool = False) -> Rendering:
        if not self._in_headers:
            return rendering
        headers = fold_fields(rendering.headers, kind_sorts_first=entity and self._for_rocci)
        return Rendering(rendering.content_type, rendering.body, headers)

    # --- rendering ------------------------------------------------------------------

    def render_categories(self, categories: Iterable[Category]) -> Rendering:
        """The query interface, 1.1-safe (titles, no extending attributes)."""
        return self._finish(self._inner.render_categories(map(self._category, categories)))

    def render_entity(self, entity: Entity) -> Rendering:
        """One entity with absolute locations and 1.1-safe attributes; in text/occi its URL
        as ``X-OCCI-Location`` too, where rOCCI looks for what an update changed."""
        shown = self._entity(entity)
        rendering = self._inner.render_entity(shown)
        if self._in_headers and shown.location:
            location = ("X-OCCI-Location", format_location(shown.location))
            rendering = Rendering(
                rendering.content_type, rendering.body, (*rendering.headers, location)
            )
        return self._finish(rendering, entity=True)

    def render_locations(self, locations: Iterable[str]) -> Rendering:
        """Absolute URLs, one field (text/occi: one header) for all."""
        return self._finish(self._inner.render_locations(map(self._absolute, locations)))

    def render_action(self, invocation: ActionInvocation) -> Rendering:
        """An action invocation, as the wrapped codec writes it."""
        return self._finish(self._inner.render_action(invocation))

    def open_collection(self) -> CollectionWriter:
        """A listing of absolute URLs: body lines (text/plain) or one header (text/occi)."""
        return _Occi11ListingWriter(
            self.base, in_headers=self._in_headers, also_location=not self._for_rocci
        )

    # --- parsing: the wrapped codec's ---------------------------------------------------

    def parse_categories(self, body: bytes, headers: Headers = ()) -> list[Category]:
        """As the wrapped codec parses them."""
        return self._inner.parse_categories(body, headers)

    def parse_entity(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> Entity:
        """As the wrapped codec parses it."""
        return self._inner.parse_entity(body, headers, model=model)

    def parse_locations(self, body: bytes, headers: Headers = ()) -> list[str]:
        """As the wrapped codec parses them."""
        return self._inner.parse_locations(body, headers)

    def parse_action(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> ActionInvocation:
        """As the wrapped codec parses it."""
        return self._inner.parse_action(body, headers, model=model)


def _all_paths(locations: Sequence[str]) -> bool:
    """Whether every location is a path (starts with a slash), in one pass: formatted
    locations hold no line break, so each one starting with a slash adds one ``\\n/``."""
    return ("\n" + "\n".join(locations)).count("\n/") == len(locations)


class _Occi11ListingWriter(LocationWriter):
    """``X-OCCI-Location: <absolute URL>`` per entity; in text/occi, one header for all,
    repeated as ``Location`` when `also_location` (jOCCI reads a listing from there)."""

    def __init__(self, base: str, *, in_headers: bool, also_location: bool) -> None:
        self._base = base
        self._in_headers = in_headers
        self._also_location = also_location
        self._urls: list[str] = []
        self.media_type = TEXT_OCCI if in_headers else "text/plain"

    def write_locations(self, locations: Sequence[str]) -> bytes:
        formatted = format_locations(locations)
        base = self._base
        if _all_paths(formatted):
            if self._in_headers:
                self._urls.extend([base + location for location in formatted])
                return b""
            return location_lines("X-OCCI-Location: " + base, formatted, "\r\n")
        urls = [base + loc if loc.startswith("/") else loc for loc in formatted]
        if self._in_headers:
            self._urls.extend(urls)
            return b""
        return location_lines("X-OCCI-Location: ", urls, "\r\n")

    def close(self) -> bytes:
        return b"OK" if self._in_headers else b""

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        if not self._in_headers or not self._urls:
            return ()
        urls = ",".join(self._urls)
        if self._also_location:
            return (("X-OCCI-Location", urls), ("Location", urls))
        return (("X-OCCI-Location", urls),)
