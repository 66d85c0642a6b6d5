"""Categories chosen by a readable spec: a term, a title, or a part of either.

``--os ubuntu``, ``--size small`` and ``list --filter "extra memory"`` read the
same way: a spec names the one candidate whose identifier, term or location
it is; else the one whose title it is (ignoring case); else the one whose
term or title contains it (ignoring case). No candidate, or several at the
same step, is an `InvalidInputError` listing what there is to choose from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from pyocci.client.errors import InvalidInputError


class Named(Protocol):
    """What a spec is matched against: a category, or a template that wraps one."""

    @property
    def id(self) -> str: ...

    @property
    def term(self) -> str: ...

    @property
    def title(self) -> str | None: ...

    @property
    def location(self) -> str | None: ...


N = TypeVar("N", bound=Named)


def match(candidates: Sequence[N], spec: str, what: str, plural: str | None = None) -> N:
    """The one candidate a spec names; InvalidInputError listing candidates otherwise.
    `what` names a candidate in the messages (`plural`, several; default `what` + s)."""
    wanted = spec.strip()
    lowered = wanted.lower()
    steps: tuple[Callable[[N], bool], ...] = (
        lambda c: wanted in (c.id, c.term, c.location),
        lambda c: lowered == (c.title or "").strip().lower(),
        lambda c: lowered in c.term.lower() or lowered in (c.title or "").lower(),
    )
    for step in steps:
        found = [candidate for candidate in candidates if step(candidate)]
        if len(found) == 1:
            return found[0]
        if found:
            raise InvalidInputError(
                f"{spec!r} matches several {plural or what + 's'}: {listing(found)}; "
                "give one of these"
            )
    offered = listing(candidates) or "none"
    raise InvalidInputError(f"no {what} matches {spec!r}; the server offers: {offered}")


def containing(candidates: Sequence[N], text: str) -> list[N]:
    """The candidates whose term or title contains `text`, ignoring case."""
    lowered = text.strip().lower()
    return [
        candidate
        for candidate in candidates
        if lowered in candidate.term.lower() or lowered in (candidate.title or "").lower()
    ]


def listing(candidates: Sequence[Named]) -> str:
    """Candidates for a message: each term (with its title when that says more); the
    full identifier where a term repeats, since the term alone would not tell them apart."""
    terms = [candidate.term for candidate in candidates]
    shown = []
    for candidate in candidates:
        name = candidate.id if terms.count(candidate.term) > 1 else candidate.term
        title = candidate.title
        shown.append(f"{name} ({title})" if title and title != candidate.term else name)
    return ", ".join(shown)
