"""The grammar the text renderings share (GFD.229): Category, Link, X-OCCI-Attribute, Location.

text/plain and text/occi differ only in where the ``Name: value`` pairs live
(body lines or HTTP header fields); this module reads and writes the values.
It knows nothing of media types: a bad value raises `GrammarError` and the
codec adds the media type and the position; a value the grammar cannot
express raises `RenderError`, which the codec turns into
`UnsupportedDocumentError`.

How values are read: with ``re`` only, no loop over characters, and never
in more than linear time, whatever the input. A Category or Link value has
its parameters pulled out by one ``findall`` whose matches may only start at
a separator run, a quote or a '>'; a coverage check then proves the matches
tile the value, so nothing is skipped silently. Text with backslash escapes
is first checked whole by an anchored pattern with possessive quantifiers
(an escaped quote could otherwise make ``findall`` rescan). An element that
fails is walked parameter by parameter to say exactly what is wrong. Text
without a backslash (nearly all) uses patterns whose quoted string is
``"[^"]*"``, several times faster in ``re`` than the escape-aware form.
Category values are cached: the same kinds and mixins recur in every
document.

Tolerated beyond the ABNF, because deployed implementations emit it:
comma-separated values, spaces (or none) around ``;``, extra and trailing
``;``, white space instead of ``;`` between parameters (the GFD.229 example
itself does that, rOCCI 4 does it in inline links), unquoted ``class``, and a
lenient number syntax (sign, exponent).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from pyocci.model.attribute import AttributeDefinition
from pyocci.model.category import (
    TERM_PATTERN,
    Action,
    Category,
    Kind,
    Mixin,
    attribute_map,
    split_identifier,
)
from pyocci.model.core import LINK as CORE_LINK
from pyocci.model.values import shown

# --- structures ---------------------------------------------------------------------------

CATEGORY = 0
LINK = 1
ATTRIBUTE = 2
LOCATION = 3

#: Canonical field names, indexed by the structure codes above.

#: Lower-cased field name -> structure. The ``X-OCCI-`` variants of Category
#: and Link and the bare ``Location`` are what rOCCI-server 2 emits in text/occi.
FIELD_CODES = {
    "category": CATEGORY,
    "x-occi-category": CATEGORY,
    "link": LINK,
    "x-occi-link": LINK,
    "x-occi-attribute": ATTRIBUTE,
    "x-occi-location": LOCATION,
    "location": LOCATION,
}

LINK_KIND_ID = CORE_LINK.id


class GrammarError(Exception):
    """A value does not follow the grammar; `reason` says what is wrong and how to fix it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RenderError(Exception):
    """Something cannot be written in the text grammar; `what` names it."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


# --- lexical pieces -----------------------------------------------------------------------
#
# Possessive quantifiers (``*+``, ``++``) never backtrack, which keeps every
# match linear; the escape-aware quoted string is the unrolled-loop form
# ``"[^"\\]*(\\.[^"\\]*)*"``.

_WS = r"[ \t]*+"
_NAME_NC = r"[A-Za-z0-9][A-Za-z0-9_.\-]*+"
# A bare (unquoted) value: printable ASCII but for space and "\,;<=>. Written
# as ranges so that ``re`` tests each character against a bitmap: a negated
# list of literals is several times slower.
_BARE_CHARS = r"[!#-+\--:?-\[\]-~]"
_BARE_NC = _BARE_CHARS + "++"
_NAME = f"({_NAME_NC})"
_BARE = f"({_BARE_NC})"
_ESCAPED_CONTENT = r'[^"\\]*+(?:\\.[^"\\]*+)*+'
_PLAIN_CONTENT = r'[^"]*+'


class _Patterns:
    """The patterns that read values, for one form of quoted string."""

    __slots__ = ("attribute", "category", "element", "link", "param", "scan")

    def __init__(self, content: str) -> None:
        quoted = f'"({content})"'
        quoted_nc = f'"{content}"'
        # One comma-separated element: runs of ordinary characters, quoted
        # strings and <URI>s. It stops at a top-level comma, or at a quote or
        # '<' it cannot close.
        self.element = re.compile(rf'(?:[^,"<]++|{quoted_nc}|<[^<>]*+>)*+')
        # A parameter of a Category or Link value: ``; name=value``. Any run of
        # ';' and white space separates parameters: white space alone (the
        # GFD.229 example, rOCCI 4 inline links), extra or trailing ';' too.
        self.param = re.compile(rf"[ \t;]*+{_NAME}{_WS}={_WS}(?:{quoted}|{_BARE})")
        # Whole Category and Link values, to check text with escapes first.
        params = rf"(?:[ \t;]*+{_NAME_NC}{_WS}={_WS}(?:{quoted_nc}|{_BARE_NC}))*+"
        self.category = re.compile(rf"{_WS}{_BARE_CHARS}*+{params}[ \t;]*+")
        self.link = re.compile(rf"{_WS}<[^<>]*+>{params}[ \t;]*+")
        # The same parameter for findall: (whole, name, quoted, bare). A match
        # may only start where a run of separators starts, or right after a
        # quote or '>', so a failed attempt inside a run costs O(1) and the
        # scan stays linear even over garbage (see `_read_parameters`).
        self.scan = re.compile(
            rf"((?:(?<![ \t;])[ \t;]++|(?<=[\">])){_NAME}{_WS}={_WS}(?:{quoted}|{_BARE}))"
        )
        # One X-OCCI-Attribute element: ``name=value`` and an optional ';'.
        self.attribute = re.compile(rf"{_WS}{_NAME}{_WS}={_WS}(?:{quoted}|{_BARE}){_WS};?{_WS}")


#: For text that holds a backslash somewhere: quoted strings may escape.
_ESCAPING = _Patterns(_ESCAPED_CONTENT)
#: For text without a backslash: ``"[^"]*"`` reads the same strings, faster.
_PLAIN = _Patterns(_PLAIN_CONTENT)

_TAIL = re.compile(r"[ \t;]*+\Z")
_CATEGORY_HEAD = re.compile(rf"{_WS}({_BARE_CHARS}*+)")
_LINK_HEAD = re.compile(rf"{_WS}<([^<>]*+)>")
_SEPARATORS = re.compile(r"[ \t,]*+")


def _patterns(text: str) -> _Patterns:
    return _ESCAPING if "\\" in text else _PLAIN


# An attribute definition in a Category's attributes="..." list.
_ATTRIBUTE_DEF = re.compile(r"\s*+([A-Za-z0-9][A-Za-z0-9_.\-]*+)(?:\{([^{}]*+)\})?")
_ATTRIBUTE_DEFS_TAIL = re.compile(r"\s*+\Z")

_ESCAPED = re.compile(r"\\(.)", re.S)
_NUMBER = re.compile(
    r"([+-]?[0-9]++)|[+-]?(?:[0-9]++\.[0-9]*+|\.[0-9]++)(?:[eE][+-]?[0-9]++)?|[+-]?[0-9]++[eE][+-]?[0-9]++"
)
# Characters that cannot appear in a URI-reference (RFC 3986): controls,
# space, and "<>\^`{|}.
_NOT_IN_URI = re.compile(r'[\x00-\x20\x7f"<>\\^`{|}]')
_DIAGNOSE_NAME = re.compile(rf"[ \t;]*+{_NAME}{_WS}(=?){_WS}")

_PROPERTIES = frozenset({"immutable", "required"})
_WHOLE = itemgetter(0)


def _unescape(text: str) -> str:
    # quoted-string escaping: any backslash-escaped character stands for itself.
    return _ESCAPED.sub(r"\1", text) if "\\" in text else text


def _snippet(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= 40 else text[:40] + "...")


def split_values(value: str) -> list[str]:
    """Split a field value on the commas that are outside quoted strings and ``<...>``.

    Empty elements are dropped, as RFC 7230 #rule lists require.
    """
    if "," not in value:
        return [value] if value and not value.isspace() else []
    parts: list[str] = []
    length = len(value)
    pos = 0
    match = _patterns(value).element.match
    while True:
        end = match(value, pos).end()
        part = value[pos:end]
        if part and not part.isspace():
            parts.append(part)
        if end == length:
            return parts
        if value[end] != ",":
            what = "quoted string" if value[end] == '"' else "'<'"
            raise GrammarError(f"unterminated {what} at {_snippet(value[end:])}")
        pos = end + 1


# --- parameters (Category and Link) -------------------------------------------------------


def _parameters(text: str, pos: int, what: str) -> list[tuple[str, str, bool]]:
    """Read ``; name=value`` parameters from `pos` to the end: (name, value, was quoted).

    The slow, anchored path: used to say precisely what is wrong with an
    element the whole-element pattern refused.
    """
    found: list[tuple[str, str, bool]] = []
    match = _ESCAPING.param.match
    while True:
        m = match(text, pos)
        if m is None:
            if _TAIL.match(text, pos) is not None:
                return found
            raise GrammarError(_explain_parameter(text, pos, what))
        name, quoted, bare = m.groups()
        if quoted is not None:
            found.append((name, _unescape(quoted) if "\\" in quoted else quoted, True))
        else:
            found.append((name, bare, False))
        pos = m.end()


def _read_parameters(
    text: str, start: int, patterns: _Patterns, element: re.Pattern[str], what: str
) -> list[tuple[str, str, str, str]]:
    """The parameters of a Category or Link value from `start`: (whole, name, quoted, bare).

    Text with escapes is first checked whole by `element` (linear), since an
    escaped quote could make findall rescan; plain text needs no check: the
    scan pattern keeps findall linear there, and the coverage test below
    catches anything findall skipped.
    """
    if patterns is _ESCAPING and element.fullmatch(text) is None:
        _parameters(text, start, what)  # raises, saying what is wrong
    found = patterns.scan.findall(text, start)
    covered = sum(map(len, map(_WHOLE, found)))
    if start + covered != len(text.rstrip(" \t;")):
        _parameters(text, start, what)  # raises, saying what is wrong
        raise GrammarError(f"malformed {what} value {_snippet(text)}")  # pragma: no cover
    return found


def _unpaired_quotes(text: str) -> bool:
    # Escaped characters cannot open or close a quoted string.
    return _ESCAPED.sub("", text).count('"') % 2 == 1


def _explain_parameter(text: str, pos: int, what: str) -> str:
    rest = text[pos:]
    if _unpaired_quotes(text):
        return (
            f"unterminated quoted string in {what}: its quotes do not pair up "
            f"(a '\"' is missing near {_snippet(rest)})"
        )
    m = _DIAGNOSE_NAME.match(rest)
    if m is not None:
        name, equals = m.groups()
        after = rest[m.end() :]
        if not equals:
            return f'{what} parameter {name!r} has no value; write {name}="..."'
        if after.startswith('"'):
            return f"unterminated quoted string in {what} parameter {name}: {_snippet(after)}"
        if not after.strip(" \t;"):
            return f'{what} parameter {name!r} has no value; write {name}="..."'
        return f"{what} parameter {name} has a malformed value {_snippet(after)}"
    return f"unexpected {_snippet(rest)} in {what}; expected '; name=\"value\"'"


# --- Category -----------------------------------------------------------------------------

#: A parsed Category value: term, scheme, class and the other parameters
#: (lower-cased names; title, rel, location, attributes, actions ...).
RawCategory = tuple[str, str, str, Mapping[str, str]]


# The same kind and mixin lines recur in every document a server reads, so
# parsed Category values are kept (bounded; cleared when full).
_CATEGORY_CACHE: dict[str, tuple[RawCategory, ...]] = {}
_CATEGORY_CACHE_SIZE = 1024
_CACHEABLE_LENGTH = 1024


def parse_categories(value: str) -> tuple[RawCategory, ...]:
    """Parse the value of one Category field (one or more comma-separated categories).

    Results are shared between calls: treat them as read-only.
    """
    cached = _CATEGORY_CACHE.get(value)
    if cached is not None:
        return cached
    parsed = tuple([_parse_category(element) for element in split_values(value)])
    if len(value) <= _CACHEABLE_LENGTH:
        if len(_CATEGORY_CACHE) >= _CATEGORY_CACHE_SIZE:
            _CATEGORY_CACHE.clear()
        _CATEGORY_CACHE[value] = parsed
    return parsed


def _parse_category(text: str) -> RawCategory:
    head = _CATEGORY_HEAD.match(text)
    term = head.group(1)
    _check_term(term, text)
    patterns = _patterns(text)
    params: dict[str, str] = {}
    escaping = patterns is _ESCAPING
    for _whole, name, quoted, bare in _read_parameters(
        text, head.end(), patterns, patterns.category, "Category"
    ):
        key = name.lower()
        if key in params:
            raise GrammarError(f"Category {term!r} gives {key} twice")
        # findall reports a group that did not take part as '': a bare value
        # is never empty, so an empty `bare` means the value was quoted.
        params[key] = bare or (_unescape(quoted) if escaping else quoted)
    scheme = params.get("scheme")
    if not scheme:
        raise GrammarError(f'Category {term!r} has no scheme; add scheme="...#"')
    category_class = params.get("class")
    if category_class is None:
        raise GrammarError(f'Category {term!r} has no class; add class="kind", "mixin" or "action"')
    category_class = category_class.lower()
    if category_class not in ("kind", "mixin", "action"):
        raise GrammarError(
            f"Category {term!r} has class {params['class']!r}; "
            "the class must be kind, mixin or action"
        )
    return term, scheme, category_class, MappingProxyType(params)


def _check_term(term: str, text: str) -> None:
    if not term:
        raise GrammarError(f"a Category value starts with the term; got {_snippet(text)}")
    if TERM_PATTERN.fullmatch(term) is None:
        raise GrammarError(
            f"{term!r} is not a valid category term (letters, digits, '-', '_', '.'; "
            "starting with a letter or digit)"
        )


def parse_attribute_definitions(text: str) -> dict[str, AttributeDefinition]:
    """Parse an ``attributes="name{immutable required} other"`` list.

    No property means mutable and optional; a property other than
    ``immutable`` or ``required`` is an error.
    """
    definitions: list[AttributeDefinition] = []
    pos = 0
    while True:
        m = _ATTRIBUTE_DEF.match(text, pos)
        if m is None:
            if _ATTRIBUTE_DEFS_TAIL.match(text, pos) is not None:
                return attribute_map(definitions)
            raise GrammarError(f"malformed attribute list at {_snippet(text[pos:])}")
        name, properties = m.groups()
        immutable = required = False
        if properties:
            for item in properties.split():
                if item not in _PROPERTIES:
                    raise GrammarError(
                        f"unknown attribute property {item!r} of {name}; "
                        "allowed: immutable, required"
                    )
                if item == "immutable":
                    immutable = True
                else:
                    required = True
        definitions.append(AttributeDefinition(name=name, mutable=not immutable, required=required))
        pos = m.end()


def build_category(raw: RawCategory) -> Category:
    """Turn a parsed Category value into a Kind, Mixin or Action.

    A Kind's ``rel`` is its parent (the first value, if 1.1 servers send more).
    A Mixin's ``rel`` is taken as its depends list: rOCCI also puts the kinds
    it applies to there, and only a model could tell the two apart.
    """
    term, scheme, category_class, params = raw
    title = params.get("title")
    attributes_text = params.get("attributes")
    attributes = parse_attribute_definitions(attributes_text) if attributes_text else {}
    if category_class == "action":
        return Action(scheme=scheme, term=term, title=title, attributes=attributes)
    rel = tuple(params.get("rel", "").split())
    actions = tuple(params.get("actions", "").split())
    location = params.get("location")
    if category_class == "kind":
        return Kind(
            scheme=scheme,
            term=term,
            title=title,
            attributes=attributes,
            parent=rel[0] if rel else None,
            actions=actions,
            location=location,
        )
    return Mixin(
        scheme=scheme,
        term=term,
        title=title,
        attributes=attributes,
        depends=rel,
        actions=actions,
        location=location,
    )


# --- Link ---------------------------------------------------------------------------------

#: A parsed Link value: target URI, rel, self, category, and the other
#: parameters as attribute values (typed like X-OCCI-Attribute values).
RawLink = tuple[str, str | None, str | None, str | None, dict[str, Any]]


def parse_links(value: str) -> list[RawLink]:
    """Parse the value of one Link field (inline links and action links)."""
    if "," not in value:
        # An action link is the most frequent Link value and the simplest:
        # one pattern reads it whole.
        if "?action=" in value:
            m = _ACTION_LINK.fullmatch(value)
            if m is not None and "?action=" in m.group(1):
                return [(m.group(1), m.group(2), None, None, {})]
        return [_parse_link(value)] if value and not value.isspace() else []
    return [_parse_link(element) for element in split_values(value)]


_ACTION_LINK = re.compile(r'[ \t]*+<([^<>"\s]++)>[ \t;]*+rel="([^"\\]*+)"[ \t;]*+')


def _parse_link(text: str) -> RawLink:
    head = _LINK_HEAD.match(text)
    if head is None:
        raise GrammarError(f"a Link value starts with <URI>; got {_snippet(text)}")
    target = head.group(1).strip()
    if not target:
        raise GrammarError("a Link value needs a target URI inside <...>")
    patterns = _patterns(text)
    rel = self_location = categories = None
    attributes: dict[str, Any] = {}
    escaping = patterns is _ESCAPING
    for _whole, name, quoted, bare in _read_parameters(
        text, head.end(), patterns, patterns.link, "Link"
    ):
        # findall reports a group that did not take part as '': a bare value
        # is never empty, so an empty `bare` means the value was quoted.
        if not bare and "." in name:  # the common case: a quoted attribute
            if name in attributes:
                raise GrammarError(f"Link <{target}> gives attribute {name} twice")
            attributes[name] = _unescape(quoted) if escaping else quoted
            continue
        if "." not in name:  # rel, self, category (attribute names are dotted)
            key = name.lower()
            if key == "rel" or key == "self" or key == "category":
                text_value = bare or (_unescape(quoted) if escaping else quoted)
                if key == "rel":
                    rel = text_value
                elif key == "self":
                    self_location = text_value
                else:
                    categories = text_value
                continue
        if name in attributes:
            raise GrammarError(f"Link <{target}> gives attribute {name} twice")
        if bare:
            # GFD.229 allows a bare token in a link (link-attribute = name "="
            # token | quoted-string); numbers and booleans keep their type.
            attributes[name] = _bare_value(name, bare, token_ok=True)
        else:
            attributes[name] = _unescape(quoted) if escaping else quoted
    return target, rel, self_location, categories, attributes


# --- X-OCCI-Attribute ---------------------------------------------------------------------


def read_attributes(value: str, into: dict[str, Any], what: str = "attribute") -> None:
    """Parse the value of one X-OCCI-Attribute field into `into`: ``name=value``, comma separated.

    Quoted values are strings; bare ``true``/``false`` are booleans, bare
    numbers are ints or floats; any other bare word is an error, and so is a
    name already in `into` (`what` names it in the message).
    """
    patterns = _ESCAPING if "\\" in value else _PLAIN
    m = patterns.attribute.fullmatch(value)
    if m is not None:  # the common case: one attribute per field
        name, quoted, bare = m.groups()
        if name in into:
            raise GrammarError(f"{what} {name} is given twice")
        if quoted is None:
            into[name] = _bare_value(name, bare)
        elif patterns is _PLAIN:
            into[name] = quoted
        else:
            into[name] = _unescape(quoted)
        return
    length = len(value)
    pos = 0
    match = patterns.attribute.match
    while True:
        m = match(value, pos)
        if m is None:
            raise GrammarError(_explain_attribute(value, pos))
        name, quoted, bare = m.groups()
        if name in into:
            raise GrammarError(f"{what} {name} is given twice")
        if quoted is not None:
            into[name] = _unescape(quoted) if "\\" in quoted else quoted
        else:
            into[name] = _bare_value(name, bare)
        pos = m.end()
        if pos == length:
            return
        if value[pos] != ",":
            raise GrammarError(
                f"unexpected {_snippet(value[pos:])} after the value of {name}; "
                "separate attributes with ',' or put each on its own line"
            )
        pos = _SEPARATORS.match(value, pos).end()
        if pos == length:
            return


def _explain_attribute(value: str, pos: int) -> str:
    rest = value[pos:]
    m = _DIAGNOSE_NAME.match(rest)
    if _unpaired_quotes(rest):
        near = f"the value of {m.group(1)}" if m is not None else _snippet(rest)
        return f"unterminated quoted string in {near}: its quotes do not pair up"
    if m is None:
        return f"expected name=value in X-OCCI-Attribute; got {_snippet(rest)}"
    name, equals = m.groups()
    after = rest[m.end() :]
    if not equals or not after.strip(" \t;,"):
        return f'attribute {name} has no value; write {name}="..." (or a number, true, false)'
    if after.startswith('"'):
        return f"unterminated quoted string in the value of {name}: {_snippet(after)}"
    return f"malformed value of {name}: {_snippet(after)}"


def _bare_value(name: str, text: str, token_ok: bool = False) -> Any:
    if text.isascii() and text.isdigit():
        if len(text) > 4000:  # int() refuses very long digit strings (CVE-2020-10735)
            raise GrammarError(f"the value of {name} is a number too long to read")
        return int(text)
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    m = _NUMBER.fullmatch(text)
    if m is not None:
        if len(text) > 4000:
            raise GrammarError(f"the value of {name} is a number too long to read")
        if m.group(1) is not None:
            return int(text)
        number = float(text)
        if math.isfinite(number):
            return number
        raise GrammarError(f"the value of {name} ({text}) is out of range")
    if token_ok:
        return text
    raise GrammarError(
        f"attribute {name} has the bare value {text!r}; expected a quoted string "
        f'({name}="{text}"), a number, true or false'
    )


# --- X-OCCI-Location ----------------------------------------------------------------------


def parse_locations(value: str) -> list[str]:
    """Parse the value of one X-OCCI-Location field: URI-references, comma separated."""
    found: list[str] = []
    for part in value.split(","):
        part = part.strip(" \t")
        if not part:
            continue
        bad = _NOT_IN_URI.search(part)
        if bad is not None:
            raise GrammarError(
                f"{_snippet(part)} is not a URI-reference "
                f"(it contains {bad.group()!r}); percent-encode it or fix the location"
            )
        found.append(part)
    return found


# --- rendering ----------------------------------------------------------------------------

# Characters a quoted string cannot carry: the grammar has no escape for line
# breaks, and control characters (C0, DEL, C1) are not legal in HTTP header
# fields. Tab is allowed: it is legal in header fields and read back as is.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_LOCATION_NEEDS_ENCODING = re.compile(r'[\x00-\x20\x7f"<>\\^`{|},]')
#: The characters `_LOCATION_NEEDS_ENCODING` matches.
_LOCATION_ENCODED = "".join(map(chr, range(0x21))) + '\x7f"<>\\^`{|},'
_TARGET_NEEDS_ENCODING = _NOT_IN_URI
_VALID_NAME = TERM_PATTERN


def quote(text: str, what: str) -> str:
    """Write a quoted-string, escaping ``"`` and ``\\``; refuse line breaks and controls."""
    if _UNSAFE_TEXT.search(text) is not None:
        raise RenderError(f"{what} (a string with a line break or control character)")
    if "\\" in text or '"' in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def format_float(number: float, what: str) -> str:
    """A float as a plain decimal that reads back exactly: ``2.0``, never ``1e-07``."""
    text = repr(number)
    if "e" in text or "n" in text:  # exponent, inf or nan
        if not math.isfinite(number):
            raise RenderError(f"{what} (the number {shown(number)}, which no rendering carries)")
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


