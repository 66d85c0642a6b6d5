"""The checks: each a named function with the specification text it holds the server to.

Checks register with `check` in the order they run; the modules of
`pyocci.check.checks` are imported in the order of a run (discovery first,
deletions last). A name is ``group.what`` (``compute.create``); ``--only``
and ``--skip`` take names, groups or shell patterns (``errors.*``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyocci.check.run import Run

#: A check: looks at the server through the run, returns (or raises `Passed`) to pass,
#: raises a `pyocci.check.outcome.Verdict` otherwise. A returned string is the detail.
CheckFunction = Callable[["Run"], str | None]


@dataclass(frozen=True)
class Check:
    """One check of the server against one point of the specifications."""

    name: str
    title: str
    #: Where the requirement is written: document and section (``GFD.223 Pagination``).
    spec: str
    function: CheckFunction

    @property
    def group(self) -> str:
        """The part of the name before the first dot."""
        return self.name.split(".", 1)[0]


#: Every check, in the order of a run.
CHECKS: list[Check] = []


def check(name: str, title: str, spec: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as the check `name`."""

    def register(function: CheckFunction) -> CheckFunction:
        if any(known.name == name for known in CHECKS):
            raise ValueError(f"two checks are named {name}")
        CHECKS.append(Check(name, title, spec, function))
        return function

    return register


class SelectionError(ValueError):
    """An --only or --skip pattern that names no check."""


def _patterns(values: Iterable[str]) -> list[str]:
    """Repeated options and comma-separated lists alike."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _matches(check_: Check, pattern: str) -> bool:
    return (
        pattern in (check_.name, check_.group)
        or fnmatch.fnmatchcase(check_.name, pattern)
        or fnmatch.fnmatchcase(check_.group, pattern)
    )


def select(
    checks: Sequence[Check], only: Iterable[str] = (), skip: Iterable[str] = ()
) -> list[Check]:
    """The checks `only` chooses (all when empty), less those `skip` names, in run order.

    SelectionError names a pattern that matches no check, so a typo is not
    taken for "nothing to skip".
    """
    chosen_patterns, skipped_patterns = _patterns(only), _patterns(skip)
    for pattern in (*chosen_patterns, *skipped_patterns):
        if not any(_matches(check_, pattern) for check_ in checks):
            groups = ", ".join(dict.fromkeys(check_.group for check_ in checks))
            raise SelectionError(
                f"no check is named {pattern!r}; give a check name (occi check --list), "
                f"a group ({groups}) or a pattern such as 'errors.*'"
            )
    chosen = [
        check_
        for check_ in checks
        if not chosen_patterns or any(_matches(check_, p) for p in chosen_patterns)
    ]
    return [c for c in chosen if not any(_matches(c, p) for p in skipped_patterns)]
