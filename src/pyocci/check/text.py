"""Reading text/plain and text/occi renderings against GFD.229's grammar.

The checker's own reader, written from the ABNF of GFD.229 "Text
Rendering" (not `pyocci.rendering.text`, which is lenient on purpose to
serve old clients). It extracts what a rendering says - categories, links,
attributes, locations - and lists every place it departs from the grammar
as a problem, so that a check can fail on those while still comparing
content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: GFD.229 ``term``: (ALPHA | DIGIT) *(ALPHA | DIGIT | "-" | "_" | ".").
TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_.]*\Z")
#: GFD.229 ``attribute-name`` (same shape as a term).
ATTRIBUTE_NAME = TERM
#: GFD.229 ``number``: ``int = *DIGIT``, ``float = *DIGIT "." *DIGIT``; a sign and an
#: exponent are read too (common, and harmless to a reader).
NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\Z")
INTEGER = re.compile(r"-?\d+\Z")
CLASSES = ("kind", "mixin", "action")
#: The structures a text rendering is made of (GFD.229 "Media types").
STRUCTURES = ("category", "link", "x-occi-attribute", "x-occi-location")


def split_outside(value: str, separator: str) -> list[str]:
    """`value` cut at `separator` where it is outside a quoted string and outside ``<>``."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    angle = 0
    for char in value:
        if quoted:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            continue
        if char == '"':
            quoted = True
        elif char == "<":
            angle += 1
        elif char == ">" and angle:
            angle -= 1
        elif char == separator and not angle:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts]


