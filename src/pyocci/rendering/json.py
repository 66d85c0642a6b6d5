"""The application/occi+json rendering (GFD.226), with the dialects found in the field.

Rendering follows GFD.226 and is shaped so that every document validates
against both published schemas, GFD.226's own and rOCCI-core 5's stricter
one: `attributes` is always present and holds every attribute value
(``occi.core.*`` included, as rOCCI does), empty arrays and objects are
otherwise left out (rOCCI's arrays need at least one, unique, item), nulls
are never written, attribute descriptions always say `mutable`, `required`
and `type`, and every Kind and Mixin has a `location`. An integer or an enum
attribute is described as GFD.226 says: `type` ``number`` or ``string``
with a `pattern` JSON Schema saying ``integer`` or listing the allowed
values. rOCCI-core 5 takes `pattern` for a regular expression string and
refuses the object, so the codec made for its clients (``value_schemas=False``)
leaves `pattern` out, and its documents validate against its schema too.

Parsing is tolerant of what other implementations send: top-level `id`,
`title` and `summary` merged into the attributes; OCCI 1.1-era nested
attribute objects (``{"occi": {"core": {"id": ...}}}``); erocci's
`location` member, links given as bare URLs and link ends given as bare
strings; rOCCI-core 4's collection-wrapped action invocation; OOI's integer
terms; erocci's ``[]`` for an empty title; a missing `kind` (a partial
update). Anything else that is not OCCI JSON raises `ParseError` with a JSON
pointer to the offending member -- never another exception, whatever the
bytes.

The stdlib `json` module meets the speed targets (a compute resource with
two links parses in about 35 us; 10,000 of them render in about 0.25 s on
two cores), so no optional accelerator is used: one encoder, one output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from pyocci.model.attribute import AttributeDefinition, AttributeType, attribute_type_from_json
from pyocci.model.category import TERM_PATTERN, Action, Category, Kind, Mixin, split_identifier
from pyocci.model.core import LINK
from pyocci.model.entity import (
    CORE_ID,
    CORE_SOURCE,
    CORE_SOURCE_KIND,
    CORE_SUMMARY,
    CORE_TARGET,
    CORE_TARGET_KIND,
    CORE_TITLE,
    ActionInvocation,
    Entity,
    Link,
    Resource,
)
from pyocci.model.registry import Model
from pyocci.rendering.base import Codec, CollectionWriter, Headers, Rendering
from pyocci.rendering.errors import ParseError

MEDIA_TYPE = "application/occi+json"

#: Request media types this codec reads; rOCCI-server also takes plain JSON.
ACCEPTED_MEDIA_TYPES = (MEDIA_TYPE, "application/json")

# ASCII output: non-ASCII text is escaped, so the body is always valid UTF-8
# (a lone surrogate in a value cannot break the encoding) and the C encoder
# takes its fastest path. Compact separators keep listings small. The
# documents are built here, fresh, so the circular-reference check (which
# nearly doubles the encoding time) is skipped: a self-containing attribute
# value would end in RecursionError instead of ValueError.
_ENCODER = json.JSONEncoder(
    ensure_ascii=True, separators=(",", ":"), allow_nan=False, check_circular=False
)

# Members that make a JSON object an entity rendering (any one is enough; a
# partial update may carry only `mixins` or `attributes`).
_ENTITY_MEMBERS = frozenset(
    {
        "kind",
        "mixins",
        "attributes",
        "actions",
        "id",
        "title",
        "summary",
        "links",
        "source",
        "target",
        "location",
    }
)
# Members only a single entity has; with `links` but none of these, a
# document is a link collection rather than a resource.
_SINGLE_ENTITY_MEMBERS = _ENTITY_MEMBERS - {"links", "mixins", "actions"}

_DESCRIPTION_MEMBERS = frozenset(
    {"mutable", "required", "type", "pattern", "default", "description"}
)
# In an attribute description these hold scalars; an object under one of
# these names means a nesting level of the OCCI 1.1 dialect instead.
_SCALAR_DESCRIPTION_MEMBERS = ("mutable", "required", "type", "description")

# A JSON \u escape of a UTF-16 surrogate: only documents containing one need
# the (slower) check for unpaired surrogates, which cannot be encoded.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

_CORE_MEMBERS = (("id", CORE_ID), ("title", CORE_TITLE), ("summary", CORE_SUMMARY))


class _NonFinite:
    """Stands in for NaN/Infinity while loading, so the error can say where it was."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _NonFiniteNumberError(ValueError):
    """Raised by the decoder at NaN or Infinity, which JSON does not have."""


def _refuse_constant(name: str) -> Any:
    raise _NonFiniteNumberError(name)


# One decoder for every request: building one per call costs more than the
# parse of a small document. The marking decoder only runs to locate an error.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_MARKING_DECODER = json.JSONDecoder(parse_constant=_NonFinite)


# --- errors and pointers ------------------------------------------------------------


def _error(message: str, where: str) -> ParseError:
    return ParseError(message, media_type=MEDIA_TYPE, where=where)


def _pointer(base: str, key: str | int) -> str:
    """Extend a JSON pointer (RFC 6901) by one member name or array index."""
    if isinstance(key, int):
        return f"{base}/{key}"
    return base + "/" + key.replace("~", "~0").replace("/", "~1")


