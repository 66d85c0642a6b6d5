"""Attribute definitions: the name, type and rules of one OCCI attribute.

A definition is not a value. Values live in an entity's attribute map; the
definition (carried by a Kind, Mixin or Action) says what values are legal.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pyocci.model.values import shown


class AttributeType(StrEnum):
    """The value types GFD.221 and GFD.226 allow, refined where the spec says so."""

    STRING = "string"
    NUMBER = "number"  # a float; integers are accepted too
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"  # a string out of a fixed set
    LIST = "list"
    OBJECT = "object"

    @property
    def json_type(self) -> str:
        """The `type` member GFD.226 uses for this type in an attribute description."""
        return _JSON_TYPES[self]


_JSON_TYPES = {
    AttributeType.STRING: "string",
    AttributeType.ENUM: "string",
    AttributeType.NUMBER: "number",
    AttributeType.INTEGER: "number",
    AttributeType.BOOLEAN: "boolean",
    AttributeType.LIST: "array",
    AttributeType.OBJECT: "object",
}

_FROM_JSON_TYPE = {
    "string": AttributeType.STRING,
    "number": AttributeType.NUMBER,
    "integer": AttributeType.INTEGER,
    "boolean": AttributeType.BOOLEAN,
    "array": AttributeType.LIST,
    "object": AttributeType.OBJECT,
    # rOCCI-core writes Ruby class names in some documents.
    "list": AttributeType.LIST,
    "hash": AttributeType.OBJECT,
    "float": AttributeType.NUMBER,
}


def attribute_type_from_json(name: str) -> AttributeType | None:
    """Map a JSON `type` member (or a known dialect spelling) to an AttributeType."""
    return _FROM_JSON_TYPE.get(name.lower())


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeDefinition:
    """The definition of one attribute, as carried by a Kind, Mixin or Action.

    `mutable` means a client may set the attribute at creation and change it
    later; immutable attributes are managed by the server. `required` means a
    client must supply a value at creation (after defaults are applied).
    `legacy_values` maps spellings older clients send onto the canonical enum
    value (rOCCI-core writes ``deffered`` for ``deferred``).
    """

    name: str
    type: AttributeType = AttributeType.STRING
    mutable: bool = True
    required: bool = False
    default: Any = None
    description: str | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    legacy_values: Mapping[str, str] = field(default_factory=dict)

    def problem_with(self, value: Any) -> str | None:
        """Return why `value` is not legal for this attribute, or None if it is.

        The reason names the attribute and shows the value as a rendering writes
        it (`pyocci.model.values.shown`): "occi.compute.cores must be an integer,
        got 1.5".
        """
        expected = self.type
        if expected is AttributeType.STRING or expected is AttributeType.ENUM:
            if not isinstance(value, str):
                return f"{self.name} must be a string, got {shown(value)}"
            if expected is AttributeType.ENUM and self.enum and value not in self.enum:
                allowed = ", ".join(self.enum)
                return f"{self.name} must be one of {allowed}, got {shown(value)}"
            compiled = None if self.pattern is None else compile_pattern(self.pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                return f"{self.name} must match the pattern {self.pattern}, got {shown(value)}"
            return None
        if expected is AttributeType.INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                return f"{self.name} must be an integer, got {shown(value)}"
            return None
        if expected is AttributeType.NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"{self.name} must be a number, got {shown(value)}"
            if isinstance(value, float) and not math.isfinite(value):
                return f"{self.name} must be a finite number, got {shown(value)}"
            return None
        if expected is AttributeType.BOOLEAN:
            if not isinstance(value, bool):
                return f"{self.name} must be true or false, got {shown(value)}"
            return None
        if expected is AttributeType.LIST:
            if not isinstance(value, list):
                return f"{self.name} must be an array, got {shown(value)}"
            return None
        if not isinstance(value, dict):
            return f"{self.name} must be an object, got {shown(value)}"
        return None

    def coerce(self, value: Any) -> Any:
        """Bring a value in a lossy wire form to this attribute's type, where that is safe.

        Text renderings cannot say "boolean" or "list", and some servers quote
        everything, so ``"true"`` becomes True, ``"2"`` becomes 2 for an
        integer, and a JSON string becomes a list or object. A value that does
        not convert is returned unchanged, for validation to report.
        """
        expected = self.type
        if expected is AttributeType.STRING:
            return value
        if expected is AttributeType.BOOLEAN and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "false"):
                return lowered == "true"
        elif expected is AttributeType.INTEGER:
            if isinstance(value, str):
                try:
                    return int(value.strip())
                except ValueError:
                    pass
                # "2.0" is 2; "1.5" becomes 1.5, for validation to refuse as a number
                # that is not whole (rather than as text).
                try:
                    number = float(value.strip())
                except ValueError:
                    return value
                if not math.isfinite(number):
                    return value
                value = number
            if isinstance(value, float) and value.is_integer():
                return int(value)
        elif expected is AttributeType.NUMBER and isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                return value
            return number if math.isfinite(number) else value
        elif expected in (AttributeType.LIST, AttributeType.OBJECT) and isinstance(value, str):
            try:
                decoded = json.loads(value)
            except (ValueError, RecursionError):  # deep nesting is bad input too
                return value
            wanted = list if expected is AttributeType.LIST else dict
            return decoded if isinstance(decoded, wanted) else value
        elif expected is AttributeType.ENUM and isinstance(value, str):
            return self.legacy_values.get(value, value)
        return value


#: POSIX bracket classes (rOCCI-core writes ``[[:alnum:]]``) and what Python's re calls them.
_POSIX_CLASSES = {
    "[:alnum:]": "a-zA-Z0-9",
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:xdigit:]": "0-9a-fA-F",
    "[:lower:]": "a-z",
    "[:upper:]": "A-Z",
    "[:space:]": r" \t\r\n\f\v",
    "[:blank:]": r" \t",
    "[:punct:]": r"!-/:-@\[-`{-~",
    "[:word:]": r"\w",
}

_PATTERN_CACHE: dict[str, re.Pattern[str] | None] = {}


def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """Compile an attribute pattern (POSIX ERE as OCCI writes them) for Python's re.

    POSIX bracket classes are translated. A pattern Python cannot compile
    (another server's dialect) constrains nothing rather than failing every
    value: the server that published it is the one that enforces it.
    """
    if pattern in _PATTERN_CACHE:
        return _PATTERN_CACHE[pattern]
    translated = pattern
    for posix, python in _POSIX_CLASSES.items():
        translated = translated.replace(posix, python)
    try:
        compiled: re.Pattern[str] | None = re.compile(translated)
    except (re.error, RecursionError, OverflowError):
        compiled = None
    _PATTERN_CACHE[pattern] = compiled
    return compiled