def format_value(value: Any, what: str) -> str:
    """An attribute value in text form: quoted strings, bare numbers and booleans.

    Lists and dicts become JSON inside a quoted string, as rOCCI writes them.
    """
    kind = type(value)
    if kind is str:
        return quote(value, what)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return format_float(value, what)
    if isinstance(value, str):
        return quote(str(value), what)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return format_float(float(value), what)
    if isinstance(value, list | tuple | dict):
        try:
            encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            raise RenderError(f"{what} (a list or object JSON cannot encode)") from None
        return quote(encoded, what)
    raise RenderError(f"{what} ({shown(value)})")


def format_attribute(name: str, value: Any) -> str:
    """One ``name=value`` pair."""
    if _VALID_NAME.fullmatch(name) is None:
        raise RenderError(f"the attribute name {name!r}")
    return f"{name}={format_value(value, f'the value of {name}')}"


def format_category_reference(identifier: str, category_class: str) -> str:
    """The short form an entity rendering uses: ``term; scheme="..."; class="..."``."""
    try:
        scheme, term = split_identifier(identifier)
    except ValueError:
        raise RenderError(f"the category identifier {identifier!r} (no '#')") from None
    if TERM_PATTERN.fullmatch(term) is None:
        raise RenderError(f"the category identifier {identifier!r} (invalid term)")
    return f'{term}; scheme={quote(scheme, "a scheme")}; class="{category_class}"'