def _describe(value: Any) -> str:
    """Name a JSON value's type the way a person reading the document would."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --- loading ------------------------------------------------------------------------


def _load(body: bytes | bytearray | memoryview | str) -> Any:
    """Decode and parse a body as strict UTF-8 JSON, turning every failure into ParseError."""
    if isinstance(body, str):
        text = body
        _check_text(text, "")  # a str may hold surrogates no UTF-8 body can
    else:
        raw = body if isinstance(body, bytes) else bytes(body)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _error(
                f"the body is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                "send JSON encoded as UTF-8",
                f"byte {exc.start}",
            ) from None
    if text.startswith("\ufeff"):
        # RFC 8259 §8.1 lets a parser ignore a byte order mark; some clients send one.
        text = text[1:]
    try:
        document = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        if not text.strip():
            raise _error("the body is empty; send a JSON document", "") from None
        raise _error(
            f"not valid JSON: {exc.msg}", f"line {exc.lineno} column {exc.colno}"
        ) from None
    except _NonFiniteNumberError as exc:
        raise _non_finite(text, str(exc)) from None
    except RecursionError:
        raise _error("the document is nested too deeply", "") from None
    except ValueError as exc:
        # Integers too long to convert (sys.get_int_max_str_digits) land here.
        raise _error(f"not valid JSON: {exc}", "") from None
    if _SURROGATE_ESCAPE.search(text) is not None:
        _check_values(document)
    return document


def _non_finite(text: str, name: str) -> ParseError:
    """The error for NaN/Infinity: parse again, keeping markers, to say where it was."""
    try:
        marked = _MARKING_DECODER.decode(text)
    except json.JSONDecodeError as exc:
        # The constant came before a syntax error; report the syntax error.
        return _error(f"not valid JSON: {exc.msg}", f"line {exc.lineno} column {exc.colno}")
    except (ValueError, RecursionError):
        marked = None
    try:
        _check_values(marked)
    except ParseError as error:
        return error
    return _error(f"{name} is not a JSON number; send a finite number", "")


def _check_values(document: Any) -> None:
    """Reject NaN/Infinity and unpaired surrogates, which JSON parsers may read but not carry."""
    pending: list[tuple[Any, str]] = [(document, "")]
    while pending:
        value, where = pending.pop()
        if isinstance(value, _NonFinite):
            raise _error(f"{value.name} is not a JSON number; send a finite number", where)
        if isinstance(value, str):
            _check_text(value, where)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, where)
                pending.append((item, _pointer(where, key)))
        elif isinstance(value, list):
            pending.extend((item, _pointer(where, index)) for index, item in enumerate(value))


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _error(
            "a string holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff); "
            "escape characters outside the BMP as surrogate pairs",
            where,
        ) from None


def _object(document: Any, where: str, expected: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise _error(f"expected {expected} (a JSON object), not {_describe(document)}", where)
    if where == "" and ("$schema" in document or "$ref" in document):
        raise _error(f"this is a JSON Schema, not an OCCI document; expected {expected}", where)
    return document


def _other_document(document: Mapping[str, Any]) -> str | None:
    """What a top-level object is when it is plainly not an entity, for the error message."""
    if "term" in document or "scheme" in document:
        return "a category (it has term and scheme)"
    if "kinds" in document:
        return "a category collection (it has kinds)"
    if "action" in document:
        return "an action invocation (it has action)"
    return None


def _refuse_other_document(document: Mapping[str, Any], expected: str) -> None:
    other = _other_document(document)
    if other is not None:
        raise _error(f"expected {expected}, but this is {other}", "")


# --- small readers --------------------------------------------------------------------


def _optional_string(document: Mapping[str, Any], member: str, where: str) -> str | None:
    value = document.get(member)
    if value is None or isinstance(value, str):
        return value
    raise _error(f"{member} must be a string, not {_describe(value)}", _pointer(where, member))


def _identifier(value: Any, where: str, what: str) -> str:
    """A category identifier (``scheme#term``)."""
    if not isinstance(value, str):
        raise _error(
            f"a {what} identifier must be a string such as "
            f"'{_EXAMPLES[what]}', not {_describe(value)}",
            where,
        )
    if "#" not in value:
        raise _error(
            f"{value!r} is not a {what} identifier; give scheme and term, e.g. '{_EXAMPLES[what]}'",
            where,
        )
    return value


_EXAMPLES = {
    "kind": "http://schemas.ogf.org/occi/infrastructure#compute",
    "mixin": "http://schemas.ogf.org/occi/infrastructure#os_tpl",
    "action": "http://schemas.ogf.org/occi/infrastructure/compute/action#start",
    "category": "http://schemas.ogf.org/occi/infrastructure#compute",
}


def _identifiers(value: Any, where: str, member: str, what: str) -> list[str]:
    """An array of category identifiers, found at `member` of the object at `where`."""
    if type(value) is not list:
        raise _error(
            f"{member} must be an array of {what} identifiers, not {_describe(value)}",
            _pointer(where, member),
        )
    for index, item in enumerate(value):
        if type(item) is not str or "#" not in item:
            _identifier(item, _pointer(_pointer(where, member), index), what)
    return list(value)


def _optional_identifiers(
    document: Mapping[str, Any], member: str, where: str, what: str
) -> list[str]:
    value = document.get(member)
    return [] if value is None else _identifiers(value, where, member, what)


# --- entities: parsing ----------------------------------------------------------------


def _attributes(value: Any, where: str) -> dict[str, Any]:
    """The attribute map of an entity, flattening the OCCI 1.1 nested form."""
    if not isinstance(value, dict):
        raise _error(
            f"attributes must be an object mapping attribute names to values, "
            f"not {_describe(value)}",
            where,
        )
    for name, item in value.items():
        if "." not in name and isinstance(item, dict):
            break
    else:
        return dict(value)  # the GFD.226 flat map: the common case, kept fast
    flat: dict[str, Any] = {}
    # Top-level names without a dot holding an object are nesting levels
    # (``{"occi": {"core": {"id": ...}}}``); inside a nesting level every
    # object is one more level, since 1.1 clients had no object values.
    pending: list[tuple[str, Any, bool]] = [
        (name, item, "." not in name and isinstance(item, dict))
        for name, item in reversed(value.items())
    ]
    while pending:
        name, item, nested = pending.pop()
        if not nested:
            flat[name] = item
            continue
        pending.extend(
            (f"{name}.{key}", child, isinstance(child, dict))
            for key, child in reversed(item.items())
        )
    return flat


def _merge(
    attributes: dict[str, Any], name: str, value: Any, what: str, where: str, *path: str
) -> None:
    """Put a value given as a member into the attribute map, refusing contradictions."""
    existing = attributes.get(name)
    if existing is None:
        attributes[name] = value
    elif existing != value:
        for step in path:
            where = _pointer(where, step)
        raise _error(
            f"{what} {value!r} disagrees with attribute {name} {existing!r}; "
            "send the same value in both places or only one of them",
            where,
        )


def _endpoint(value: Any, where: str, member: str) -> tuple[str, str | None]:
    """A link's `source` or `target`: ``{"location", "kind"}``, or (erocci) a bare URL."""
    if type(value) is str:
        if not value:
            raise _error(
                f"{member} must not be empty; give the location of the resource",
                _pointer(where, member),
            )
        return value, None
    if not isinstance(value, dict):
        raise _error(
            f'{member} must be an object {{"location": ..., "kind": ...}}, not {_describe(value)}',
            _pointer(where, member),
        )
    location = value.get("location")
    if type(location) is not str or not location:
        raise _error(
            f"{member} needs a location: the URL of the resource (a non-empty string)",
            _pointer(_pointer(where, member), "location"),
        )
    kind = value.get("kind")
    if kind is not None and (type(kind) is not str or "#" not in kind):
        _identifier(kind, _pointer(_pointer(where, member), "kind"), "kind")
    return location, kind


_ENDPOINTS = (
    ("source", CORE_SOURCE, CORE_SOURCE_KIND),
    ("target", CORE_TARGET, CORE_TARGET_KIND),
)


def _entity(
    document: Any,
    where: str,
    model: Model | None,
    hint: type[Entity] | None = None,
    parent: Resource | None = None,
) -> Entity:
    """Build a Resource or Link from one entity object.

    JSON pointers are only built when something is wrong: this is the hot
    path of every request body and listing.
    """
    if not isinstance(document, dict):
        raise _error(f"expected an entity (a JSON object), not {_describe(document)}", where)
    if _ENTITY_MEMBERS.isdisjoint(document):
        raise _error(
            "not an OCCI entity: it has none of kind, attributes, id, mixins, links, "
            "source or target",
            where,
        )
    get = document.get
    kind = get("kind")
    if kind is not None and (type(kind) is not str or "#" not in kind):
        _identifier(kind, _pointer(where, "kind"), "kind")
    raw_attributes = get("attributes")
    attributes = (
        {} if raw_attributes is None else _attributes(raw_attributes, where + "/attributes")
    )
    for member, name in _CORE_MEMBERS:
        value = get(member)
        if value is not None:
            if type(value) is not str:
                raise _error(
                    f"{member} must be a string, not {_describe(value)}", _pointer(where, member)
                )
            existing = attributes.setdefault(name, value)
            if existing is not value and existing != value:
                _merge(attributes, name, value, member, where, member)
    for member, name, kind_name in _ENDPOINTS:
        value = get(member)
        if value is not None:
            location, end_kind = _endpoint(value, where, member)
            existing = attributes.setdefault(name, location)
            if existing is not location and existing != location:
                _merge(attributes, name, location, member, where, member, "location")
            if end_kind is not None:
                existing = attributes.setdefault(kind_name, end_kind)
                if existing is not end_kind and existing != end_kind:
                    _merge(attributes, kind_name, end_kind, f"{member} kind", where, member, "kind")
    location = get("location")
    if location is not None and type(location) is not str:
        raise _error(
            f"location must be a string, not {_describe(location)}", _pointer(where, "location")
        )
    mixins = get("mixins")
    mixins = [] if mixins is None else _identifiers(mixins, where, "mixins", "mixin")
    actions = get("actions")
    actions = [] if actions is None else _identifiers(actions, where, "actions", "action")
    cls = _entity_class(kind, attributes, model, hint)
    entity = cls(
        kind=kind,
        mixins=mixins,
        attributes=attributes,
        actions=actions,
        location=location or None,
    )
    if model is not None:
        _derive_location(entity, model)
    links = get("links")
    if isinstance(entity, Link):
        if parent is not None and entity.source is None and parent.location is not None:
            # An inline link starts at the resource that carries it (GFD.221).
            entity.source = parent.location
            if entity.source_kind is None and parent.kind is not None:
                entity.source_kind = parent.kind
        if links:
            raise _error(
                "a link cannot carry links; only resources have links", _pointer(where, "links")
            )
    elif links is not None and isinstance(entity, Resource):
        entity.links = _inline_links(links, where + "/links", model, entity)
    return entity


def _entity_class(
    kind: str | None, attributes: Mapping[str, Any], model: Model | None, hint: type[Entity] | None
) -> type[Entity]:
    """Resource or Link: by the kind's ancestry when the model knows it, else by context."""
    if model is not None and kind is not None and isinstance(model.get(kind), Kind):
        return Link if model.is_kind_of(kind, LINK.id) else Resource
    if hint is not None:
        return hint
    if CORE_SOURCE in attributes or CORE_TARGET in attributes:
        return Link
    return Resource


def _derive_location(entity: Entity, model: Model) -> None:
    """An entity without a location lives at its kind's location + its id (GFD.223 §1)."""
    if entity.location is not None or entity.kind is None:
        return
    kind = model.get(entity.kind)
    identifier = entity.id
    if isinstance(kind, Kind) and kind.location and isinstance(identifier, str) and identifier:
        entity.location = model.location_of(kind.id, identifier)


def _inline_links(value: Any, where: str, model: Model | None, parent: Resource) -> list[Link]:
    if not isinstance(value, list):
        raise _error(f"links must be an array of link objects, not {_describe(value)}", where)
    links: list[Link] = []
    for index, item in enumerate(value):
        here = _pointer(where, index)
        if isinstance(item, str):
            # erocci lists a resource's links as bare target URLs.
            if not item:
                raise _error("a link URL must not be empty", here)
            link = Link(kind=None, attributes={CORE_TARGET: item})
            if parent.location is not None:
                link.source = parent.location
        else:
            link = _entity(item, here, model, Link, parent)  # type: ignore[assignment]
            if not isinstance(link, Link):
                raise _error(
                    f"kind {link.kind!r} is not a link kind; a resource's links must be links",
                    _pointer(here, "kind"),
                )
        links.append(link)
    return links


def _is_collection(document: Mapping[str, Any]) -> bool:
    if not document or "resources" in document:
        # {} is how an empty collection renders.
        return True
    return "links" in document and not document.keys() & _SINGLE_ENTITY_MEMBERS


def _collection(document: Mapping[str, Any], model: Model | None) -> list[Entity]:
    entities: list[Entity] = []
    for member, hint in (("resources", Resource), ("links", Link)):
        value = document.get(member)
        if value is None:
            continue
        where = "/" + member
        if not isinstance(value, list):
            raise _error(
                f"{member} must be an array of entity objects, not {_describe(value)}", where
            )
        entities.extend(
            _entity(item, _pointer(where, index), model, hint) for index, item in enumerate(value)
        )
    return entities


def _entities(document: dict[str, Any], model: Model | None) -> list[Entity]:
    """The entities of a top-level object: a collection, or one entity."""
    try:
        if _is_collection(document):
            entities = _collection(document, model)
        else:
            _refuse_other_document(document, "an entity")
            entities = [_entity(document, "", model)]
        if model is not None:
            for entity in entities:
                model.coerce(entity)
    except RecursionError:
        # The decoder caps nesting, but a value the model decodes (a list
        # attribute given as a JSON string) can still be too deep.
        raise _error("the document is nested too deeply", "") from None
    return entities


# --- categories: parsing ------------------------------------------------------------


def _term(document: Mapping[str, Any], where: str) -> str:
    term = document.get("term")
    if isinstance(term, int) and not isinstance(term, bool):
        # OOI renders numeric flavour ids as JSON numbers; the text rendering
        # of the same server gives the term as digits, so that is what it means.
        term = str(term)
    if not isinstance(term, str) or not term:
        raise _error(
            f"a category needs a term (a non-empty string), not {_describe(term)}",
            _pointer(where, "term"),
        )
    _check_term(term, _pointer(where, "term"))
    return term


def _check_term(term: str, where: str) -> None:
    """OCCI terms are letters, digits and ``_.-``, starting with a letter or digit."""
    if TERM_PATTERN.fullmatch(term) is None:
        raise _error(
            f"{term!r} is not an OCCI term: use letters, digits, '_', '-' and '.', "
            "starting with a letter or digit",
            where,
        )


def _category(document: Any, where: str, cls: type[Category]) -> Category:
    """Build a full Kind, Mixin or Action from its object."""
    if not isinstance(document, dict):
        raise _error(
            f"expected a {cls.__name__.lower()} (a JSON object or an identifier string), "
            f"not {_describe(document)}",
            where,
        )
    term = _term(document, where)
    scheme = document.get("scheme")
    if not isinstance(scheme, str) or not scheme:
        raise _error(
            f"a category needs a scheme (a non-empty string ending in '#'), "
            f"not {_describe(scheme)}",
            _pointer(where, "scheme"),
        )
    title = document.get("title")
    if isinstance(title, list) and not title:
        title = None  # erocci (Erlang) writes the empty string as []
    elif title is not None and not isinstance(title, str):
        raise _error(f"title must be a string, not {_describe(title)}", _pointer(where, "title"))
    attributes = (
        _descriptions(document["attributes"], _pointer(where, "attributes"))
        if document.get("attributes") is not None
        else {}
    )
    if cls is Action:
        return Action(scheme=scheme, term=term, title=title, attributes=attributes)
    location = _optional_string(document, "location", where) or None
    actions = tuple(_optional_identifiers(document, "actions", where, "action"))
    # OCCI 1.1 (`related`) still comes from pyssf and rOCCI-core 4.
    related = _optional_identifiers(document, "related", where, "kind" if cls is Kind else "mixin")
    if cls is Kind:
        parent = document.get("parent")
        if parent == "":
            parent = None  # MartServer writes "" for the root kind's parent
        if parent is not None:
            parent = _identifier(parent, _pointer(where, "parent"), "kind")
        elif related:
            parent = related[0]
        return Kind(
            scheme=scheme,
            term=term,
            title=title,
            attributes=attributes,
            parent=parent,
            actions=actions,
            location=location,
        )
    depends = _optional_identifiers(document, "depends", where, "mixin") or related
    return Mixin(
        scheme=scheme,
        term=term,
        title=title,
        attributes=attributes,
        depends=tuple(depends),
        applies=tuple(_optional_identifiers(document, "applies", where, "kind")),
        actions=actions,
        location=location,
    )


def _is_description(value: dict[str, Any]) -> bool:
    """Whether an object is an attribute description rather than a nesting level."""
    if not value.keys() <= _DESCRIPTION_MEMBERS:
        return False
    return not any(isinstance(value.get(member), dict) for member in _SCALAR_DESCRIPTION_MEMBERS)


def _descriptions(value: Any, where: str) -> dict[str, AttributeDefinition]:
    """Attribute descriptions by name, flattening the OCCI 1.1 nested form."""
    if not isinstance(value, dict):
        raise _error(
            f"attributes must be an object mapping attribute names to descriptions, "
            f"not {_describe(value)}",
            where,
        )
    definitions: dict[str, AttributeDefinition] = {}
    pending: list[tuple[str, Any, str, bool]] = [
        (name, item, _pointer(where, name), "." in name) for name, item in reversed(value.items())
    ]
    while pending:
        name, item, here, dotted = pending.pop()
        if not isinstance(item, dict):
            raise _error(
                f"the description of attribute {name} must be an object with mutable, "
                f"required and type, not {_describe(item)}",
                here,
            )
        if dotted or _is_description(item):
            definitions[name] = _description(name, item, here)
        else:
            pending.extend(
                (f"{name}.{key}", child, _pointer(here, key), False)
                for key, child in reversed(item.items())
            )
    return definitions


def _flag(document: Mapping[str, Any], member: str, where: str) -> bool:
    value = document.get(member, False)
    if not isinstance(value, bool):
        raise _error(
            f"{member} must be true or false, not {_describe(value)}", _pointer(where, member)
        )
    return value


def _description(name: str, document: dict[str, Any], where: str) -> AttributeDefinition:
    """One attribute description, with GFD.226's defaults for absent members."""
    type_name = document.get("type")
    if type_name is None:
        attribute_type = AttributeType.STRING
    else:
        attribute_type = attribute_type_from_json(type_name) if isinstance(type_name, str) else None
        if attribute_type is None:
            raise _error(
                f"type must be one of string, number, boolean, array or object, not {type_name!r}",
                _pointer(where, "type"),
            )
    pattern = document.get("pattern")
    regex: str | None = None
    enum: tuple[str, ...] = ()
    if isinstance(pattern, str):
        regex = pattern  # rOCCI-core: a regular expression
    elif isinstance(pattern, dict):
        # GFD.226: a JSON Schema. Only what the model can hold is kept: an
        # integer type and a list of allowed strings. Its own `pattern` is a
        # JSON Schema (unanchored, ECMA 262) regex, not the model's anchored one.
        if pattern.get("type") == "integer" and (
            type_name is None or attribute_type is AttributeType.NUMBER
        ):
            attribute_type = AttributeType.INTEGER
        choices = pattern.get("enum")
        if (
            isinstance(choices, list)
            and choices
            and all(isinstance(choice, str) for choice in choices)
            and attribute_type in (AttributeType.STRING, AttributeType.ENUM)
        ):
            attribute_type = AttributeType.ENUM
            enum = tuple(choices)
    elif pattern is not None:
        raise _error(
            f"pattern must be a regular expression string or a JSON Schema object, "
            f"not {_describe(pattern)}",
            _pointer(where, "pattern"),
        )
    return AttributeDefinition(
        name=name,
        type=attribute_type,
        mutable=_flag(document, "mutable", where),
        required=_flag(document, "required", where),
        default=document.get("default"),
        description=_optional_string(document, "description", where),
        pattern=regex,
        enum=enum,
    )


def _single_category_class(document: Mapping[str, Any]) -> type[Category]:
    """Tell a lone Kind, Mixin or Action apart by the members it has."""
    declared = document.get("class")
    if declared is not None:
        classes: dict[str, type[Category]] = {"kind": Kind, "mixin": Mixin, "action": Action}
        if isinstance(declared, str) and declared.lower() in classes:
            return classes[declared.lower()]
        raise _error(
            f"class must be kind, mixin or action, not {declared!r}", _pointer("", "class")
        )
    if "parent" in document:
        return Kind
    if "depends" in document or "applies" in document or "location" in document:
        # A lone category with a location is a user mixin definition (POST /-/).
        return Mixin
    if "actions" in document:
        return Kind
    return Action


# --- rendering helpers ----------------------------------------------------------------


def _unique(values: list[str] | tuple[str, ...]) -> list[str]:
    # rOCCI-core's arrays must hold unique items.
    return list(dict.fromkeys(values)) if len(values) > 1 else list(values)


def _values(attributes: Mapping[str, Any]) -> Mapping[str, Any]:
    """The attribute map without nulls (never written); the map itself when it has none."""
    if None in attributes.values():
        return {name: value for name, value in attributes.items() if value is not None}
    return attributes


def _resource_object(resource: Entity) -> dict[str, Any]:
    attributes = resource.attributes
    rendered: dict[str, Any] = {}
    if resource.kind is not None:
        rendered["kind"] = resource.kind
    if resource.mixins:
        rendered["mixins"] = _unique(resource.mixins)
    rendered["attributes"] = _values(attributes)
    if resource.actions:
        rendered["actions"] = _unique(resource.actions)
    for member, name in _CORE_MEMBERS:
        value = attributes.get(name)
        if isinstance(value, str):
            rendered[member] = value
    links = getattr(resource, "links", None)
    if links:
        rendered["links"] = [_link_object(link, resource) for link in links]
    return rendered


def _link_object(link: Entity, parent: Entity | None = None) -> dict[str, Any]:
    attributes = link.attributes
    values = _values(attributes)
    source = attributes.get(CORE_SOURCE)
    source_kind = attributes.get(CORE_SOURCE_KIND)
    if source is None and parent is not None and parent.location is not None:
        # An inline link starts at its resource even when nobody wrote it down.
        values = dict(values)
        source = values[CORE_SOURCE] = parent.location
        if source_kind is None and parent.kind is not None:
            source_kind = values[CORE_SOURCE_KIND] = parent.kind
    rendered: dict[str, Any] = {}
    if link.kind is not None:
        rendered["kind"] = link.kind
    if link.mixins:
        rendered["mixins"] = _unique(link.mixins)
    rendered["attributes"] = values
    if link.actions:
        rendered["actions"] = _unique(link.actions)
    identifier = attributes.get(CORE_ID)
    if isinstance(identifier, str):
        rendered["id"] = identifier
    title = attributes.get(CORE_TITLE)
    if isinstance(title, str):
        rendered["title"] = title
    if isinstance(source, str):
        rendered["source"] = _kinded(source, source_kind)
    target = attributes.get(CORE_TARGET)
    if isinstance(target, str):
        rendered["target"] = _kinded(target, attributes.get(CORE_TARGET_KIND))
    return rendered


def _kinded(location: str, kind: Any) -> dict[str, str]:
    return {"location": location, "kind": kind} if isinstance(kind, str) else {"location": location}


#: The JSON Schema dialect of GFD.226's `pattern` objects.
_DRAFT_04 = "http://json-schema.org/draft-04/schema#"


def _description_object(definition: AttributeDefinition, value_schemas: bool) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "mutable": definition.mutable,
        "required": definition.required,
        "type": definition.type.json_type,
    }
    if value_schemas:
        schema = _value_schema(definition)
        if schema is not None:
            rendered["pattern"] = schema
    default = definition.default
    # GFD.226's schema admits only scalar defaults (rOCCI's also arrays/objects).
    if isinstance(default, str | int | float):
        rendered["default"] = default
    if definition.description is not None:
        rendered["description"] = definition.description
    return rendered


