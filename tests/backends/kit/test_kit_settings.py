"""Typed settings: a dataclass read from ``[backend_settings]``, each mistake named."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import pytest

from pyocci.backends.kit.settings import Count, Positive, Texts, read_settings


@dataclass(frozen=True, slots=True)
class Example:
    region: str = "here"
    owners: Texts = ("self",)
    template_ttl: Positive = 300.0
    page_size: Count = 100
    policy: Literal["import", "fixed", "none"] = "import"
    key_name: str | None = None

    def __post_init__(self) -> None:
        if self.policy == "fixed" and self.key_name is None:
            raise ValueError("policy 'fixed' needs key_name: the key pair to use")


def test_defaults_and_values_of_the_declared_types() -> None:
    assert read_settings(Example, {}) == Example()
    read = read_settings(Example, {"owners": ["a", "b"], "template_ttl": 5, "page_size": 7})
    assert read.owners == ("a", "b")
    assert read.template_ttl == 5.0 and isinstance(read.template_ttl, float)
    assert read.page_size == 7


PYTHON_TYPE_NAMES = re.compile(r"\b(dict|float|int|str|NoneType|list|bool|tuple|True|False)\b")


def test_one_string_where_a_list_is_expected_is_a_list_of_one() -> None:
    assert read_settings(Example, {"owners": "me"}).owners == ("me",)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"template_ttl": 0}, "backend_settings.template_ttl: Input should be greater than 0"),
        ({"page_size": 0}, "backend_settings.page_size"),
        ({"template_ttl": "soon"}, "backend_settings.template_ttl"),
        ({"policy": "maybe"}, "backend_settings.policy: Input should be 'import', 'fixed'"),
        ({"owners": ["a", 3]}, "backend_settings.owners.1"),
        ({"region": 4}, "backend_settings.region: Input should be a valid string (got 4)"),
        ({"page_size": True}, "backend_settings.page_size: Input should be a valid integer"),
        ({"page_size": "5"}, "backend_settings.page_size: Input should be a valid integer"),
        ({"template_ttl": "5"}, "backend_settings.template_ttl: Input should be a valid number"),
    ],
)
def test_a_wrong_value_is_named_with_what_it_takes(data, named) -> None:
    with pytest.raises(ValueError) as raised:
        read_settings(Example, data)
    assert named in str(raised.value)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"owners": 5}, "backend_settings.owners: Input should be an array (got 5)"),
        ({"region": {"a": 1}}, "backend_settings.region: Input should be a valid string (got an"),
        ({"region": True}, "backend_settings.region: Input should be a valid string (got true)"),
        ({"region": "x" * 3, "page_size": "5"}, "(got '5')"),
        (
            {"template_ttl": math.inf},
            "template_ttl: Input should be a finite number (got infinity)",
        ),
    ],
)
def test_what_was_given_is_shown_in_toml_words(data, named) -> None:
    """Neither Python's type names (tuple, dict) nor its reprs (True, {'a': 1})."""
    with pytest.raises(ValueError) as raised:
        read_settings(Example, data)
    assert named in str(raised.value)
    assert not PYTHON_TYPE_NAMES.search(str(raised.value)), str(raised.value)


def test_every_wrong_value_is_named_at_once() -> None:
    with pytest.raises(ValueError) as raised:
        read_settings(Example, {"page_size": -1, "policy": "x"})
    assert "backend_settings.page_size" in str(raised.value)
    assert "backend_settings.policy" in str(raised.value)


def test_an_unknown_key_is_named_with_the_closest_known_one() -> None:
    with pytest.raises(ValueError, match=r"backend_settings.regoin: .*did you mean 'region'"):
        read_settings(Example, {"regoin": "x"})
    with pytest.raises(ValueError, match=r"backend_settings.colour: unknown setting; known are"):
        read_settings(Example, {"colour": "x"})


def test_checks_across_settings_keep_their_own_message() -> None:
    with pytest.raises(ValueError, match=r"^policy 'fixed' needs key_name"):
        read_settings(Example, {"policy": "fixed"})
    assert read_settings(Example, {"policy": "fixed", "key_name": "k"}).key_name == "k"


@dataclass(frozen=True, slots=True)
class Nested:
    limits: dict[str, int]
    zones: tuple[str, ...] = ()


def test_frozen_tables_are_read_as_the_server_hands_them_over() -> None:
    frozen = MappingProxyType({"limits": MappingProxyType({"cores": 4}), "zones": ("a", "b")})
    assert read_settings(Nested, frozen) == Nested(limits={"cores": 4}, zones=("a", "b"))
