"""Attribute values as a message shows them: in OCCI's words, never Python's.

A message about a wrong value is read by someone who wrote JSON or text
renderings, or typed ``-a NAME=VALUE``: it says ``got 1.5``, ``got "abc"``,
``got an object {"a": 1}``, ``got null``, ``got infinity``; never a Python
type name or repr (``float 1.5``, ``dict {...}``, ``NoneType``).
"""

from __future__ import annotations

import json
import math
from typing import Any

#: The most characters of a value a message quotes.
MAX_SHOWN = 60


def shown(value: Any) -> str:
    """The value as a JSON or text rendering would write it, with a word for a list
    or an object, cut to `MAX_SHOWN` characters."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _cut(str(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "not-a-number (NaN)"
        if math.isinf(value):
            return "infinity" if value > 0 else "minus infinity"
        return _cut(repr(value))
    if isinstance(value, str):
        return _cut(json.dumps(value, ensure_ascii=False))
    if isinstance(value, list | tuple):
        return "an array " + _cut(_json(list(value)))
    if isinstance(value, dict):
        return "an object " + _cut(_json(value))
    return "a value no OCCI rendering carries"


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=lambda _: "...", allow_nan=True)
    except (ValueError, RecursionError):  # a value that holds itself
        return "[...]" if isinstance(value, list) else "{...}"


def _cut(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."