def _value_schema(definition: AttributeDefinition) -> dict[str, Any] | None:
    """GFD.226's `pattern` for what `type` alone cannot say: an integer, allowed strings.

    Only what `_description` reads back is written, so a model makes the round trip.
    """
    if definition.type is AttributeType.INTEGER:
        return {"$schema": _DRAFT_04, "type": "integer"}
    if definition.type is AttributeType.ENUM and definition.enum:
        return {"$schema": _DRAFT_04, "type": "string", "enum": list(definition.enum)}
    return None


def _category_object(category: Category, value_schemas: bool) -> dict[str, Any]:
    rendered: dict[str, Any] = {"term": category.term, "scheme": category.scheme}
    if category.title is not None:
        rendered["title"] = category.title
    if isinstance(category, Kind):
        if category.parent is not None:
            rendered["parent"] = category.parent
    elif isinstance(category, Mixin):
        if category.depends:
            rendered["depends"] = _unique(category.depends)
        if category.applies:
            rendered["applies"] = _unique(category.applies)
    if isinstance(category, Kind | Mixin):
        # rOCCI-core requires a location on every kind and mixin; without one
        # declared, use the conventional collection path /<term>/.
        rendered["location"] = category.location or f"/{category.term}/"
    if category.attributes:
        rendered["attributes"] = {
            name: _description_object(definition, value_schemas)
            for name, definition in category.attributes.items()
        }
    if isinstance(category, Kind | Mixin) and category.actions:
        rendered["actions"] = _unique(category.actions)
    return rendered


