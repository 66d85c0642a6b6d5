"""Input checked against the discovered model before it is sent.

Unknown kinds, mixins and actions, attributes nobody declares, values of
the wrong type, action parameters the action does not take or lacks, and
values no rendering can carry (an infinite number, bytes...) are reported
with what to fix, without a round trip. Only what the server published is
checked: a text rendering carries no attribute types (the standard's are
assumed for the standard attributes, see `pyocci.client.discovery`), so
values of other attributes declared as plain strings are left for the
server to judge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pyocci.client.errors import InvalidInputError
from pyocci.model.attribute import AttributeDefinition, AttributeType
from pyocci.model.category import Action, Kind, Mixin
from pyocci.model.entity import (
    CORE_ID,
    CORE_SOURCE,
    CORE_SOURCE_KIND,
    CORE_TARGET,
    CORE_TARGET_KIND,
    Entity,
    Resource,
)
from pyocci.model.registry import Model
from pyocci.model.values import shown

#: Attributes every entity may carry whatever the server's definitions say.
_ALWAYS_ALLOWED = frozenset({CORE_ID, CORE_SOURCE, CORE_SOURCE_KIND, CORE_TARGET, CORE_TARGET_KIND})


def check_kind(model: Model, kind_id: str) -> Kind:
    """The Kind named; InvalidInputError when the server has no such kind."""
    category = model.get(kind_id)
    if isinstance(category, Kind):
        return category
    known = ", ".join(kind.term for kind in model.kinds if kind.location)
    raise InvalidInputError(f"the server has no kind {kind_id!r}; its kinds: {known}")


def check_entity(model: Model, entity: Entity, *, creating: bool) -> None:
    """Coerce attribute values to their declared types, then check kind, mixins, attributes."""
    problems: list[str] = []
    kind_id = entity.kind
    if kind_id is not None:
        check_kind(model, kind_id)
    for mixin_id in entity.mixins:
        category = model.get(mixin_id)
        if not isinstance(category, Mixin):
            problems.append(f"the server has no mixin {mixin_id!r}; `occi discover` lists them")
        elif kind_id is not None and not model.mixin_applies_to(mixin_id, kind_id):
            problems.append(f"mixin {mixin_id!r} does not apply to {kind_id!r}")
    if problems:
        raise InvalidInputError(problems)
    if kind_id is not None:
        model.coerce(entity)
        definitions = model.attribute_definitions(kind_id, entity.mixins)
        problems.extend(_attribute_problems(definitions, entity.attributes, kind_id))
        if creating:
            problems.extend(_missing(definitions, entity.attributes))
    if isinstance(entity, Resource):
        for link in entity.links:
            try:
                check_entity(model, link, creating=creating)
            except InvalidInputError as error:
                problems.extend(f"link to {link.target}: {p}" for p in error.problems)
    if problems:
        raise InvalidInputError(problems)


def check_invocation(action: Action, attributes: dict[str, Any]) -> dict[str, Any]:
    """Action parameters coerced to their types; InvalidInputError for unknown, bad or
    missing ones, each problem naming the action and what it takes."""
    problems: list[str] = []
    coerced: dict[str, Any] = {}
    for name, value in attributes.items():
        definition = action.attributes.get(name)
        if definition is None:
            problems.append(f"{action.term} takes no parameter {name!r} ({_takes(action)})")
            continue
        coerced[name] = definition.coerce(value)
    problems.extend(
        f"{action.term}: {problem}"
        for problem in _attribute_problems(action.attributes, coerced, action.term, "parameter")
    )
    problems.extend(
        f"{action.term} needs the parameter {name!r} ({_takes(action)})"
        for name, definition in action.attributes.items()
        if definition.required and definition.default is None and coerced.get(name) is None
    )
    if problems:
        raise InvalidInputError(problems)
    return coerced


def _takes(action: Action) -> str:
    """What an action takes, for a message: ``it takes: method (graceful, acpioff)``."""
    if not action.attributes:
        return "it takes none"
    described = []
    for name, definition in action.attributes.items():
        if definition.enum:
            described.append(f"{name} ({', '.join(definition.enum)})")
        elif definition.type is not AttributeType.STRING:
            described.append(f"{name} ({_TYPE_WORDS[definition.type]})")
        else:
            described.append(name)
    return "it takes: " + ", ".join(described)


_TYPE_WORDS = {
    AttributeType.STRING: "a string",
    AttributeType.ENUM: "a string",
    AttributeType.NUMBER: "a number",
    AttributeType.INTEGER: "an integer",
    AttributeType.BOOLEAN: "true or false",
    AttributeType.LIST: "an array",
    AttributeType.OBJECT: "an object",
}


def value_problem(name: str, value: Any) -> str | None:
    """Why no OCCI rendering can carry `value` (an infinite number, bytes, a set...),
    or None when one can: JSON values with finite numbers."""
    if _carriable(value, depth=0):
        return None
    return (
        f"{name} cannot be sent: got {shown(value)}; OCCI carries strings, finite numbers, "
        "true or false, arrays and objects"
    )


def _carriable(value: Any, depth: int) -> bool:
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if depth > 50:  # deeper than any attribute value; a list that holds itself
        return False
    if isinstance(value, list):
        return all(_carriable(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and _carriable(item, depth + 1) for key, item in value.items()
        )
    return False


def _attribute_problems(
    definitions: Mapping[str, AttributeDefinition],
    attributes: Mapping[str, Any],
    owner: str,
    what: str = "attribute",
) -> list[str]:
    problems = []
    for name, value in attributes.items():
        unsendable = value_problem(name, value)
        if unsendable is not None:
            problems.append(unsendable)
            continue
        definition = definitions.get(name)
        if definition is None:
            if what == "attribute" and name not in _ALWAYS_ALLOWED:
                problems.append(
                    f"{what} {name} is not defined by {owner!r} or the mixins given; "
                    "add the mixin that defines it (`occi discover` lists them)"
                )
            continue
        if value is None or _untyped(definition, value):
            continue
        problem = definition.problem_with(value)
        if problem is not None:
            problems.append(problem)
    return problems


def _untyped(definition: AttributeDefinition, value: Any) -> bool:
    """A string-typed definition may just be one a text rendering could not type."""
    return definition.type is AttributeType.STRING and not isinstance(value, str)


def _missing(
    definitions: Mapping[str, AttributeDefinition], attributes: Mapping[str, Any]
) -> list[str]:
    return [
        f"attribute {name} is required"
        for name, definition in definitions.items()
        if definition.required
        and definition.default is None
        and attributes.get(name) is None
        and name not in _ALWAYS_ALLOWED
    ]
