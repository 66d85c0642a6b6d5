"""Where a request path points in the OCCI namespace (GFD.223 §1).

``/-/`` (and its RFC 5785 twin) is the query interface; a path bound to a
Kind or Mixin is a collection; ``<kind location><id>`` is an entity; ``/``
lists every entity, as rOCCI-server does.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyocci.model.category import Kind, Mixin
from pyocci.model.core import ENTITY
from pyocci.model.registry import Model

QUERY_INTERFACE_PATHS = ("/-/", "/.well-known/org/ogf/occi/-/")


@dataclass(frozen=True, slots=True)
class QueryInterface:
    """The query interface: discovery, user mixin definitions."""


@dataclass(frozen=True, slots=True)
class Collection:
    """A Kind or Mixin collection."""

    category: Kind | Mixin


@dataclass(frozen=True, slots=True)
class EntityPath:
    """An entity's URL: the kind whose location it sits under, its id, its location."""

    kind: Kind
    entity_id: str
    location: str


Target = QueryInterface | Collection | EntityPath


def resolve(model: Model, path: str) -> Target | None:
    """What `path` names, or None if nothing lives there."""
    if path in QUERY_INTERFACE_PATHS or path in ("/-", "/.well-known/org/ogf/occi/-"):
        return QueryInterface()
    if path == "/":
        entity_kind = model.get(ENTITY.id)
        return Collection(entity_kind) if isinstance(entity_kind, Kind) else None
    if path.endswith("/"):
        category = model.by_location(path)
        return Collection(category) if isinstance(category, Kind | Mixin) else None
    cut = path.rfind("/")
    entity_id = path[cut + 1 :]
    parent = model.by_location(path[: cut + 1])
    if isinstance(parent, Kind) and entity_id:
        return EntityPath(parent, entity_id, path)
    # A collection path given without its trailing slash.
    category = model.by_location(path + "/")
    return Collection(category) if isinstance(category, Kind | Mixin) else None