def _section(category: Category) -> str:
    if isinstance(category, Kind):
        return "kinds"
    if isinstance(category, Mixin):
        return "mixins"
    if isinstance(category, Action):
        return "actions"
    raise TypeError(f"cannot render {type(category).__name__}: expected a Kind, Mixin or Action")


def _encode(document: Any) -> bytes:
    try:
        # Several times faster than the json module, for the ASCII documents most are.
        encoded = orjson.dumps(document)
        # orjson writes NaN and infinities as null: the json module refuses them.
        if encoded.isascii() and b"null" not in encoded:
            return encoded
    except orjson.JSONEncodeError:
        pass  # a lone surrogate, an integer beyond 64 bits: the json module writes them
    # Non-ASCII text goes out as \u escapes: pure ASCII on the wire, whatever charset
    # a client assumes.
    return _ENCODER.encode(document).encode("ascii")


# --- the codec --------------------------------------------------------------------------


class JsonCollectionWriter(CollectionWriter):
    """Writes ``{"resources": [...], "links": [...]}`` as entities arrive.

    Whichever of resources and links comes first streams; entities of the
    other sort are rendered and held until the first section is closed. An
    empty collection is ``{}``.
    """

    def __init__(self) -> None:
        self._opened: str | None = None
        self._held: list[bytes] = []

    def write(self, entities: Iterable[Entity]) -> bytes:
        parts: list[bytes] = []
        for entity in entities:
            section = "links" if isinstance(entity, Link) else "resources"
            chunk = _encode(
                _link_object(entity) if section == "links" else _resource_object(entity)
            )
            if self._opened is None:
                self._opened = section
                parts.append(b'{"' + section.encode("ascii") + b'":[' + chunk)
            elif section == self._opened:
                parts.append(b"," + chunk)
            else:
                self._held.append(chunk)
        return b"".join(parts)

    def close(self) -> bytes:
        if self._opened is None:
            return b"{}"
        if self._held:
            other = "resources" if self._opened == "links" else "links"
            return b'],"' + other.encode("ascii") + b'":[' + b",".join(self._held) + b"]}"
        return b"]}"


