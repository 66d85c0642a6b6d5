"""Categories: the type system of OCCI (GFD.221 §2, §4-6).

Every Kind, Mixin and Action is identified by ``scheme + term``. Relations
between categories (a Kind's parent, a Mixin's depends and applies, the
actions of either) are held as identifiers, not objects, so a category can
be parsed from a document that does not carry its relatives; the `Model`
resolves them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pyocci.model.attribute import AttributeDefinition

#: OCCI 1.2 term syntax (GFD.229). 1.1 was lower-case only; terms starting
#: with a digit (image UUIDs, flavour ids) are legal in 1.2.
TERM_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
#: OCCI 1.1 term syntax (GFD.185): what 1.1 clients' parsers match.
OCCI11_TERM_PATTERN = re.compile(r"[a-z][a-z0-9_\-]*")

_NOT_IN_OCCI11_TERM = re.compile(r"[^a-z0-9_\-]")


def occi11_term(name: str) -> str:
    """A term valid in OCCI 1.1 and 1.2 for a name (an image's, say): lower case, every
    other character (``.``, a space...) as ``_``, and ``x`` before a leading digit or
    ``-``/``_``. The same name always gives the same term: ``Ubuntu-24.04`` ->
    ``ubuntu-24_04``.
    """
    term = _NOT_IN_OCCI11_TERM.sub("_", name.strip().lower())
    if not term or not term[0].isalpha():
        term = "x" + term
    return term


def split_identifier(identifier: str) -> tuple[str, str]:
    """Split a type identifier into (scheme, term), cutting after the last ``#``.

    Raises ValueError when there is no ``#`` to cut at.
    """
    cut = identifier.rfind("#")
    if cut < 0:
        raise ValueError(f"{identifier!r} is not a category identifier (no '#' in it)")
    return identifier[: cut + 1], identifier[cut + 1 :]


def attribute_map(definitions: Iterable[AttributeDefinition]) -> dict[str, AttributeDefinition]:
    """Index attribute definitions by name, keeping their order."""
    return {definition.name: definition for definition in definitions}


@dataclass(frozen=True, slots=True, kw_only=True)
class Category:
    """What Kinds, Mixins and Actions share: identity, title and attribute definitions."""

    scheme: str
    term: str
    title: str | None = None
    attributes: Mapping[str, AttributeDefinition] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The type identifier, ``scheme + term``."""
        return self.scheme + self.term

    @property
    def category_class(self) -> str:
        """The ``class`` value in text renderings: kind, mixin or action."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class Action(Category):
    """An operation on entities; its attributes are the invocation parameters."""

    @property
    def category_class(self) -> str:
        return "action"


@dataclass(frozen=True, slots=True, kw_only=True)
class Kind(Category):
    """The immutable type of an entity: exactly one per entity, kept for life."""

    parent: str | None = None
    actions: tuple[str, ...] = ()
    location: str | None = None

    @property
    def category_class(self) -> str:
        return "kind"


@dataclass(frozen=True, slots=True, kw_only=True)
class Mixin(Category):
    """An extra type an entity can take on and drop at run time (templates, tags...)."""

    depends: tuple[str, ...] = ()
    applies: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    location: str | None = None

    @property
    def category_class(self) -> str:
        return "mixin"

    @property
    def is_tag(self) -> bool:
        """A tag is a mixin with neither attributes nor actions (GFD.221 §5)."""
        return not self.attributes and not self.actions
