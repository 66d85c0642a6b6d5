"""The text renderings of GFD.229: ``text/plain`` (document in the body) and ``text/occi``
(document in the HTTP headers, body ``OK``).

Both speak the same four structures -- ``Category``, ``Link``,
``X-OCCI-Attribute``, ``X-OCCI-Location`` -- through the shared grammar in
`pyocci.rendering.textgrammar`; the codecs here only decide where the
``Name: value`` pairs come from and go to, and assemble documents.

Decisions worth knowing:

* Parsers raise only `ParseError` for bad input, with ``where`` set to
  ``line N`` (text/plain) or ``header <Name> #N`` (text/occi).
* A string attribute value containing a line break or another control
  character cannot be written (the grammar has no escape for it): rendering
  raises `UnsupportedDocumentError`; ask for JSON instead.
* Lists and dicts are written as JSON inside a quoted string (rOCCI's
  convention); a model (``parse_entity(..., model=...)``) turns them back.
* An inline link whose target kind is unknown is written without ``rel``
  (rather than with a made-up kind), and read back without a target kind.
* In text/occi, unrelated HTTP headers are ignored; in a text/plain body an
  unknown field name is an error. Header values are text: the HTTP layer
  decodes and encodes them (UTF-8; bytes given here are decoded as UTF-8).
* A Kind's ``rel`` is its parent (the first value); a Mixin's ``rel`` is its
  depends list -- ``applies`` has no text form. Unknown Category and Link
  parameters are ignored (Link ones become link attributes).
* Location lists are returned as sent, duplicates included; a location is
  written with the characters a URI cannot hold (and ',') percent-encoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from pyocci.model.category import Category, Kind, split_identifier
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
from pyocci.rendering.errors import ParseError, UnsupportedDocumentError
from pyocci.rendering.textgrammar import (
    ATTRIBUTE,
    CATEGORY,
    FIELD_CODES,
    LINK,
    LINK_KIND_ID,
    LOCATION,
    GrammarError,
    RenderError,
    build_category,
    format_attribute,
    format_category,
    format_category_reference,
    format_link_target,
    format_location,
    format_locations,
    location_lines,
    parse_categories,
    parse_links,
    parse_locations,
    quote,
    read_attributes,
)

__all__ = [
    "TextOcciCodec",
    "TextPlainCodec",
    "parse_header_attributes",
    "parse_header_categories",
]

#: Where a field was found: a line number (text/plain) or a header name and
#: its ordinal among the headers of that structure (text/occi).
_Where = int | tuple[str, int]

_CRLF = "\r\n"
# The usual spellings, looked up before normalising case and white space.
_EXACT_FIELD_CODES = {
    "Category": CATEGORY,
    "Link": LINK,
    "X-OCCI-Attribute": ATTRIBUTE,
    "X-OCCI-Location": LOCATION,
}
_EXACT_HEADER_CODES = {
    **_EXACT_FIELD_CODES,
    **{name.lower(): code for name, code in _EXACT_FIELD_CODES.items()},
    "Location": LOCATION,
    "location": LOCATION,
}
_LISTING_BATCH = 256


def _describe(where: _Where | None) -> str | None:
    if where is None:
        return None
    if isinstance(where, int):
        return f"line {where}"
    name, ordinal = where
    return f"header {name} #{ordinal}"


class _TextCodec(Codec):
    """What text/plain and text/occi share: documents built from ``Name: value`` fields."""

    def _fields(self, body: bytes, headers: Headers) -> Iterable[tuple[int, str, _Where]]:
        """The OCCI fields of a message: (structure code, value, where)."""
        raise NotImplementedError

    def _rendering(self, fields: list[tuple[str, str]]) -> Rendering:
        """Put rendered ``(name, value)`` fields where this media type carries them."""
        raise NotImplementedError

    def _error(self, reason: str, where: _Where | None) -> ParseError:
        return ParseError(reason, media_type=self.media_type, where=_describe(where))

    def _unsupported(self, error: RenderError) -> UnsupportedDocumentError:
        return UnsupportedDocumentError(self.media_type, error.what)

    # --- categories ---------------------------------------------------------------

    def render_categories(self, categories: Iterable[Category]) -> Rendering:
        """Render Kinds, Mixins and Actions in full, one Category field each."""
        try:
            fields = [("Category", format_category(category)) for category in categories]
        except RenderError as error:
            raise self._unsupported(error) from None
        return self._rendering(fields)

    def parse_categories(self, body: bytes, headers: Headers = ()) -> list[Category]:
        """Parse Category fields into Kinds, Mixins and Actions; other fields are ignored.

        A category named twice is an error: the collection would be ambiguous.
        """
        categories: list[Category] = []
        seen: set[str] = set()
        for code, value, where in self._fields(body, headers):
            if code != CATEGORY:
                continue
            try:
                for raw in parse_categories(value):
                    category = build_category(raw)
                    if category.id in seen:
                        raise GrammarError(
                            f"category {category.id} appears twice; "
                            "a scheme and term identify one category"
                        )
                    seen.add(category.id)
                    categories.append(category)
            except GrammarError as error:
                raise self._error(error.reason, where) from None
        return categories

    # --- entities -----------------------------------------------------------------

    def render_entity(self, entity: Entity) -> Rendering:
        """Render a resource (kind, mixins, inline links, action links, attributes) or a link."""
        try:
            fields = _entity_fields(entity)
        except RenderError as error:
            raise self._unsupported(error) from None
        return self._rendering(fields)

    def parse_entity(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> Entity:
        """Parse one resource or link.

        Without a kind Category the entity's `kind` is None (a partial
        update). With a `model`, the kind's ancestry decides Resource or Link
        and attribute values are coerced to their declared types; without
        one, an entity with ``occi.core.source`` or ``occi.core.target`` is a
        Link. Links in the document are inline links (a Resource's
        ``links``) or, when their URI carries ``?action=``, action links
        (the entity's ``actions``).
        """
        kind: str | None = None
        mixins: list[str] = []
        attributes: dict[str, Any] = {}
        links: list[Link] = []
        actions: list[str] = []
        for code, value, where in self._fields(body, headers):
            try:
                if code == ATTRIBUTE:
                    read_attributes(value, attributes)
                elif code == CATEGORY:
                    for term, scheme, category_class, _params in parse_categories(value):
                        identifier = scheme + term
                        if category_class == "kind":
                            if kind is not None and kind != identifier:
                                raise GrammarError(
                                    f"a second kind ({identifier}) after {kind}; "
                                    "an entity has exactly one kind"
                                )
                            kind = identifier
                        elif category_class == "mixin":
                            if identifier not in mixins:
                                mixins.append(identifier)
                        else:
                            raise GrammarError(
                                f"the action {identifier} in an entity rendering; an action "
                                "Category belongs in an action invocation"
                            )
                elif code == LINK:
                    for target, rel, self_location, categories, link_attributes in parse_links(
                        value
                    ):
                        if "?action=" in target:
                            action = rel.split(None, 1) if rel else None
                            if not action:
                                raise GrammarError(
                                    f'the action link <{target}> has no rel="<action id>"'
                                )
                            actions.append(action[0])
                        else:
                            links.append(
                                _inline_link(
                                    target, rel, self_location, categories, link_attributes
                                )
                            )
            except GrammarError as error:
                raise self._error(error.reason, where) from None
        if model is not None and kind is not None and isinstance(model.get(kind), Kind):
            is_link = model.is_kind_of(kind, LINK_KIND_ID)
        else:
            is_link = CORE_SOURCE in attributes or CORE_TARGET in attributes
        entity: Entity
        if is_link:
            if links:
                raise self._error(
                    "a link cannot carry inline links; send them with their source resource",
                    None,
                )
            entity = Link(kind=kind, mixins=mixins, attributes=attributes, actions=actions)
        else:
            entity = Resource(
                kind=kind, mixins=mixins, attributes=attributes, actions=actions, links=links
            )
        if model is not None:
            model.coerce(entity)
        return entity

    # --- collections --------------------------------------------------------------

    def render_locations(self, locations: Iterable[str]) -> Rendering:
        """Render entity locations as ``X-OCCI-Location`` fields."""
        return self._rendering(
            [("X-OCCI-Location", format_location(location)) for location in locations]
        )

    def parse_locations(self, body: bytes, headers: Headers = ()) -> list[str]:
        """Parse ``X-OCCI-Location`` (and ``Location``) fields; each value is a URI-reference.

        Relative references are valid (GFD.229: URI-reference). The list is
        returned as sent, duplicates included (a text/occi create response may
        name the new entity in both ``Location`` and ``X-OCCI-Location``).
        """
        locations: list[str] = []
        for code, value, where in self._fields(body, headers):
            if code != LOCATION:
                continue
            try:
                locations.extend(parse_locations(value))
            except GrammarError as error:
                raise self._error(error.reason, where) from None
        return locations

    # --- actions ------------------------------------------------------------------

    def render_action(self, invocation: ActionInvocation) -> Rendering:
        """Render ``Category: <action>; ...; class="action"`` plus the parameters."""
        try:
            fields = [("Category", format_category_reference(invocation.action, "action"))]
            fields.extend(
                ("X-OCCI-Attribute", format_attribute(name, value))
                for name, value in invocation.attributes.items()
                if value is not None
            )
        except RenderError as error:
            raise self._unsupported(error) from None
        return self._rendering(fields)

    def parse_action(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> ActionInvocation:
        """Parse an action invocation: exactly one action Category and its parameters."""
        action: str | None = None
        attributes: dict[str, Any] = {}
        for code, value, where in self._fields(body, headers):
            try:
                if code == CATEGORY:
                    for term, scheme, category_class, _params in parse_categories(value):
                        if category_class != "action":
                            raise GrammarError(
                                f"{scheme}{term} is a {category_class}; an action invocation "
                                'names one Category with class="action"'
                            )
                        if action is not None:
                            raise GrammarError(
                                f"a second action ({scheme}{term}) after {action}; "
                                "invoke one action at a time"
                            )
                        action = scheme + term
                elif code == ATTRIBUTE:
                    read_attributes(value, attributes, "parameter")
            except GrammarError as error:
                raise self._error(error.reason, where) from None
        if action is None:
            raise self._error(
                'no action Category; send Category: <term>; scheme="..."; class="action"', None
            )
        if model is not None:
            attributes = model.coerce_invocation_attributes(action, attributes)
        return ActionInvocation(action=action, attributes=attributes)


def _inline_link(
    target: str,
    rel: str | None,
    self_location: str | None,
    categories: str | None,
    attributes: dict[str, Any],
) -> Link:
    """A Link from a ``Link:`` value: kind and mixins from ``category``, target kind from rel."""
    # Explicit attributes win; the <target> and rel fill what they leave out.
    if CORE_TARGET not in attributes:
        attributes[CORE_TARGET] = target
    if rel and CORE_TARGET_KIND not in attributes:
        target_kinds = rel.split(None, 1)
        if target_kinds:
            attributes[CORE_TARGET_KIND] = target_kinds[0]
    identifiers = categories.split() if categories else None
    if identifiers:
        kind = identifiers[0]
        mixins = identifiers[1:]
    else:
        kind = LINK_KIND_ID
        mixins = []
    return Link(kind=kind, mixins=mixins, attributes=attributes, actions=[], location=self_location)


def _entity_fields(entity: Entity) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    if entity.kind is not None:
        fields.append(("Category", format_category_reference(entity.kind, "kind")))
    for mixin in entity.mixins:
        fields.append(("Category", format_category_reference(mixin, "mixin")))
    if isinstance(entity, Resource):
        for link in entity.links:
            fields.append(("Link", _format_inline_link(link)))
    if entity.actions:
        base = entity.location or ""
        for action in entity.actions:
            term = _action_term(action)
            rel = quote(action, "an action identifier")
            fields.append(("Link", f"{format_link_target(f'{base}?action={term}')}; rel={rel}"))
    for name, value in entity.attributes.items():
        if value is not None:
            fields.append(("X-OCCI-Attribute", format_attribute(name, value)))
    return fields


def _action_term(action: str) -> str:
    try:
        return split_identifier(action)[1]
    except ValueError:
        raise RenderError(f"the action identifier {action!r}, which has no '#'") from None


def _format_inline_link(link: Link) -> str:
    target = link.target
    if not target:
        raise RenderError(f"an inline link without a target ({link.id or link.location})")
    parts = [format_link_target(target)]
    if link.target_kind:
        parts.append(f"rel={quote(link.target_kind, 'the target kind of a link')}")
    if link.location:
        parts.append(f"self={quote(link.location, 'the location of a link')}")
    identifiers = list(link.mixins)
    if link.kind is not None or identifiers:
        # The first category value is the link's kind; without one it reads
        # back as core#link, so say so rather than let a mixin pass for it.
        identifiers.insert(0, link.kind or LINK_KIND_ID)
        parts.append(f"category={quote(' '.join(identifiers), 'the categories of a link')}")
    for name, value in link.attributes.items():
        # <target> and rel say these already, and a reader fills them in from there.
        if value is None or (name in _SAID_BY_LINK_HEAD and value == _head_value(link, name)):
            continue
        parts.append(format_attribute(name, value))
    return "; ".join(parts)


_SAID_BY_LINK_HEAD = frozenset((CORE_TARGET, CORE_TARGET_KIND))


def _head_value(link: Link, name: str) -> str | None:
    return link.target if name == CORE_TARGET else link.target_kind


# --- text/plain ---------------------------------------------------------------------------


class TextPlainCodec(_TextCodec):
    """``text/plain``: one ``Name: value`` per body line (CRLF when rendering, LF or CRLF read)."""

    media_type = "text/plain"

    def _fields(self, body: bytes, headers: Headers) -> Iterator[tuple[int, str, _Where]]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ParseError(
                "the body is not UTF-8 text",
                media_type=self.media_type,
                where=f"byte {error.start}",
            ) from None
        except AttributeError:
            raise ParseError(
                "the body must be bytes", media_type=self.media_type, where=None
            ) from None
        if text.startswith("\ufeff"):
            text = text[1:]
        exact = _EXACT_FIELD_CODES
        codes = FIELD_CODES
        for lineno, line in enumerate(text.split("\n"), 1):
            name, colon, value = line.partition(":")
            if not colon:
                if line and not line.isspace():
                    raise self._error(
                        f"expected 'Name: value' (Category, Link, X-OCCI-Attribute or "
                        f"X-OCCI-Location); got {_short(line)}",
                        lineno,
                    )
                continue
            code = exact.get(name)
            if code is None:
                code = codes.get(name.strip().lower())
            if code is None:
                raise self._error(
                    f"unknown field {name.strip()!r}; a text/plain OCCI body holds Category, "
                    "Link, X-OCCI-Attribute and X-OCCI-Location lines",
                    lineno,
                )
            yield code, value.strip(), lineno

    def _rendering(self, fields: list[tuple[str, str]]) -> Rendering:
        body = "".join(f"{name}: {value}{_CRLF}" for name, value in fields)
        return Rendering(self.media_type, body.encode("utf-8"))

    def open_collection(self) -> CollectionWriter:
        """``X-OCCI-Location`` lines for the entities."""
        return _PlainListingWriter(self)

    def iter_collection(self, entities: Iterable[Entity]) -> Iterator[bytes]:
        """``X-OCCI-Location`` lines for the entities, in batches."""
        writer = self.open_collection()
        batch: list[Entity] = []
        for entity in entities:
            batch.append(entity)
            if len(batch) >= _LISTING_BATCH:
                yield writer.write(batch)
                batch.clear()
        if batch:
            yield writer.write(batch)


class _PlainListingWriter(LocationWriter):
    def __init__(self, codec: Codec) -> None:
        self.media_type = codec.media_type

    def write_locations(self, locations: Sequence[str]) -> bytes:
        return location_lines("X-OCCI-Location: ", format_locations(locations), _CRLF)

    def close(self) -> bytes:
        return b""


class _HeaderListingWriter(LocationWriter):
    """text/occi: the locations become headers; the body is ``OK``."""

    def __init__(self, codec: Codec) -> None:
        self.media_type = codec.media_type
        self._headers: list[tuple[str, str]] = []

    def write_locations(self, locations: Sequence[str]) -> bytes:
        self._headers.extend(("X-OCCI-Location", loc) for loc in format_locations(locations))
        return b""

    def close(self) -> bytes:
        return b"OK"

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        return tuple(self._headers)


# --- text/occi ----------------------------------------------------------------------------


class TextOcciCodec(_TextCodec):
    """``text/occi``: the document is in the HTTP headers; the body is ``OK``.

    Rendering repeats a header per value (safer than the comma form, which
    naive parsers split inside quoted strings); parsing accepts both and
    ignores headers that are not OCCI fields (Content-Type, Host, ...).
    """

    media_type = "text/occi"

    def _fields(self, body: bytes, headers: Headers) -> Iterator[tuple[int, str, _Where]]:
        counts = [0, 0, 0, 0]
        exact = _EXACT_HEADER_CODES
        codes = FIELD_CODES
        items: Iterable[Any] = headers.items() if hasattr(headers, "items") else headers
        for name, value in items:
            if type(name) is not str or type(value) is not str:
                name, value = _header_text(name, value, self.media_type)
            code = exact.get(name)
            if code is None:
                code = codes.get(name.strip().lower())
                if code is None:
                    continue  # an HTTP header that is not an OCCI field
            counts[code] += 1
            # Where stays a (name, ordinal) pair until an error needs the text.
            yield code, value.strip(), (name.strip(), counts[code])

    def _rendering(self, fields: list[tuple[str, str]]) -> Rendering:
        return Rendering(self.media_type, b"OK", tuple(fields))

    collection_in_headers = True

    def open_collection(self) -> CollectionWriter:
        """The body of a listing is ``OK``; the locations go in the writer's headers."""
        return _HeaderListingWriter(self)


def _header_text(name: Any, value: Any, media_type: str) -> tuple[str, str]:
    """A header name and value as text: bytes are decoded (UTF-8 values, latin-1 names)."""
    if isinstance(name, bytes | bytearray):
        name = bytes(name).decode("latin-1")
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError(
                "a header value is not UTF-8 text", media_type=media_type, where=f"header {name}"
            ) from None
    return str(name), str(value)


def _short(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= 40 else text[:40] + "...")


# --- request headers, whatever the Accept type --------------------------------------------

_HEADER_CODEC = TextOcciCodec()


def parse_header_categories(headers: Headers) -> list[Category]:
    """The categories named in request headers (``Category``): filters and mixin lists.

    Categories given in short form come back as bare Kinds, Mixins or Actions.
    A malformed value raises a text/occi ParseError naming the header.
    """
    return _HEADER_CODEC.parse_categories(b"", headers)


def parse_header_attributes(headers: Headers) -> dict[str, Any]:
    """The attribute values named in request headers (``X-OCCI-Attribute``): filters.

    Values are typed as in any text rendering (quoted: str; bare: int, float,
    bool). A malformed value raises a text/occi ParseError naming the header.
    """
    attributes: dict[str, Any] = {}
    for code, value, where in _HEADER_CODEC._fields(b"", headers):
        if code != ATTRIBUTE:
            continue
        try:
            read_attributes(value, attributes)
        except GrammarError as error:
            raise _HEADER_CODEC._error(error.reason, where) from None
    return attributes
