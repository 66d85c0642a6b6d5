"""Where the memory backend keeps entities: a dictionary per tenant, in this process.

Kept entities are never changed in place: every write puts a new copy, and
every read hands out a copy. The service changes what it is handed (it adds
user mixins and sets actions), and a listing still going through its
snapshot must not see an entity half-written.
"""

from __future__ import annotations

import copy
from collections.abc import Collection as Kinds
from urllib.parse import urlsplit

from pyocci.model.entity import Entity, Link


def path_of(location: str | None) -> str:
    """A location as a path: clients may name a link's ends by absolute URL."""
    if not location:
        return ""
    return urlsplit(location).path if "://" in location else location


class Shelf:
    """Every tenant's entities, by location, in the order they were made."""

    def __init__(self) -> None:
        self._tenants: dict[str, dict[str, Entity]] = {}

    def _of(self, tenant_id: str) -> dict[str, Entity]:
        return self._tenants.setdefault(tenant_id, {})

    def entities(self, tenant_id: str, kinds: Kinds[str]) -> list[Entity]:
        """The tenant's kept entities of these kinds (not copies: read, never change)."""
        return [e for e in self._of(tenant_id).values() if e.kind in kinds]

    def find(self, tenant_id: str, location: str) -> Entity | None:
        """The kept entity at this location (not a copy), or None."""
        return self._of(tenant_id).get(path_of(location))

    def copy(self, tenant_id: str, location: str) -> Entity | None:
        """A copy of the entity at this location, free to change, or None."""
        kept = self.find(tenant_id, location)
        return None if kept is None else copy.deepcopy(kept)

    def put(self, tenant_id: str, entity: Entity) -> None:
        """Keep a copy of `entity` at its location (an update keeps its place in order)."""
        self._of(tenant_id)[entity.location or ""] = copy.deepcopy(entity)

    def remove(self, tenant_id: str, location: str) -> None:
        """Forget the entity at this location."""
        self._of(tenant_id).pop(location, None)

    def links_from(self, tenant_id: str, location: str) -> list[Link]:
        """The kept links that start at this location (a scan: this is a reference)."""
        return [
            e
            for e in self._of(tenant_id).values()
            if isinstance(e, Link) and path_of(e.source) == location
        ]

    def links_to(self, tenant_id: str, location: str) -> list[Link]:
        """The kept links whose target is this location."""
        return [
            e
            for e in self._of(tenant_id).values()
            if isinstance(e, Link) and path_of(e.target) == location
        ]
