"""Choosing checks with --only and --skip."""

from __future__ import annotations

import re

import pytest

from pyocci.check import all_checks
from pyocci.check.registry import Check, SelectionError, check, select


def _noop(run: object) -> None:
    return None


CHECKS = [
    Check(name, name, "-", _noop)
    for name in ("discovery.json", "discovery.text-plain", "errors.not-found", "errors.immutable")
]


def names(chosen: list[Check]) -> list[str]:
    return [c.name for c in chosen]


def test_nothing_chosen_is_everything_in_order() -> None:
    assert names(select(CHECKS)) == names(CHECKS)


@pytest.mark.parametrize(
    ("only", "expected"),
    [
        (["errors"], ["errors.not-found", "errors.immutable"]),
        (["discovery.json"], ["discovery.json"]),
        (["errors.*"], ["errors.not-found", "errors.immutable"]),
        (["*.json,errors.immutable"], ["discovery.json", "errors.immutable"]),
        (["errors.immutable", "discovery"], [*names(CHECKS)[:2], "errors.immutable"]),
    ],
)
def test_only_takes_names_groups_patterns_and_lists(only: list[str], expected: list[str]) -> None:
    assert names(select(CHECKS, only)) == expected


def test_skip_leaves_out_of_what_only_chose() -> None:
    assert names(select(CHECKS, ["errors", "discovery"], ["errors.immutable", "discovery"])) == [
        "errors.not-found"
    ]


@pytest.mark.parametrize(("only", "skip"), [(["nosuch"], []), ([], ["erors"])])
def test_a_pattern_naming_nothing_is_refused(only: list[str], skip: list[str]) -> None:
    with pytest.raises(SelectionError, match="no check is named") as refused:
        select(CHECKS, only, skip)
    assert "discovery, errors" in str(refused.value)


def test_names_are_unique() -> None:
    every = all_checks()
    with pytest.raises(ValueError, match="two checks"):
        check(every[0].name, "again", "-")(_noop)


def test_every_check_cites_a_specification() -> None:
    for one in all_checks():
        assert "GFD." in one.spec or "RFC" in one.spec, one.name
        assert re.fullmatch(r"[a-z0-9]+\.[a-z0-9.-]+", one.name), one.name
        assert one.name.startswith(one.group + ".") and one.title
