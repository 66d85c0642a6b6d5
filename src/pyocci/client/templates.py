"""Templates chosen by a readable spec: ``--os ubuntu``, ``--size small``, ``--cores 2``.

OS templates (images) and resource templates (flavours) are mixins that
depend on ``os_tpl`` and ``resource_tpl``. A spec matches a template as
`pyocci.client.matching` matches any category: by identifier, term or
location, else by title, else by a case-insensitive part of its term or
title; size constraints pick the smallest resource template that has at
least the cores and memory asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyocci.client import matching
from pyocci.client.errors import InvalidInputError
from pyocci.model.category import Mixin
from pyocci.model.registry import OS_TPL_ID, RESOURCE_TPL_ID, Model

CORES = "occi.compute.cores"
MEMORY = "occi.compute.memory"

#: ``kind`` argument of `templates`: which parent mixin each name means.
TEMPLATE_PARENTS = {"os": OS_TPL_ID, "resource": RESOURCE_TPL_ID}


@dataclass(frozen=True)
class Template:
    """A template mixin with the sizes it sets (resource templates whose server says so)."""

    mixin: Mixin
    cores: int | None = None
    memory: float | None = None

    @property
    def id(self) -> str:
        """The mixin identifier."""
        return self.mixin.id

    @property
    def term(self) -> str:
        """The mixin term."""
        return self.mixin.term

    @property
    def title(self) -> str | None:
        """The mixin title."""
        return self.mixin.title

    @property
    def location(self) -> str | None:
        """The mixin's collection."""
        return self.mixin.location


def templates(model: Model, kind: str = "os") -> list[Template]:
    """The OS (``kind="os"``) or resource (``"resource"``) templates of a model."""
    parent = TEMPLATE_PARENTS.get(kind)
    if parent is None:
        raise InvalidInputError(f"unknown template kind {kind!r}; use os or resource")
    found = []
    for mixin in model.templates(parent):
        definitions = model.attribute_definitions("", [mixin.id])
        cores = definitions.get(CORES)
        memory = definitions.get(MEMORY)
        found.append(
            Template(
                mixin,
                cores=_number(cores.default if cores else None, int),
                memory=_number(memory.default if memory else None, float),
            )
        )
    return found


def _number(value: object, kind: type) -> int | float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return kind(value)  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        return None


def match(candidates: Sequence[Template], spec: str, what: str) -> Template:
    """The one template a spec names; InvalidInputError listing candidates otherwise."""
    return matching.match(candidates, spec, what)


def containing(candidates: Sequence[Template], text: str) -> list[Template]:
    """The templates whose term or title contains `text`, ignoring case."""
    return matching.containing(candidates, text)


def fitting(
    candidates: Sequence[Template], *, cores: int | None = None, memory: float | None = None
) -> list[Template]:
    """The resource templates with at least `cores` and `memory` (GiB), smallest first.

    InvalidInputError, saying what there is, when there are candidates but none
    fits or none publishes its size; no candidates, no templates.
    """
    if not candidates:
        return []
    sized = [t for t in candidates if t.cores is not None and t.memory is not None]
    if not sized:
        raise InvalidInputError(
            "the server does not publish the sizes of its resource templates (an OCCI 1.1 "
            "server, or a text rendering); choose one by name with --size"
        )
    found = [
        t
        for t in sized
        if (cores is None or (t.cores or 0) >= cores)
        and (memory is None or (t.memory or 0.0) >= memory)
    ]
    if not found:
        largest = ", ".join(f"{t.term} ({t.cores} cores, {t.memory:g} GiB)" for t in sized)
        raise InvalidInputError(
            f"no resource template has {_constraint(cores, memory)}; the server offers: {largest}"
        )
    return sorted(found, key=lambda t: (t.cores or 0, t.memory or 0.0, t.term))


def smallest(
    candidates: Sequence[Template], *, cores: int | None = None, memory: float | None = None
) -> Template:
    """The smallest resource template with at least `cores` and `memory` (GiB)."""
    found = fitting(candidates, cores=cores, memory=memory)
    if not found:
        raise InvalidInputError("the server offers no resource templates")
    return found[0]


def _constraint(cores: int | None, memory: float | None) -> str:
    parts = []
    if cores is not None:
        parts.append(f"{cores} cores")
    if memory is not None:
        parts.append(f"{memory:g} GiB of memory")
    return " and ".join(parts) or "the size asked for"