class JsonCodec(Codec):
    """application/occi+json (GFD.226): parse and render every OCCI document.

    Headers are not consulted: the JSON rendering lives in the body alone.
    Besides the `Codec` interface it renders category-identifier lists
    (`render_category_identifiers`), the form rOCCI uses for partial updates.
    """

    media_type = MEDIA_TYPE
    #: Request media types the parsers accept.
    accepted_media_types = ACCEPTED_MEDIA_TYPES

    def __init__(self, *, value_schemas: bool = True) -> None:
        #: Whether attribute descriptions carry GFD.226 `pattern` objects (an integer's
        #: type, an enum's values); False for rOCCI-core 5, which refuses them.
        self.value_schemas = value_schemas

    @property
    def variant(self) -> str:
        """The media type, marked when `pattern` objects are left out (a cache key)."""
        return self.media_type if self.value_schemas else f"{self.media_type} rOCCI"

    # --- categories ---------------------------------------------------------------

    def render_categories(self, categories: Iterable[Category]) -> Rendering:
        """Render Kinds, Mixins and Actions in full as ``{"kinds", "mixins", "actions"}``.

        Empty sections are left out, so no categories render as ``{}``.
        """
        sections: dict[str, list[dict[str, Any]]] = {"kinds": [], "mixins": [], "actions": []}
        for category in categories:
            sections[_section(category)].append(_category_object(category, self.value_schemas))
        document = {name: items for name, items in sections.items() if items}
        return Rendering(self.media_type, _encode(document))

    def render_category_identifiers(self, categories: Iterable[Category | str]) -> Rendering:
        """Render categories by identifier only: ``{"kinds": [id], "mixins": [id], ...}``.

        Strings are taken to be mixin identifiers (the usual content: a
        partial update or a filter naming mixins).
        """
        sections: dict[str, list[str]] = {"kinds": [], "mixins": [], "actions": []}
        for category in categories:
            if isinstance(category, str):
                sections["mixins"].append(category)
            else:
                sections[_section(category)].append(category.id)
        document = {name: _unique(ids) for name, ids in sections.items() if ids}
        return Rendering(self.media_type, _encode(document))

    def parse_categories(self, body: bytes, headers: Headers = ()) -> list[Category]:
        """Parse a category collection, one Kind/Mixin/Action object, or an identifier list.

        Identifiers (``{"mixins": ["<id>", ...]}``) become bare categories of
        the class their section names. Entities in a model document are
        ignored here; `parse_entities` reads them.
        """
        document = _object(_load(body), "", "kinds, mixins or actions")
        if not document:
            return []  # how no categories render
        try:
            if "term" in document or "scheme" in document:
                return [_category(document, "", _single_category_class(document))]
            if not _SINGLE_ENTITY_MEMBERS.isdisjoint(document):
                # {"kind": ..., "actions": [...]} is an entity, not an identifier list.
                raise _error(
                    "expected categories (kinds, mixins or actions), but this is an entity", ""
                )
            categories: list[Category] = []
            found = False
            for member, cls in (("kinds", Kind), ("mixins", Mixin), ("actions", Action)):
                value = document.get(member)
                if value is None:
                    continue
                found = True
                where = "/" + member
                if not isinstance(value, list):
                    raise _error(
                        f"{member} must be an array of {cls.__name__.lower()}s, "
                        f"not {_describe(value)}",
                        where,
                    )
                for index, item in enumerate(value):
                    here = _pointer(where, index)
                    if isinstance(item, str):
                        categories.append(_bare_category(item, here, cls))
                    else:
                        categories.append(_category(item, here, cls))
        except RecursionError:
            raise _error("the document is nested too deeply", "") from None
        if not found:
            other = _other_document(document)
            raise _error(
                "expected a category collection with kinds, mixins or actions, "
                "or one category with term and scheme" + (f"; this is {other}" if other else ""),
                "",
            )
        return categories

    # --- entities -------------------------------------------------------------------

    def render_entity(self, entity: Entity) -> Rendering:
        """Render one resource (with its links, in full) or one link."""
        document = _link_object(entity) if isinstance(entity, Link) else _resource_object(entity)
        return Rendering(self.media_type, _encode(document))

    def parse_entity(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> Entity:
        """Parse one resource or link (or a collection holding exactly one)."""
        entities = _entities(_object(_load(body), "", "an entity"), model)
        if len(entities) != 1:
            raise _error(
                f"expected one entity, but the collection holds {len(entities)}; "
                "send one entity per request",
                "",
            )
        return entities[0]

    def parse_entities(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> list[Entity]:
        """Parse one entity, or a collection ``{"resources": [...], "links": [...]}``.

        A collection gives its resources first, then its links.
        """
        return _entities(_object(_load(body), "", "an entity or an entity collection"), model)

    # --- collections ----------------------------------------------------------------

    def open_collection(self) -> CollectionWriter:
        """Start ``{"resources": [...], "links": [...]}``; see `JsonCollectionWriter`."""
        return JsonCollectionWriter()

    def render_locations(self, locations: Iterable[str]) -> Rendering:
        """Render locations as a bare JSON array of URL strings (rOCCI's convention).

        The list is written as given: locations name distinct entities, and a
        reader gets back exactly what was rendered.
        """
        return Rendering(self.media_type, _encode(list(locations)))

    def parse_locations(self, body: bytes, headers: Headers = ()) -> list[str]:
        """Parse a location list.

        Accepted: a bare array of URLs (rOCCI), ``{"locations": [...]}``
        (MartServer), and an entity collection whose members give their
        ``location`` (erocci).
        """
        document = _load(body)
        if isinstance(document, list):
            return _location_strings(document, "")
        document = _object(document, "", "a location list")
        if "locations" in document:
            value = document["locations"]
            if not isinstance(value, list):
                raise _error(
                    f"locations must be an array of URLs, not {_describe(value)}", "/locations"
                )
            return _location_strings(value, "/locations")
        if "resources" not in document and "links" not in document:
            raise _error(
                'expected a location list: an array of URLs, {"locations": [...]} or '
                '{"resources": [{"location": ...}]}',
                "",
            )
        locations: list[str] = []
        for member in ("resources", "links"):
            value = document.get(member)
            if value is None:
                continue
            where = "/" + member
            if not isinstance(value, list):
                raise _error(f"{member} must be an array, not {_describe(value)}", where)
            for index, item in enumerate(value):
                here = _pointer(where, index)
                if isinstance(item, str):
                    locations.append(_location(item, here))
                    continue
                if not isinstance(item, dict):
                    raise _error(f"expected an object with a location, not {_describe(item)}", here)
                locations.append(_location(item.get("location"), _pointer(here, "location")))
        return locations

    # --- actions --------------------------------------------------------------------

    def render_action(self, invocation: ActionInvocation) -> Rendering:
        """Render ``{"action": "<id>", "attributes": {...}}`` (attributes only if any)."""
        document: dict[str, Any] = {"action": invocation.action}
        attributes = _values(invocation.attributes)
        if attributes:
            document["attributes"] = attributes
        return Rendering(self.media_type, _encode(document))

    def parse_action(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> ActionInvocation:
        """Parse an action invocation; with a `model`, coerce the parameters."""
        document = _object(_load(body), "", "an action invocation")
        if "action" not in document:
            raise _error(
                'an action invocation needs "action": the identifier of the action to trigger',
                "",
            )
        action = document["action"]
        where = "/action"
        outer = document
        if isinstance(action, dict) and isinstance(action.get("action"), str):
            # rOCCI-core 4 wraps the invocation in a collection:
            # {"action": {"action": "<id>", "attributes": {...}}}.
            document = action
            action = action["action"]
            where = "/action/action"
        action = _identifier(action, where, "action")
        attributes: Any = document.get("attributes")
        if attributes is None and document is not outer:
            attributes = outer.get("attributes")
        if attributes is None:
            parameters: dict[str, Any] = {}
        elif isinstance(attributes, dict):
            parameters = dict(attributes)
        else:
            raise _error(
                f"attributes must be an object of action parameters, not {_describe(attributes)}",
                "/attributes" if document is outer else "/action/attributes",
            )
        if model is not None:
            try:
                parameters = model.coerce_invocation_attributes(action, parameters)
            except RecursionError:
                raise _error("a parameter value is nested too deeply", "/attributes") from None
        return ActionInvocation(action=action, attributes=parameters)


def _bare_category(identifier: str, where: str, cls: type[Category]) -> Category:
    scheme, term = split_identifier(_identifier(identifier, where, cls.__name__.lower()))
    if not term:
        raise _error(f"{identifier!r} names no term after '#'", where)
    _check_term(term, where)
    return cls(scheme=scheme, term=term)


def _location(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _error(
            f"a location must be a URL (a non-empty string), not {_describe(value)}", where
        )
    return value


def _location_strings(values: list[Any], where: str) -> list[str]:
    return [_location(value, _pointer(where, index)) for index, value in enumerate(values)]


class PlainJsonCodec(JsonCodec):
    """The GFD.226 documents labelled ``application/json``, for clients that ask for
    that type by name (it is what they check the answer's Content-Type against)."""

    media_type = "application/json"