def format_category(category: Category) -> str:
    """A Kind, Mixin or Action in full, as the query interface lists it."""
    term = category.term
    if TERM_PATTERN.fullmatch(term) is None:
        raise RenderError(f"the category term {term!r}")
    parts = [
        term,
        f"scheme={quote(category.scheme, 'a scheme')}",
        f'class="{category.category_class}"',
    ]
    if category.title is not None:
        parts.append(f"title={quote(category.title, f'the title of {category.id}')}")
    if isinstance(category, Kind):
        rel: tuple[str, ...] = (category.parent,) if category.parent else ()
    elif isinstance(category, Mixin):
        # GFD.229: a mixin's rel is its depends list; applies has no text form.
        rel = category.depends
    else:
        rel = ()
    if rel:
        parts.append(f"rel={quote(' '.join(rel), f'the rel of {category.id}')}")
    location = getattr(category, "location", None)
    if location is not None:
        parts.append(f"location={quote(location, f'the location of {category.id}')}")
    if category.attributes:
        definitions = []
        for definition in category.attributes.values():
            if _VALID_NAME.fullmatch(definition.name) is None:
                raise RenderError(f"the attribute name {definition.name!r}")
            properties = []
            if not definition.mutable:
                properties.append("immutable")
            if definition.required:
                properties.append("required")
            definitions.append(
                f"{definition.name}{{{' '.join(properties)}}}" if properties else definition.name
            )
        parts.append(f'attributes="{" ".join(definitions)}"')
    actions = getattr(category, "actions", ())
    if actions:
        parts.append(f"actions={quote(' '.join(actions), f'the actions of {category.id}')}")
    return "; ".join(parts)


