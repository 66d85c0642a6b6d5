"""Values as messages show them: OCCI's (JSON's) words, never Python's."""

import math
import re

import pytest

from pyocci.model.values import MAX_SHOWN, shown

PYTHON_TYPE_NAMES = re.compile(r"\b(dict|float|int|str|NoneType|list|bool|tuple|bytes)\b")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (1.5, "1.5"),
        (math.inf, "infinity"),
        (-math.inf, "minus infinity"),
        (math.nan, "not-a-number (NaN)"),
        ("abc", '"abc"'),
        ('say "hi"', '"say \\"hi\\""'),
        ([1, "a"], 'an array [1, "a"]'),
        ((1,), "an array [1]"),
        ({"a": None}, 'an object {"a": null}'),
        (b"raw", "a value no OCCI rendering carries"),
    ],
)
def test_values_are_shown_as_renderings_write_them(value, expected):
    assert shown(value) == expected
    assert PYTHON_TYPE_NAMES.search(shown(value)) is None


def test_long_values_are_cut():
    text = shown("x" * 1000)
    assert len(text) == MAX_SHOWN and text.endswith("...")
    assert len(shown(list(range(1000)))) <= len("an array ") + MAX_SHOWN


def test_a_value_that_holds_itself_is_shown_without_recursing():
    looped: list = []
    looped.append(looped)
    assert shown(looped) == "an array [...]"