def unquote(value: str) -> str | None:
    """The content of a quoted-string (``\\x`` read as ``x``); None when not one."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return None
    inner = value[1:-1]
    out: list[str] = []
    escaped = False
    for char in inner:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return None  # an unescaped quote inside: not one quoted-string
        else:
            out.append(char)
    return None if escaped else "".join(out)


def quote(value: str) -> str:
    """A quoted-string of `value` (backslash and quote escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def value_text(value: Any) -> str:
    """An attribute value as GFD.229 writes it: strings quoted, numbers and booleans bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return quote(str(value))


def _parameters(parts: Iterable[str], where: str, problems: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in parts:
        if not part:
            continue  # a trailing ';' is common and harmless
        name, equals, raw = part.partition("=")
        name = name.strip().lower()
        if not equals:
            problems.append(f"{where}: {part!r} is not name=value")
            continue
        found[name] = raw.strip()
    return found


@dataclass
class TextCategory:
    """A Category as GFD.229 renders it."""

    term: str
    scheme: str
    category_class: str
    title: str | None = None
    rel: list[str] = field(default_factory=list)
    location: str | None = None
    #: attribute name -> its properties (``immutable``, ``required``).
    attributes: dict[str, frozenset[str]] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)

    @property
    def identifier(self) -> str:
        """scheme + term."""
        return self.scheme + self.term


@dataclass
class TextLink:
    """A ``Link`` value: a link to another resource, or an action link."""

    target: str
    rel: list[str]
    self_location: str | None
    categories: list[str]
    attributes: dict[str, Any]

    @property
    def is_action(self) -> bool:
        """GFD.229 ActionLink: the target is ``...?action=<term>``."""
        return "?action=" in self.target


_CATEGORY_KEYS = ("scheme", "class", "title", "rel", "location", "attributes", "actions")
_ATTRIBUTE_DEF = re.compile(r"([^\s{}]+)(?:\{([^{}]*)\})?")


def parse_category(item: str, problems: list[str]) -> TextCategory | None:
    """One ``category-value``; None (and a problem) when it cannot be read."""
    parts = split_outside(item, ";")
    term = parts[0]
    where = f"Category {term!r}"
    if not TERM.match(term):
        problems.append(f"{where}: the term does not match GFD.229's term rule")
    params = _parameters(parts[1:], where, problems)
    for name in params:
        if name not in _CATEGORY_KEYS:
            problems.append(f"{where}: {name!r} is not a Category parameter of GFD.229")
    scheme = unquote(params.get("scheme", ""))
    if scheme is None:
        problems.append(f"{where}: no quoted scheme")
        return None
    raw_class = params.get("class", "")
    category_class = unquote(raw_class) if raw_class.startswith('"') else raw_class
    if category_class not in CLASSES:
        problems.append(f"{where}: class {raw_class!r} is not kind, mixin or action")
        return None
    category = TextCategory(term, scheme, category_class)
    for name in ("title", "rel", "location", "attributes", "actions"):
        if name not in params:
            continue
        text = unquote(params[name])
        if text is None:
            problems.append(f"{where}: {name} is not a quoted-string")
            continue
        if name == "title":
            category.title = text
        elif name == "location":
            category.location = text
        elif name == "rel":
            category.rel = text.split()
        elif name == "actions":
            category.actions = text.split()
        else:
            for match in _ATTRIBUTE_DEF.finditer(text):
                properties = frozenset((match.group(2) or "").split())
                unknown = properties - {"immutable", "required"}
                if unknown:
                    problems.append(
                        f"{where}: attribute {match.group(1)} has properties {sorted(unknown)}"
                        " (GFD.229 allows immutable and required)"
                    )
                category.attributes[match.group(1)] = properties
    return category


def parse_value(raw: str) -> tuple[Any, bool]:
    """An attribute value and whether it follows GFD.229's attribute-value rule."""
    raw = raw.strip()
    if raw.startswith('"'):
        text = unquote(raw)
        return (raw, False) if text is None else (text, True)
    if raw in ("true", "false"):
        return raw == "true", True
    if NUMBER.match(raw):
        return (int(raw) if INTEGER.match(raw) else float(raw)), True
    return raw, False


def parse_attribute(item: str, problems: list[str]) -> tuple[str, Any] | None:
    """One ``attribute-repr`` (name=value)."""
    name, equals, raw = item.partition("=")
    name = name.strip()
    if not equals or not ATTRIBUTE_NAME.match(name):
        problems.append(f"X-OCCI-Attribute {item[:80]!r} is not name=value")
        return None
    value, valid = parse_value(raw)
    if not valid:
        problems.append(
            f"X-OCCI-Attribute {name}: {raw.strip()[:60]!r} is neither a quoted-string, "
            "a number nor true/false"
        )
    return name, value


def parse_link(item: str, problems: list[str]) -> TextLink | None:
    """One ``link-value`` or ``action-link-value``."""
    parts = split_outside(item, ";")
    head = parts[0]
    if not (head.startswith("<") and head.endswith(">")):
        problems.append(f"Link {head[:80]!r}: the target is not in <>")
        return None
    target = head[1:-1]
    params: dict[str, str] = {}
    attributes: dict[str, Any] = {}
    for part in parts[1:]:
        if not part:
            continue
        name, equals, raw = part.partition("=")
        name = name.strip()
        if not equals:
            problems.append(f"Link <{target}>: {part!r} is not name=value")
        elif name.lower() in ("rel", "self", "category"):
            params[name.lower()] = raw.strip()
        else:
            value, valid = parse_value(raw)
            if not valid:
                problems.append(f"Link <{target}>: attribute {name} has an unreadable value")
            attributes[name] = value
    rel = unquote(params.get("rel", ""))
    if rel is None:
        problems.append(f"Link <{target}>: no quoted rel")
        rel = ""
    self_location = unquote(params["self"]) if "self" in params else None
    raw_category = params.get("category", "")
    # The ABNF writes category= unquoted, every example and implementation quoted.
    category = unquote(raw_category) if raw_category.startswith('"') else raw_category
    return TextLink(target, rel.split(), self_location, (category or "").split(), attributes)


@dataclass
class TextDocument:
    """What one text rendering holds, and where it departs from GFD.229."""

    categories: list[TextCategory] = field(default_factory=list)
    links: list[TextLink] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    locations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        """Read one structure (``Category``, ``Link``...) of `value`'s comma list."""
        name = name.strip().lower()
        if name == "x-occi-location":
            # location-value is one URI-reference per line (no list).
            if value.strip():
                self.locations.append(value.strip())
            return
        for item in split_outside(value, ","):
            if not item:
                continue
            if name == "category":
                category = parse_category(item, self.problems)
                if category is not None:
                    self.categories.append(category)
            elif name == "link":
                link = parse_link(item, self.problems)
                if link is not None:
                    self.links.append(link)
            elif name == "x-occi-attribute":
                pair = parse_attribute(item, self.problems)
                if pair is not None:
                    if pair[0] in self.attributes:
                        self.problems.append(f"X-OCCI-Attribute {pair[0]} appears twice")
                    self.attributes[pair[0]] = pair[1]


def read_body(body: str) -> TextDocument:
    """A text/plain rendering: one ``Name: value`` line per structure."""
    document = TextDocument()
    for number, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or name.strip().lower() not in STRUCTURES:
            document.problems.append(
                f"line {number} ({line[:60]!r}) is not a Category, Link, X-OCCI-Attribute "
                "or X-OCCI-Location line"
            )
            continue
        document.add(name, value)
    return document


def read_headers(headers: Iterable[tuple[str, str]]) -> TextDocument:
    """A text/occi rendering: the structures are HTTP header fields."""
    document = TextDocument()
    for name, value in headers:
        if name.lower() in STRUCTURES:
            document.add(name, value)
    return document


def write_lines(structures: Iterable[tuple[str, str]]) -> str:
    """A text/plain body of (name, value) structures."""
    return "".join(f"{name}: {value}\n" for name, value in structures)


def category_value(identifier: str, category_class: str, **extra: str) -> str:
    """The value of a ``Category`` naming `identifier` (and `extra` quoted parameters)."""
    scheme, _, term = identifier.rpartition("#")
    text = f'{term}; scheme="{scheme}#"; class="{category_class}"'
    for name, value in extra.items():
        text += f"; {name}={quote(value)}"
    return text