def _percent_encode(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8"))


def format_location(location: str) -> str:
    """A location as a URI-reference: characters a URI cannot hold are percent-encoded.

    A comma is encoded too, because readers split location lists on commas;
    servers decode the path before routing, so the URL still names the entity.
    """
    if _LOCATION_NEEDS_ENCODING.search(location) is None:
        return location
    return _LOCATION_NEEDS_ENCODING.sub(_percent_encode, location)


def format_locations(locations: Sequence[str]) -> Sequence[str]:
    """`format_location` of each location; when none needs encoding (the usual case),
    the locations themselves, found with one search over the batch."""
    joined = "".join(locations)
    # One substring search per character: many times faster than a regular expression
    # scanning a long text for a class of characters.
    if not any(char in joined for char in _LOCATION_ENCODED):
        return locations
    return [format_location(location) for location in locations]


def location_lines(prefix: str, values: Sequence[str], end: str) -> bytes:
    """``prefix + value + end`` for every value, as UTF-8, in one join: how long
    listings are written."""
    if not values:
        return b""
    return (prefix + (end + prefix).join(values) + end).encode("utf-8")


def format_link_target(target: str) -> str:
    """The ``<URI>`` of a Link value (commas are safe inside the brackets)."""
    if _TARGET_NEEDS_ENCODING.search(target) is not None:
        target = _TARGET_NEEDS_ENCODING.sub(_percent_encode, target)
    return f"<{target}>"
